// The agent's WebSocket link to the collector: connect with the bearer token, say hello,
// send spooled batches in order with a bounded window of unacked ones, drop a batch from
// the spool only when its ack arrives, and reconnect with jittered backoff when anything
// goes wrong. Liveness: a ping when nothing (an ack, a ping) came from the collector for a
// whole ping_interval; no answer within the next one ends the socket.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  CloseCode,
  closeCodeName,
  encode,
  FATAL_CLOSE_CODES,
  PROTOCOL_VERSION,
  type Welcome,
} from '@canh/protocol';
import { Backoff } from './backoff.ts';
import { decodeFromCollector } from './collector-message.ts';
import type { Spool } from './spool/types.ts';

export interface TransportOptions {
  url: string;
  token: string;
  hostname: string;
  agentVersion: string;
  pingIntervalMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  maxInFlight: number;
  caFile?: string;
  insecureSkipVerify?: boolean;
}

/**
 * An ack in the form the collector writes it, read without even JSON.parse: acks are
 * nearly every message, one per batch. Anything else goes to the full decoder.
 */
const ACK = /^\{"type":"ack","seq":(\d{1,15})\}$/;
export function quickAck(data: Buffer | string): number | undefined {
  if (data.length > 48) return undefined;
  const m = ACK.exec(typeof data === 'string' ? data : data.toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

export type TransportState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export class Transport {
  private ws: WebSocket | undefined;
  private state: TransportState = 'disconnected';
  private welcomed = false;
  /** Highest seq sent on this connection; everything up to it is in flight or acked. */
  private sentUpTo = 0;
  private inFlight = new Set<number>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  private readonly backoff: Backoff;
  private readonly retryBackoff = new Backoff(500, 30_000);
  private retryTimer: NodeJS.Timeout | undefined;
  private fatal = false;
  welcome: Welcome | undefined;
  acked = 0;
  connects = 0;
  onWelcome: (w: Welcome) => void = () => {};
  /** Apply a central config; resolves with the problems (empty: applied). */
  onConfig: (version: number, config: unknown) => Promise<string[]> = async () => ['central configuration not supported'];
  configVersion: () => number | undefined = () => undefined;
  onStateChange: (s: TransportState) => void = () => {};

  private readonly opts: TransportOptions;
  private readonly spool: Spool;
  private readonly log: Logger;

  constructor(
    opts: TransportOptions,
    spool: Spool,
    log: Logger,
  ) {
    this.opts = opts;
    this.spool = spool;
    this.log = log;
    this.backoff = new Backoff(opts.reconnectMinMs, opts.reconnectMaxMs);
  }

  get connectionState(): TransportState {
    return this.state;
  }

  start(): void {
    if (this.state === 'stopped') return;
    this.connect();
  }

  private setState(s: TransportState): void {
    if (this.state === s) return;
    this.state = s;
    this.onStateChange(s);
  }

  private connect(): void {
    this.setState('connecting');
    this.welcomed = false;
    this.inFlight.clear();
    // After a reconnect everything still in the spool is resent, oldest first: the
    // collector may have written it without the ack reaching us; replay is harmless.
    this.sentUpTo = 0;
    const ws = new WebSocket(this.opts.url, {
      headers: { authorization: `Bearer ${this.opts.token}` },
      perMessageDeflate: false, // costs ~10x throughput; batches are the compression
      handshakeTimeout: 10_000,
      ca: this.opts.caFile ? readFileSync(this.opts.caFile) : undefined,
      rejectUnauthorized: !this.opts.insecureSkipVerify,
    });
    this.ws = ws;

    ws.on('unexpected-response', (_req, res) => {
      // 401 before the upgrade: the token is wrong or revoked. Keep retrying slowly (an
      // operator may re-enable the agent) but say clearly why.
      this.log.error({ status: res.statusCode }, res.statusCode === 401 ? 'collector refused the token (HTTP 401): check collector.token_file' : 'collector refused the connection');
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      this.connects++;
      const s = this.spool.stats();
      ws.send(
        encode({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          agent_version: this.opts.agentVersion,
          hostname: this.opts.hostname,
          os: `${process.platform}-${process.arch}`,
          spool_batches: s.batches,
          dropped_points: s.droppedPoints,
          ...(this.configVersion() !== undefined ? { config_version: this.configVersion() } : {}),
        }),
      );
      this.startPing(ws);
    });
    ws.on('message', (data, isBinary) => {
      this.heard();
      if (isBinary) return;
      const ackSeq = quickAck(data as Buffer);
      if (ackSeq !== undefined) {
        this.onAck(ackSeq);
        return;
      }
      let msg;
      try {
        msg = decodeFromCollector(data as Buffer);
      } catch (err) {
        this.log.warn({ err }, 'invalid message from collector; ignoring it');
        return;
      }
      switch (msg.type) {
        case 'welcome':
          this.welcome = msg;
          this.welcomed = true;
          this.backoff.reset();
          this.setState('connected');
          this.log.info({ agent: msg.agent }, 'connected to collector');
          this.onWelcome(msg);
          if (msg.config_version !== undefined && msg.config !== undefined) void this.handleConfig(ws, msg.config_version, msg.config);
          this.pump();
          break;
        case 'ack':
          this.onAck(msg.seq);
          break;
        case 'error':
          this.log.warn({ code: msg.code, seq: msg.seq }, `collector error: ${msg.message}`);
          if (msg.seq !== undefined) this.retryLater(msg.seq);
          break;
        case 'config':
          void this.handleConfig(ws, msg.version, msg.config);
          break;
      }
    });
    ws.on('pong', () => this.heard());
    ws.on('ping', () => this.heard());
    ws.on('error', (err) => {
      this.log.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'collector connection error');
    });
    ws.on('close', (code, reason) => {
      this.stopPing();
      if (this.ws === ws) this.ws = undefined;
      if (this.state === 'stopped') return;
      this.setState('disconnected');
      const why = reason.toString();
      if (code >= 4000) this.log.warn({ code, name: closeCodeName(code), reason: why }, 'collector closed the connection');
      if (code === CloseCode.REPLACED) {
        // Another process runs with our identity; two agents fighting over one token
        // would replace each other forever.
        this.log.error('another agent connected with this token; this one stops reconnecting');
        this.fatal = true;
        return;
      }
      this.scheduleReconnect(FATAL_CLOSE_CODES.has(code));
    });
  }

  private onAck(seq: number): void {
    this.retryBackoff.reset();
    this.inFlight.delete(seq);
    if (this.spool.ack(seq)) this.acked++;
    this.pump();
  }

  private scheduleReconnect(slow: boolean): void {
    if (this.state === 'stopped' || this.fatal) return;
    const delay = slow ? this.opts.reconnectMaxMs : this.backoff.next();
    this.log.debug({ delay }, 'reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /**
   * Any frame from the collector proves the connection alive: the liveness timer starts
   * over (refresh() moves it without a new timer), so while acks come every cycle it
   * never fires, and the agent is not woken for it.
   */
  private heard(): void {
    this.awaitingPong = false;
    this.pingTimer?.refresh();
  }

  private startPing(ws: WebSocket): void {
    this.awaitingPong = false;
    // Fires only after a whole interval with nothing from the collector: ping it then
    // (acks every cycle already say it is there), and if the next interval brings
    // nothing either, not even the pong, the connection is dead.
    this.pingTimer = setTimeout(() => {
      if (this.awaitingPong) {
        this.log.warn('no pong from collector; reconnecting');
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      ws.ping();
      this.pingTimer?.refresh();
    }, this.opts.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }

  /** Send what the window allows. Called on welcome, ack and whenever a batch is spooled. */
  pump(): void {
    const ws = this.ws;
    if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) return;
    // send() has no backpressure signal; a large bufferedAmount means the socket is slow.
    if (ws.bufferedAmount > 8 * 1024 * 1024) return;
    const room = this.opts.maxInFlight - this.inFlight.size;
    if (room <= 0) return;
    for (const r of this.spool.after(this.sentUpTo, room + this.inFlight.size)) {
      if (this.inFlight.size >= this.opts.maxInFlight) break;
      if (this.inFlight.has(r.seq)) {
        this.sentUpTo = Math.max(this.sentUpTo, r.seq);
        continue;
      }
      ws.send(r.frame);
      this.spool.markSent(r.seq);
      this.inFlight.add(r.seq);
      this.sentUpTo = r.seq;
    }
  }

  private async handleConfig(ws: WebSocket, version: number, config: unknown): Promise<void> {
    let errors: string[];
    try {
      errors = await this.onConfig(version, config);
    } catch (err) {
      errors = [(err as Error).message];
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(encode({ type: 'config_result', version, errors }));
  }

  /** The collector could not make a batch durable (InfluxDB busy): send it again later. */
  private retryLater(seq: number): void {
    this.inFlight.delete(seq);
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      const first = this.spool.first();
      // Rewind to just before the oldest unacked batch; those still in flight are skipped.
      if (first !== undefined) this.sentUpTo = Math.min(this.sentUpTo, first - 1);
      this.pump();
    }, this.retryBackoff.next());
  }

  inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Close the link, waiting briefly for outstanding acks. Safe to call twice. */
  async stop(waitForAcksMs = 2000): Promise<void> {
    if (this.state === 'stopped') return;
    const deadline = Date.now() + waitForAcksMs;
    while (this.ws && this.welcomed && this.spool.first() !== undefined && Date.now() < deadline) {
      this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.setState('stopped');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopPing();
    const ws = this.ws;
    if (ws) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        ws.close(1000, 'agent stopping');
      });
    }
  }
}
