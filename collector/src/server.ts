// The collector's front door: HTTP (/healthz) and the agent WebSocket endpoint
// /v1/agent. The bearer token is checked before the upgrade, so a bad one costs an
// HTTP 401 and never a socket. Each connection is one agent; its batches are stamped
// with the registry's identity, written to InfluxDB, and acked once written.
// Intervals (rate limit, liveness, hold grace) are measured on the monotonic clock; the
// wall clock only stamps what is stored, so a clock step neither stalls nor drops agents.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import type { Logger } from 'pino';
import { CloseCode, decodeAgentMessage, encode, encodePoint, PointEncoder, PROTOCOL_VERSION, ProtocolError, type Batch, type Hello } from '@canh/protocol';
import { ClockWatch } from '@canh/core';
import type { CollectorConfig } from './config.ts';
import type { AgentRecord, AgentRegistry } from './registry/types.ts';
import type { InfluxWriter } from './influx/writer.ts';
import { AckHistogram } from './ack-histogram.ts';

/** What the receiver needs of the writer: one InfluxWriter, or the set of targets (influx/targets.ts). */
export type BatchSink = Pick<InfluxWriter, 'writeText' | 'write' | 'room' | 'stats' | 'ping' | 'onProgress'>;
import { encodeBatch, identityOf, identityTags, type Identity } from './identity.ts';
import { EventTimes } from './event-times.ts';
import type { CentralReader } from './central/store.ts';

/** Run several hook sets as one: every onBatch/onAgentState, the first http that handles. */
export function combineHooks(...sets: (CollectorHooks | undefined)[]): CollectorHooks {
  const hs = sets.filter((h): h is CollectorHooks => h !== undefined);
  return {
    onBatch: (id, agent, batch) => {
      for (const h of hs) h.onBatch?.(id, agent, batch);
    },
    onAgentState: (id, agent, online, at) => {
      for (const h of hs) h.onAgentState?.(id, agent, online, at);
    },
    http: async (req, res) => {
      for (const h of hs) if (h.http && (await h.http(req, res))) return true;
      return false;
    },
  };
}

export interface CollectorHooks {
  /** Every valid batch, as it arrives (the alert engine evaluates on the stream). */
  onBatch?(identity: Identity, agent: AgentRecord, batch: Batch): void;
  onAgentState?(identity: Identity, agent: AgentRecord, online: boolean, at: number): void;
  /** Extra HTTP routes (status page, API); return true when handled. */
  http?(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
}

interface Conn {
  ws: WebSocket;
  agent: AgentRecord;
  identity: Identity;
  /** Encodes this agent's points, reusing each series' tags (the identity never changes on a connection). */
  encoder: PointEncoder;
  remote: string;
  hello?: Hello;
  /** Monotonic time (performance.now()) of the last frame, for liveness. */
  heardAt: number;
  tokens: number;
  /** Monotonic time of the last refill of the rate limit's bucket. */
  lastRefill: number;
  replaced: boolean;
  /** Over its own rate limit: not read from until the timer ends. */
  throttle?: NodeJS.Timeout;
  /** Not read from while the InfluxDB write queue is full (CollectorServer.held). */
  held: boolean;
  /** When (monotonic) it was last resumed after a hold (CollectorServer.resumed). */
  resumedAt: number;
  helloTimer?: NodeJS.Timeout;
  /** Central config version last sent to (or reported by) this agent. */
  configVersion?: number;
}

export interface CollectorStats {
  connected: number;
  batches: number;
  points: number;
  events: number;
  refusedPoints: number;
  authFailures: number;
  invalidMessages: number;
  /** Steps of the wall clock larger than 30 s seen since start. */
  clockSteps: number;
}

/** How long a connection resumed after a hold counts as about to deliver a batch. */
const RESUME_GRACE_MS = 200;

export class CollectorServer {
  /** Last byte of a batch read → its ack written (bench:connections reads it from /healthz). */
  readonly ackLatency = new AckHistogram();
  readonly stats: CollectorStats = { connected: 0, batches: 0, points: 0, events: 0, refusedPoints: 0, authFailures: 0, invalidMessages: 0, clockSteps: 0 };
  private readonly clockWatch = new ClockWatch();
  private server: Server | undefined;
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<string, Conn>();
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  /** Messages dropped unacked for a disk or I/O error (full disk), and when that was last logged. */
  private diskErrors = 0;
  private diskErrorLoggedAt = -Infinity;
  private readonly config: CollectorConfig;
  private readonly registry: AgentRegistry;
  private readonly writer: BatchSink;
  private readonly log: Logger;
  private readonly hooks: CollectorHooks;
  private readonly central: CentralReader | undefined;
  /** More of the collector's state for /healthz (config reloads). */
  private readonly health: (() => Record<string, unknown>) | undefined;
  /** Where each security event is stored (collector/src/event-times.ts). */
  readonly eventTimes: EventTimes;
  private centralSeen = 0;
  /**
   * Connections not read from because the write queue reached the writer's high-water
   * mark, oldest first. Their agents' batches wait in the sockets (and the agents'
   * windows stop them from sending more) rather than on this process's heap; they are
   * resumed a few at a time as the queue drains.
   */
  private readonly held = new Set<Conn>();
  /**
   * Connections just resumed whose next batch has not arrived yet: their batches are
   * counted against the queue's room before they land, or every drain would resume far
   * too many. An agent with nothing to send stops counting after RESUME_GRACE_MS.
   */
  private readonly resumed = new Set<Conn>();
  /** Running mean of lines per batch: how much one resumed connection is expected to add. */
  private batchLines = 100;

