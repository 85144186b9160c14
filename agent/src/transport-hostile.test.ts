// The transport against collectors that lie or misbehave, each a real WebSocket server:
// one that acks batches it was never sent, one that sends frames past the agent's
// maxPayload, one that sends garbage as fast as it can.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { pino } from 'pino';
import { CloseCode, encode, MAX_COLLECTOR_FRAME_BYTES, pointsOf } from '@canh/protocol';
import { Transport } from './transport.ts';
import { collectorServer, onBatches, transportOptions } from './transport-testing.ts';
import { MemorySpool } from './spool/memory.ts';
import { Batcher } from './batcher.ts';
import { LogLimiter } from './log-limit.ts';

/** A spool of `n` batches of 3 points each; returns it and every point's key. */
function spoolOf(n: number): { spool: MemorySpool; keys: Set<string> } {
  const spool = new MemorySpool({ maxBytes: 1e7 });
  const b = new Batcher(spool, { batchSize: 1000, flushIntervalMs: 60_000, maxMessageBytes: 4e6 });
  const acc = b.accumulator('host');
  const keys = new Set<string>();
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < 3; i++) {
      const time = 1_700_000_000_000 + c * 10_000;
      acc.addPoint('cpu', { n: String(i) }, { v: c }, { time });
      keys.add(`cpu|${i}|${time}`);
    }
    // Batches with an event leave one to a frame, so the window sees every seq on its own.
    acc.addEvent({ type: 'port_new', severity: 'low', message: `m${c}` });
    b.flush();
  }
  return { spool, keys };
}

interface Seen {
  connections: number;
  closeCodes: number[];
  /** Point keys the collector received and acked honestly. */
  stored: Set<string>;
}

let wss: WebSocketServer | undefined;
let transport: Transport | undefined;
afterEach(async () => {
  await transport?.stop(0);
  transport = undefined;
  await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
  wss = undefined;
});

/**
 * A collector that stores and acks each batch, except that on its first `lyingConnections`
 * connections `lie(seq)` is sent after the first batch: an ack the agent must not believe.
 */
async function collector(opts: {
  lyingConnections: number;
  lie: (seq: number, ws: WebSocket) => void | 'then store it';
}): Promise<{ seen: Seen; url: string }> {
  const seen: Seen = { connections: 0, closeCodes: [], stored: new Set() };
  let url: string;
  ({ wss, url } = await collectorServer());
  wss.on('connection', (ws: WebSocket) => {
    const lying = seen.connections++ < opts.lyingConnections;
    let lied = false;
    ws.on('close', (code) => seen.closeCodes.push(code));
    onBatches(ws, (msg) => {
      if (lying && !lied) {
        lied = true;
        // The lie comes first: this batch is not stored, and not honestly acked either
        // (unless the misbehaviour was only noise around it).
        if (opts.lie(msg.seq, ws) !== 'then store it') return;
      }
      for (const p of pointsOf(msg)) seen.stored.add(`${p.name}|${p.tags.n}|${p.time}`);
      ws.send(encode({ type: 'ack', seq: msg.seq }));
    });
  });
  return { seen, url };
}

function start(url: string, spool: MemorySpool, log = pino({ level: 'silent' })): Transport {
  transport = new Transport(transportOptions({ url }), spool, log);
  transport.start();
  return transport;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('transport: a collector that acks what it was never sent', () => {
  const lies: [string, (seq: number, ws: WebSocket) => void][] = [
    // Ahead of the window: a batch that is spooled but has not left yet.
    ['a batch spooled but not sent', (seq, ws) => ws.send(encode({ type: 'ack', seq: seq + 5 }))],
    // In the form the agent reads without JSON.parse, for a seq that does not exist at all.
    ['a seq that was never spooled', (_seq, ws) => ws.send('{"type":"ack","seq":999999}')],
    // The same ack twice: the second names nothing in flight.
    ['a batch already acked', (seq, ws) => (ws.send(encode({ type: 'ack', seq: seq - 1 })), ws.send(encode({ type: 'ack', seq: seq - 1 })))],
  ];
  for (const [what, lie] of lies) {
    it(`closes with UNKNOWN_ACK on an ack for ${what}, keeps the spool, and loses no batch`, async () => {
      const { spool, keys } = spoolOf(20);
      const { seen, url } = await collector({ lyingConnections: 3, lie });
      const t = start(url, spool);
      await until(() => spool.stats().batches === 0, 'the spool to drain');
      // Three lying connections, each ended by the agent with its code; then an honest one.
      expect(t.badAcks).toBe(3);
      expect(seen.closeCodes.filter((c) => c === CloseCode.UNKNOWN_ACK)).toHaveLength(3);
      expect(seen.connections).toBeGreaterThanOrEqual(4);
      // Every point reached the honest collector: nothing left the spool on a lie.
      expect([...keys].filter((k) => !seen.stored.has(k))).toEqual([]);
    });
  }
});

describe('transport: frames larger than any a collector sends', () => {
  it('are refused by the socket (1009) before they are buffered whole; the agent reconnects and delivers', async () => {
    const { spool, keys } = spoolOf(5);
    let sentHuge = 0;
    const { seen, url } = await collector({
      lyingConnections: 1,
      lie: (_seq, ws) => {
        sentHuge++;
        ws.send(`{"type":"config","version":1,"config":"${'x'.repeat(MAX_COLLECTOR_FRAME_BYTES)}"}`);
      },
    });
    start(url, spool);
    await until(() => spool.stats().batches === 0, 'the spool to drain');
    expect(sentHuge).toBe(1);
    expect(seen.closeCodes[0]).toBe(1009);
    expect([...keys].filter((k) => !seen.stored.has(k))).toEqual([]);
  });
});

describe('transport: malformed frames', () => {
  it('are counted and ignored, and logged once a minute at most, without a stack trace', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    const { spool, keys } = spoolOf(3);
    const { seen, url } = await collector({
      lyingConnections: 1,
      lie: (_seq, ws) => {
        for (let i = 0; i < 500; i++) ws.send(i % 2 ? '{"type":"ack","seq":1,"__proto__":{}}' : '{not json');
        return 'then store it';
      },
    });
    const t = start(url, spool, log);
    await until(() => spool.stats().batches === 0, 'the spool to drain');
    expect(t.invalidFrames).toBe(500);
    const invalid = lines.filter((l) => l.msg === 'invalid message from collector; ignoring it');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ code: 'CANH_ERR_PROTOCOL_INVALID_MESSAGE', reason: 'frame is not valid JSON', suppressed: 0 });
    expect(JSON.stringify(lines)).not.toMatch(/stack/);
    // Bad frames cost nothing else: the connection stayed, the batches arrived.
    expect(seen.connections).toBe(1);
    expect([...keys].filter((k) => !seen.stored.has(k))).toEqual([]);
  });
});

describe('LogLimiter', () => {
  it('lets the first line through, then one per window carrying the count left out', () => {
    let now = 0;
    const l = new LogLimiter(60_000, () => now);
    expect(l.take()).toEqual({ log: true, suppressed: 0 });
    for (let i = 0; i < 99; i++) expect(l.take().log).toBe(false);
    now = 59_999;
    expect(l.take().log).toBe(false);
    now = 60_000;
    expect(l.take()).toEqual({ log: true, suppressed: 100 });
    now = 200_000;
    expect(l.take()).toEqual({ log: true, suppressed: 0 });
  });
});
