// A simulated agent for load tests: one real WebSocket connection with a real token,
// speaking protocol v1 as canh-agent does (hello → welcome, batches with increasing seq,
// a bounded window of unacked batches, an in-memory spool that keeps every batch until
// its ack, reconnect with the agent's own jittered backoff). It skips what costs a
// load generator CPU without changing what the collector sees: the batch JSON is
// assembled from precomputed pieces (bench/lib/points.ts), in the `rows` spelling the
// agent uses unless told otherwise.
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '@canh/protocol';
import { Backoff } from '@canh/core';
import { SERIES_PER_HOST, type BatchForm, type HostSource } from './points.ts';

export interface SimStats {
  welcomed: number;
  connects: number;
  ackedBatches: number;
  ackedPoints: number;
  sentBatches: number;
  errors: number;
  closes: number;
  /** Ack latency histogram since the last report: ms → count. */
  hist: Map<number, number>;
}

export function newStats(): SimStats {
  return { welcomed: 0, connects: 0, ackedBatches: 0, ackedPoints: 0, sentBatches: 0, errors: 0, closes: 0, hist: new Map() };
}

export interface SimAgentOptions {
  url: string;
  /** Several collectors (collector.urls): start at a random one, move to the next when a connection fails, as the agent's transport does. */
  urls?: string[];
  token: string;
  hostname: string;
  localAddress?: string;
  window: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  source: HostSource;
  form: BatchForm;
  stats: SimStats;
  /** Called on every ack (flood mode tops the spool up from here). */
  onAck?: (a: SimAgent) => void;
}

interface Spooled {
  frame: string;
  points: number;
  sentAt: number;
  madeAt: number;
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class SimAgent {
  readonly opts: SimAgentOptions;
  readonly spool = new Map<number, Spooled>();
  private nextSeq = 1;
  private readonly inFlight = new Set<number>();
  private ws: WebSocket | undefined;
  welcomed = false;
  private stopped = false;
  private pausedUntil = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;

  private readonly urls: string[];
  private current: number;

  constructor(opts: SimAgentOptions) {
    this.opts = opts;
    this.backoff = new Backoff(opts.reconnectMinMs, opts.reconnectMaxMs);
    this.urls = opts.urls?.length ? opts.urls : [opts.url];
    this.current = Math.floor(Math.random() * this.urls.length);
  }

  /** The collector this agent is connected to, or tries next. */
  get url(): string {
    return this.urls[this.current]!;
  }

  /** Spool one batch of `cycles` measurement cycles (stamped `time`, or the source's timeline) and send it if the window allows. */
  produce(cycles: number, time?: number): void {
    const seq = this.nextSeq++;
    const body = this.opts.source.nextBody(this.opts.form, cycles, time);
    this.spool.set(seq, { frame: `{"type":"batch","seq":${seq},${body},"events":[]}`, points: cycles * SERIES_PER_HOST, sentAt: 0, madeAt: Date.now() });
    this.pump();
  }

  connect(): void {
    if (this.stopped) return;
    this.welcomed = false;
    this.inFlight.clear();
    const ws = new WebSocket(this.url, {
      headers: { authorization: `Bearer ${this.opts.token}` },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
      // An all-zero masking key: ws then sends the frame as it is instead of copying it
      // masked. The collector still unmasks every frame exactly as it does a real agent's
      // (its receiver does not look at the key); only the generator's CPU is saved.
      generateMask: zeroMask,
      ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
    });
    this.ws = ws;
    ws.on('open', () => {
      this.opts.stats.connects++;
      ws.send(
        JSON.stringify({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          agent_version: 'bench-sim',
          hostname: this.opts.hostname,
          os: 'linux-x64',
          spool_batches: this.spool.size,
          dropped_points: 0,
        }),
      );
    });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string; seq?: number };
      if (msg.type === 'welcome') {
        this.welcomed = true;
        this.opts.stats.welcomed++;
        this.backoff.reset();
        this.pump();
      } else if (msg.type === 'ack' && msg.seq !== undefined) {
        const r = this.spool.get(msg.seq);
        this.inFlight.delete(msg.seq);
        if (r) {
          this.spool.delete(msg.seq);
          const ms = Math.round(performance.now() - r.sentAt);
          const h = this.opts.stats.hist;
          h.set(ms, (h.get(ms) ?? 0) + 1);
          this.opts.stats.ackedBatches++;
          this.opts.stats.ackedPoints += r.points;
        }
        this.opts.onAck?.(this);
        this.pump();
      } else if (msg.type === 'error' && msg.seq !== undefined) {
        // Not durable (collector's queue full): resend later, as the agent does.
        this.opts.stats.errors++;
        this.inFlight.delete(msg.seq);
        this.pausedUntil = Date.now() + 250 + Math.random() * 500;
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined;
          this.pump();
        }, this.pausedUntil - Date.now());
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (this.ws === ws) this.ws = undefined;
      if (this.welcomed) this.opts.stats.welcomed--;
      this.opts.stats.closes++;
      this.welcomed = false;
      this.inFlight.clear();
      if (this.stopped) return;
      this.current = (this.current + 1) % this.urls.length;
      this.reconnectTimer = setTimeout(() => this.connect(), this.backoff.next());
    });
  }

  /** When the oldest batch still waiting for its ack was made (undefined: spool empty). */
  oldestMadeAt(): number | undefined {
    for (const r of this.spool.values()) return r.madeAt;
    return undefined;
  }

  pump(): void {
    const ws = this.ws;
    if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN || Date.now() < this.pausedUntil) return;
    if (this.inFlight.size >= this.opts.window) return;
    for (const [seq, r] of this.spool) {
      if (this.inFlight.size >= this.opts.window) break;
      if (this.inFlight.has(seq)) continue;
      ws.send(r.frame);
      r.sentAt = performance.now();
      this.inFlight.add(seq);
      this.opts.stats.sentBatches++;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ws?.terminate();
  }
}