  constructor(
    config: CollectorConfig,
    deps: {
      registry: AgentRegistry;
      writer: BatchSink;
      log: Logger;
      hooks?: CollectorHooks;
      central?: CentralReader;
      health?: () => Record<string, unknown>;
      eventTimes?: EventTimes;
    },
  ) {
    this.config = config;
    this.eventTimes = deps.eventTimes ?? new EventTimes();
    this.registry = deps.registry;
    this.writer = deps.writer;
    this.log = deps.log;
    this.hooks = deps.hooks ?? {};
    this.central = deps.central;
    this.health = deps.health;
    this.writer.onProgress = () => this.releaseHeld();
    this.wss = new WebSocketServer({
      noServer: true,
      // ws closes an oversized frame with 1009 before buffering it whole.
      maxPayload: config.limits.max_message_bytes,
      perMessageDeflate: false,
    });
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  connectedIds(): Set<string> {
    return new Set(this.conns.keys());
  }

  connectedAgents(): { agent: AgentRecord; hello?: Hello; lastSeen: number; remote: string }[] {
    const wallMinusMono = Date.now() - performance.now();
    return [...this.conns.values()].map((c) => ({ agent: c.agent, hello: c.hello, lastSeen: Math.round(c.heardAt + wallMinusMono), remote: c.remote }));
  }

  async start(): Promise<void> {
    const tls = this.config.listen.tls;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.onRequest(req, res);
    this.server = tls ? createHttpsServer({ cert: readFileSync(tls.cert_file), key: readFileSync(tls.key_file) }, handler) : createHttpServer(handler);
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.config.listen.port, this.config.listen.host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    this.timers.push(
      setInterval(() => this.checkLiveness(), Math.max(100, Math.min(this.config.liveness.ping_interval, this.config.liveness.offline_after / 3))),
    );
    this.timers.push(setInterval(() => this.checkRevocations(), 5000));
    this.centralSeen = this.central?.latestVersion() ?? 0;
    this.timers.push(setInterval(() => this.checkCentralConfig(), 2000));
    this.log.info({ port: this.port, host: this.config.listen.host, tls: !!tls }, 'collector listening');
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET' && url.pathname === '/healthz') {
        const influxUp = await this.writer.ping();
        const body = {
          status: influxUp ? 'ok' : 'degraded',
          influx: { up: influxUp, queued_lines: this.writer.stats.queued, last_error: this.writer.stats.lastError },
          agents_connected: this.conns.size,
          batch_ack_ms: this.ackLatency.snapshot(),
          ...this.health?.(),
        };
        res.writeHead(influxUp ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return;
      }
      if (this.hooks.http && (await this.hooks.http(req, res))) return;
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    } catch (err) {
      this.log.error({ err }, 'HTTP handler failed');
      if (!res.headersSent) res.writeHead(500).end();
    }
  }

