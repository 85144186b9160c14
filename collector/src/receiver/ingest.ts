// A batch from an agent: counted, rate limited, shown to the hooks (the alert engine),
// stamped with the agent's identity, written, and acked once the writer says it is durable.
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { encode, type Batch } from '@canh/protocol';
import { encodeBatch } from '../identity.ts';
import { throttle } from './rate-limit.ts';
import type { Conn, Receiver } from './types.ts';

export function onBatch(r: Receiver, conn: Conn, batch: Batch, log: Logger): void {
  // Set by the message handler as the batch's last byte was read.
  const receivedAt = conn.heardAt;
  r.stats.batches++;
  const points = batch.points.length + batch.rows.length;
  r.stats.points += points;
  r.stats.events += batch.events.length;
  throttle(r, conn, points + batch.events.length);
  r.hooks.onBatch?.(conn.identity, conn.agent, batch);
  // Events need the seconds they fall in looked up in InfluxDB first (what a restart
  // forgot); the alert engine above has them already, so a mail never waits for this.
  if (batch.events.length)
    void r.eventTimes
      .prepare(conn.identity, batch.events)
      .then(() => store(r, conn, batch, log, receivedAt))
      // A bug, not a state: unacked, so the agent sends the batch again.
      .catch((err: Error) => log.error({ err: err.message, seq: batch.seq }, 'could not store a batch of security events'));
  else store(r, conn, batch, log, receivedAt);
}

function store(r: Receiver, conn: Conn, batch: Batch, log: Logger, receivedAt: number): void {
  const { lines, refused } = encodeBatch(batch, conn.identity, conn.encoder, r.eventTimes);
  if (refused) {
    r.stats.refusedPoints += refused;
    log.warn({ seq: batch.seq, refused }, 'points without any writable field were refused');
  }
  // Only the seq is kept until InfluxDB answers: holding the parsed batch here kept every
  // in-flight point alive (hundreds of MB under load, and most of the CPU went to GC).
  const seq = batch.seq;
  // One buffer per batch: the lines' own strings (ropes of their parts) die young, and
  // what waits for InfluxDB is outside V8's heap (collector RSS under the ingest
  // flood 575 → ~450 MiB, the same CPU per point as one flat string per batch).
  let written: Promise<void>;
  try {
    written = r.writer.writeText(Buffer.from(lines.join('\n')), lines.length);
  } catch (err) {
    // The writer's spool fallback failed outright: no ack, the agent sends the batch again.
    written = Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  written.then(
    () => {
      if (conn.ws.readyState !== WebSocket.OPEN) return;
      conn.ws.send(encode({ type: 'ack', seq }));
      r.ackLatency.record(performance.now() - receivedAt);
    },
    (err: Error & { code?: string }) => {
      // Not durable: no ack. The agent keeps the batch and sends it again.
      if (conn.ws.readyState === WebSocket.OPEN)
        conn.ws.send(encode({ type: 'error', code: err.code ?? 'CANH_ERR_COLLECTOR_INTERNAL', message: err.message, seq }));
    },
  );
  r.backpressure.queued(conn, lines.length);
}
