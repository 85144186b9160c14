// One WebSocket per agent: a newer connection of the same agent replaces the older one;
// `hello` must come first (and within hello_timeout); every message is validated, and an
// invalid one closes that connection with a clear code and reason, harming nobody else.
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { CloseCode, decodeAgentMessage, encode, encodePoint, PointEncoder, PROTOCOL_VERSION, ProtocolError, type Hello } from '@canh/protocol';
import type { AgentRecord } from '../registry/types.ts';
import { identityOf, identityTags } from '../identity.ts';
import { centralForHello, recordConfigResult } from './central-push.ts';
import { onBatch } from './ingest.ts';
import { fullBucket } from './rate-limit.ts';
import type { Conn, Receiver } from './types.ts';

/** A connection upgraded for an authenticated agent. */
export function openConnection(r: Receiver, ws: WebSocket, agent: AgentRecord, remote: string): void {
  const mono = performance.now();
  const rate = r.config.limits.max_points_per_second;
  const identity = identityOf(agent);
  const conn: Conn = {
    ws,
    agent,
    identity,
    encoder: new PointEncoder(identityTags(identity)),
    remote,
    heardAt: mono,
    tokens: fullBucket(rate),
    lastRefill: mono,
    replaced: false,
    held: false,
    resumedAt: 0,
  };
  const log = r.log.child({ agent: agent.name, agency: agent.agency, remote });
  const previous = r.conns.get(agent.id);
  if (previous) {
    previous.replaced = true;
    previous.ws.close(CloseCode.REPLACED, 'replaced by a newer connection of this agent');
    log.info('a newer connection replaces the previous one');
  }
  r.conns.set(agent.id, conn);
  r.stats.connected = r.conns.size;
  conn.helloTimer = setTimeout(() => ws.close(CloseCode.HELLO_TIMEOUT, 'no hello received'), r.config.limits.hello_timeout);

  ws.on('message', (data, isBinary) => onMessage(r, conn, data as Buffer, isBinary, log));
  ws.on('pong', () => {
    conn.heardAt = performance.now();
  });
  ws.on('error', (err) => {
    log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'agent connection error');
  });
  ws.on('close', (code, reason) => {
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    if (conn.throttle) clearTimeout(conn.throttle);
    r.backpressure.forget(conn);
    if (r.conns.get(agent.id) === conn) r.conns.delete(agent.id);
    r.stats.connected = r.conns.size;
    log.info({ code, reason: reason.toString() }, 'agent disconnected');
    if (!conn.replaced && conn.hello) setOnline(r, conn, false);
  });
}

function onMessage(r: Receiver, conn: Conn, data: Buffer, isBinary: boolean, log: Logger): void {
  conn.heardAt = performance.now();
  r.backpressure.heard(conn);
  try {
    if (isBinary) throw new ProtocolError('binary frames are not part of the protocol');
    const msg = decodeAgentMessage(data);
    if (msg.type === 'hello') onHello(r, conn, msg, log);
    else if (!conn.hello) throw new ProtocolError(`"${msg.type}" before "hello"`);
    else if (msg.type === 'batch') onBatch(r, conn, msg, log);
    else recordConfigResult(r, conn, msg, log);
  } catch (err) {
    if (!(err instanceof ProtocolError)) return onDiskError(r, err, log);
    r.stats.invalidMessages++;
    log.warn({ reason: err.message }, 'invalid message; closing this connection');
    // Close reasons are limited to 123 bytes by the protocol.
    conn.ws.close(CloseCode.INVALID_MESSAGE, Buffer.from(err.message).subarray(0, 120).toString());
  }
}

/**
 * A full disk or an I/O error (spool, registry) costs this message its ack, never the
 * collector its life: the agent keeps the batch and sends it again. Anything else is a bug
 * and is thrown.
 */
function onDiskError(r: Receiver, err: unknown, log: Logger): void {
  if (typeof (err as { code?: unknown }).code !== 'string' || !/^(E[A-Z]+|SQLITE_\w+|ERR_SQLITE\w*)$/.test((err as { code: string }).code)) throw err;
  r.diskErrors.count++;
  if (Date.now() - r.diskErrors.loggedAt >= 60_000) {
    r.diskErrors.loggedAt = Date.now();
    log.warn(
      { code: 'CANH_ERR_SPOOL_IO', err: (err as Error).message, errors: r.diskErrors.count },
      'a message could not be handled for a disk error; not acked (logged once a minute)',
    );
  }
}

function onHello(r: Receiver, conn: Conn, hello: Hello, log: Logger): void {
  if (conn.hello) throw new ProtocolError('second hello on one connection');
  if (hello.protocol !== PROTOCOL_VERSION) {
    log.warn({ protocol: hello.protocol }, 'unsupported protocol version');
    conn.ws.close(CloseCode.UNSUPPORTED_VERSION, `collector speaks protocol ${PROTOCOL_VERSION}`);
    return;
  }
  if (conn.helloTimer) clearTimeout(conn.helloTimer);
  conn.hello = hello;
  conn.configVersion = hello.config_version;
  const push = centralForHello(r, conn, hello);
  conn.ws.send(
    encode({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      server_time: Date.now(),
      agent: { id: conn.agent.id, ...conn.identity },
      ...(push ? { config_version: push.version, config: push.config } : {}),
    }),
  );
  if (push) conn.configVersion = push.version;
  log.info({ version: hello.agent_version, os: hello.os, spool: hello.spool_batches }, 'agent connected');
  setOnline(r, conn, true);
}

/** Record an agent online or offline: the registry, an `agent` point, the hooks. */
function setOnline(r: Receiver, conn: Conn, online: boolean): void {
  const at = Date.now();
  r.registry.markSeen(conn.agent.id, at, conn.hello?.agent_version, online);
  const line = encodePoint(
    {
      name: 'agent',
      time: at,
      tags: {},
      fields: {
        online: online ? 1 : 0,
        version: conn.hello?.agent_version ?? '',
        ...(online && conn.hello ? { spool_batches: conn.hello.spool_batches, dropped_points: conn.hello.dropped_points } : {}),
      },
      int: ['online', 'spool_batches', 'dropped_points'],
    },
    { ...conn.identity },
  );
  if (line) r.writer.write([line]).catch((err: Error) => r.log.warn({ err: err.message }, 'could not record agent state'));
  r.hooks.onAgentState?.(conn.identity, conn.agent, online, at);
}