  private reject(socket: Duplex, status: number, text: string): void {
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n${status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''}Content-Length: ${text.length + 1}\r\n\r\n${text}\n`,
    );
    socket.destroy();
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/v1/agent' || this.stopping) {
      this.reject(socket, this.stopping ? 503 : 404, this.stopping ? 'Service Unavailable' : 'Not Found');
      return;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const agent = m ? this.registry.authenticate(m[1]!) : undefined;
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    if (!agent) {
      this.stats.authFailures++;
      this.log.warn({ remote, reason: m ? 'unknown or revoked token' : 'no bearer token' }, 'agent refused (401)');
      this.reject(socket, 401, 'Unauthorized');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, agent, remote));
  }

  private onConnection(ws: WebSocket, agent: AgentRecord, remote: string): void {
    const mono = performance.now();
    const rate = this.config.limits.max_points_per_second;
    const identity = identityOf(agent);
    const conn: Conn = {
      ws,
      agent,
      identity,
      encoder: new PointEncoder(identityTags(identity)),
      remote,
      heardAt: mono,
      tokens: rate * 10,
      lastRefill: mono,
      replaced: false,
      held: false,
      resumedAt: 0,
    };
    const log = this.log.child({ agent: agent.name, agency: agent.agency, remote });
    const previous = this.conns.get(agent.id);
    if (previous) {
      previous.replaced = true;
      previous.ws.close(CloseCode.REPLACED, 'replaced by a newer connection of this agent');
      log.info('a newer connection replaces the previous one');
    }
    this.conns.set(agent.id, conn);
    this.stats.connected = this.conns.size;
    conn.helloTimer = setTimeout(() => ws.close(CloseCode.HELLO_TIMEOUT, 'no hello received'), this.config.limits.hello_timeout);

    ws.on('message', (data, isBinary) => {
      conn.heardAt = performance.now();
      if (this.resumed.size) this.resumed.delete(conn);
      try {
        if (isBinary) throw new ProtocolError('binary frames are not part of the protocol');
        const msg = decodeAgentMessage(data as Buffer);
        if (msg.type === 'hello') this.onHello(conn, msg, log);
        else if (!conn.hello) throw new ProtocolError(`"${msg.type}" before "hello"`);
        else if (msg.type === 'batch') this.onBatch(conn, msg, log);
        else {
          this.central?.recordResult(conn.agent.id, msg.version, msg.errors);
          if (msg.errors.length) log.warn({ version: msg.version, errors: msg.errors }, 'agent refused central config; it keeps its previous one');
          else log.info({ version: msg.version }, 'agent applied central config');
        }
      } catch (err) {
        if (!(err instanceof ProtocolError)) {
          // A full disk or an I/O error (spool, registry) costs this message its ack, never
          // the collector its life: the agent keeps the batch and sends it again.
          if (typeof (err as { code?: unknown }).code !== 'string' || !/^(E[A-Z]+|SQLITE_\w+|ERR_SQLITE\w*)$/.test((err as { code: string }).code)) throw err;
          this.diskErrors++;
          if (Date.now() - this.diskErrorLoggedAt >= 60_000) {
            this.diskErrorLoggedAt = Date.now();
            log.warn(
              { code: 'CANH_ERR_SPOOL_IO', err: (err as Error).message, errors: this.diskErrors },
              'a message could not be handled for a disk error; not acked (logged once a minute)',
            );
          }
          return;
        }
        this.stats.invalidMessages++;
        log.warn({ reason: err.message }, 'invalid message; closing this connection');
        // Close reasons are limited to 123 bytes by the protocol.
        ws.close(CloseCode.INVALID_MESSAGE, Buffer.from(err.message).subarray(0, 120).toString());
      }
    });
    ws.on('pong', () => {
      conn.heardAt = performance.now();
    });
    ws.on('error', (err) => {
      log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'agent connection error');
    });
    ws.on('close', (code, reason) => {
      if (conn.helloTimer) clearTimeout(conn.helloTimer);
      if (conn.throttle) clearTimeout(conn.throttle);
      this.held.delete(conn);
      this.resumed.delete(conn);
      if (this.conns.get(agent.id) === conn) this.conns.delete(agent.id);
      this.stats.connected = this.conns.size;
      log.info({ code, reason: reason.toString() }, 'agent disconnected');
      if (!conn.replaced && conn.hello) this.setOnline(conn, false);
    });
  }

  private onHello(conn: Conn, hello: Hello, log: Logger): void {
    if (conn.hello) throw new ProtocolError('second hello on one connection');
    if (hello.protocol !== PROTOCOL_VERSION) {
      log.warn({ protocol: hello.protocol }, 'unsupported protocol version');
      conn.ws.close(CloseCode.UNSUPPORTED_VERSION, `collector speaks protocol ${PROTOCOL_VERSION}`);
      return;
    }
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    conn.hello = hello;
    conn.configVersion = hello.config_version;
    const central = this.central?.resolve(conn.agent);
    const push = central && central.version !== hello.config_version;
    conn.ws.send(
      encode({
        type: 'welcome',
        protocol: PROTOCOL_VERSION,
        server_time: Date.now(),
        agent: { id: conn.agent.id, ...conn.identity },
        ...(push ? { config_version: central.version, config: central.config } : {}),
      }),
    );
    if (push) conn.configVersion = central.version;
    log.info({ version: hello.agent_version, os: hello.os, spool: hello.spool_batches }, 'agent connected');
    this.setOnline(conn, true);
  }

  private setOnline(conn: Conn, online: boolean): void {
    const at = Date.now();
    this.registry.markSeen(conn.agent.id, at, conn.hello?.agent_version, online);
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
    if (line) this.writer.write([line]).catch((err: Error) => this.log.warn({ err: err.message }, 'could not record agent state'));
    this.hooks.onAgentState?.(conn.identity, conn.agent, online, at);
  }

  private onBatch(conn: Conn, batch: Batch, log: Logger): void {
    // Set by the message handler as the batch's last byte was read.
    const receivedAt = conn.heardAt;
    this.stats.batches++;
    const points = batch.points.length + batch.rows.length;
    this.stats.points += points;
    this.stats.events += batch.events.length;
    this.throttle(conn, points + batch.events.length);
    this.hooks.onBatch?.(conn.identity, conn.agent, batch);
    // Events need the seconds they fall in looked up in InfluxDB first (what a restart
    // forgot); the alert engine above has them already, so a mail never waits for this.
    if (batch.events.length)
      void this.eventTimes
        .prepare(conn.identity, batch.events)
        .then(() => this.store(conn, batch, log, receivedAt))
        // A bug, not a state: unacked, so the agent sends the batch again.
        .catch((err: Error) => log.error({ err: err.message, seq: batch.seq }, 'could not store a batch of security events'));
    else this.store(conn, batch, log, receivedAt);
  }

  private store(conn: Conn, batch: Batch, log: Logger, receivedAt: number): void {
    const { lines, refused, precision } = encodeBatch(batch, conn.identity, conn.encoder, this.eventTimes);
    if (refused) {
      this.stats.refusedPoints += refused;
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
      written = this.writer.writeText(Buffer.from(lines.join('\n')), lines.length, precision);
    } catch (err) {
      // The writer's spool fallback failed outright: no ack, the agent sends the batch again.
      written = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    written.then(
      () => {
        if (conn.ws.readyState !== WebSocket.OPEN) return;
        conn.ws.send(encode({ type: 'ack', seq }));
        this.ackLatency.record(performance.now() - receivedAt);
      },
      (err: Error & { code?: string }) => {
        // Not durable: no ack. The agent keeps the batch and sends it again.
        if (conn.ws.readyState === WebSocket.OPEN)
          conn.ws.send(encode({ type: 'error', code: err.code ?? 'CANH_ERR_COLLECTOR_INTERNAL', message: err.message, seq }));
      },
    );
    this.batchLines += (lines.length - this.batchLines) / 16;
    if (this.writer.room <= 0) {
      // This batch is queued (and will be acked as usual); the next ones wait in the socket.
      this.held.delete(conn);
      this.held.add(conn);
      conn.held = true;
      this.applyPause(conn);
    }
  }

  /** Resume held connections, oldest first, as far as the write queue has room for their next batch. */
  private releaseHeld(): void {
    if (!this.held.size) return;
    const now = performance.now();
    for (const conn of this.resumed) {
      if (now - conn.resumedAt < RESUME_GRACE_MS) break;
      this.resumed.delete(conn);
    }
    const perConn = Math.max(1, this.batchLines);
    let room = this.writer.room - this.resumed.size * perConn;
    for (const conn of this.held) {
      if (room <= 0) break;
      this.held.delete(conn);
      conn.held = false;
      // It was silent because we did not read it: liveness counts from now.
      conn.heardAt = now;
      conn.resumedAt = now;
      this.resumed.add(conn);
      this.applyPause(conn);
      room -= perConn;
    }
  }

  private applyPause(conn: Conn): void {
    if (conn.held || conn.throttle) conn.ws.pause();
    else conn.ws.resume();
  }

  /**
   * Per-agent rate limit as a token bucket. An agent over its rate is not cut off (its
   * data matters); its socket is paused until it is back within the limit, so TCP pushes
   * back on it alone and other agents keep flowing.
   */
  private throttle(conn: Conn, n: number): void {
    const rate = this.config.limits.max_points_per_second;
    // Monotonic: with the wall clock, a step back drove every bucket far below zero and
    // paused every agent for the length of the step.
    const now = performance.now();
    conn.tokens = Math.min(rate * 10, conn.tokens + ((now - conn.lastRefill) / 1000) * rate);
    conn.lastRefill = now;
    conn.tokens -= n;
    if (conn.tokens < 0) {
      const waitMs = Math.ceil((-conn.tokens / rate) * 1000);
      if (conn.throttle) clearTimeout(conn.throttle);
      conn.throttle = setTimeout(() => {
        conn.throttle = undefined;
        this.applyPause(conn);
      }, waitMs).unref();
      this.applyPause(conn);
    }
  }

  private checkLiveness(): void {
    const step = this.clockWatch.check();
    if (step !== undefined) {
      this.stats.clockSteps++;
      this.log.warn(
        { clock_step_ms: step, steps: this.stats.clockSteps },
        `the wall clock stepped ${step < 0 ? 'back' : 'forward'} by ${Math.round(Math.abs(step) / 1000)} s; liveness and rate limits go on by the monotonic clock`,
      );
    }
    const now = performance.now();
    for (const c of this.conns.values()) {
      // A held connection is quiet because the collector does not read it, not because the agent is gone.
      if (c.held) c.heardAt = now;
      if (now - c.heardAt > this.config.liveness.offline_after) {
        this.log.warn({ agent: c.agent.name, silentMs: Math.round(now - c.heardAt) }, 'agent silent too long; marking offline');
        c.ws.terminate();
        continue;
      }
      // An agent heard from within the interval (its batches come every cycle) needs no
      // ping: 10,000 pings and pongs every interval would be work for both sides.
      if (now - c.heardAt < this.config.liveness.ping_interval) continue;
      if (c.ws.readyState === WebSocket.OPEN) c.ws.ping();
    }
  }

  /** A new central config version was pushed (by the CLI, another process): send it. */
  private checkCentralConfig(): void {
    if (!this.central) return;
    const latest = this.central.latestVersion();
    if (latest === this.centralSeen) return;
    this.centralSeen = latest;
    for (const c of this.conns.values()) {
      if (!c.hello || c.ws.readyState !== WebSocket.OPEN) continue;
      const cfg = this.central.resolve(c.agent);
      if (!cfg || cfg.version === c.configVersion) continue;
      c.configVersion = cfg.version;
      c.ws.send(encode({ type: 'config', version: cfg.version, config: cfg.config }));
      this.log.info({ agent: c.agent.name, version: cfg.version }, 'central config pushed');
    }
  }

  /** Close an agent's connection here because a newer session of it lives on another collector. */
  replaceAgent(agentId: string): boolean {
    const c = this.conns.get(agentId);
    if (!c) return false;
    // Online elsewhere: its disconnection here is no "offline".
    c.replaced = true;
    c.ws.close(CloseCode.REPLACED, 'replaced by a newer connection of this agent (another collector)');
    this.log.info({ agent: c.agent.name }, 'a newer session of this agent on another collector replaces this one');
    return true;
  }

  private checkRevocations(): void {
    for (const c of this.conns.values()) {
      if (this.registry.isRevoked(c.agent.id)) {
        this.log.warn({ agent: c.agent.name }, 'token revoked; closing connection');
        c.ws.close(CloseCode.UNAUTHORIZED, 'token revoked');
      }
    }
  }

  /** Stop accepting, close every agent with GOING_AWAY. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.held.clear();
    this.resumed.clear();
    for (const c of this.conns.values()) {
      c.held = false;
      if (c.throttle) clearTimeout(c.throttle);
      c.throttle = undefined;
      c.ws.resume();
    }
    for (const c of this.conns.values()) c.ws.close(CloseCode.GOING_AWAY, 'collector shutting down');
    const deadline = performance.now() + 2000;
    while (this.conns.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.conns.values()) c.ws.terminate();
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    await closed;
  }
}
