// The collector's front door: HTTP (/healthz) and the agent WebSocket endpoint
// /v1/agent, put together from the modules under receiver/ (README.md there): http and
// auth (the token is checked before the upgrade), connection (one per agent), ingest
// (stamp, write, ack), backpressure and rate-limit (which sockets are read from),
// liveness, central-push and revocation. Intervals (rate limit, liveness, hold grace) are
// measured on the monotonic clock; the wall clock only stamps what is stored, so a clock
// step neither stalls nor drops agents.
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import { CloseCode, type Hello } from '@canh/protocol';
import type { CollectorConfig } from './config.ts';
import type { AgentRecord, AgentRegistry } from './registry/types.ts';
import { AckHistogram } from './ack-histogram.ts';
import { EventTimes } from './event-times.ts';
import type { CentralReader } from './central/store.ts';
import { admit } from './receiver/auth.ts';
import { Backpressure } from './receiver/backpressure.ts';
import { CentralPush } from './receiver/central-push.ts';
import { openConnection } from './receiver/connection.ts';
import type { CollectorHooks } from './receiver/hooks.ts';
import { handleRequest, listen } from './receiver/http.ts';
import { Liveness } from './receiver/liveness.ts';
import { closeReplaced, closeRevoked } from './receiver/revocation.ts';
import type { BatchSink, CollectorStats, Receiver } from './receiver/types.ts';

export { combineHooks, type CollectorHooks } from './receiver/hooks.ts';
export type { BatchSink, CollectorStats } from './receiver/types.ts';

export class CollectorServer {
  /** Last byte of a batch read → its ack written (bench:connections reads it from /healthz). */
  readonly ackLatency: AckHistogram;
  readonly stats: CollectorStats;
  /** Where each security event is stored (collector/src/event-times.ts). */
  readonly eventTimes: EventTimes;
  private readonly r: Receiver;
  private server: Server | undefined;
  private readonly wss: WebSocketServer;
  private readonly liveness: Liveness;
  private readonly centralPush: CentralPush;
  private timers: NodeJS.Timeout[] = [];

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
    const writer = deps.writer;
    this.r = {
      config,
      registry: deps.registry,
      writer,
      log: deps.log,
      hooks: deps.hooks ?? {},
      central: deps.central,
      health: deps.health,
      eventTimes: deps.eventTimes ?? new EventTimes(),
      ackLatency: new AckHistogram(),
      stats: { connected: 0, batches: 0, points: 0, events: 0, refusedPoints: 0, authFailures: 0, invalidMessages: 0, clockSteps: 0 },
      conns: new Map(),
      backpressure: new Backpressure(() => writer.room),
      diskErrors: { count: 0, loggedAt: -Infinity },
      stopping: false,
    };
    this.ackLatency = this.r.ackLatency;
    this.stats = this.r.stats;
    this.eventTimes = this.r.eventTimes;
    this.liveness = new Liveness(this.r);
    this.centralPush = new CentralPush(this.r);
    writer.onProgress = () => this.r.backpressure.release();
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
    return new Set(this.r.conns.keys());
  }

  connectedAgents(): { agent: AgentRecord; hello?: Hello; lastSeen: number; remote: string }[] {
    const wallMinusMono = Date.now() - performance.now();
    return [...this.r.conns.values()].map((c) => ({ agent: c.agent, hello: c.hello, lastSeen: Math.round(c.heardAt + wallMinusMono), remote: c.remote }));
  }

  async start(): Promise<void> {
    const r = this.r;
    this.server = await listen(
      r,
      (req, res) => void handleRequest(r, req, res),
      (req, socket, head) => {
        socket.on('error', () => {});
        const admitted = admit(r, req, socket);
        if (admitted) this.wss.handleUpgrade(req, socket, head, (ws) => openConnection(r, ws, admitted.agent, admitted.remote));
      },
    );
    this.timers.push(setInterval(() => this.liveness.check(), this.liveness.intervalMs));
    this.timers.push(setInterval(() => closeRevoked(r), 5000));
    this.centralPush.start();
    this.timers.push(setInterval(() => this.centralPush.check(), 2000));
    r.log.info({ port: this.port, host: r.config.listen.host, tls: !!r.config.listen.tls }, 'collector listening');
  }

  /** Close an agent's connection here because a newer session of it lives on another collector. */
  replaceAgent(agentId: string): boolean {
    return closeReplaced(this.r, agentId);
  }

  /** Stop accepting, close every agent with GOING_AWAY. Safe to call twice. */
  async stop(): Promise<void> {
    const conns = this.r.conns;
    if (this.r.stopping) return;
    this.r.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.r.backpressure.clear(conns.values());
    for (const c of conns.values()) c.ws.close(CloseCode.GOING_AWAY, 'collector shutting down');
    const deadline = performance.now() + 2000;
    while (conns.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of conns.values()) c.ws.terminate();
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    await closed;
  }
}
