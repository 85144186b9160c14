// The agent's WebSocket link to the collector: connect with the bearer token, say hello,
// send spooled batches in order with a bounded window of unacked ones, drop a batch from
// the spool only when its ack arrives, and reconnect with jittered backoff when anything
// goes wrong. This file composes the parts beside it, in transport/: connection.ts (the
// socket, the hello, the collector list and failover), window.ts (the send window, acks,
// merged backlog frames with frames.ts), liveness.ts (ping and pong, on a timer of its own
// or at the owner's ticks), reading.ts (with `readAtTicks` the socket is not read between a
// tick's send, rest(), and the next tick, wake()) and reconnect.ts (backoff and retries).
// Here: the connection's events, the collector's messages, central config, and stop.
// An ack is checked against the frames in flight on its connection: one for anything else
// (a seq never sent, or ahead of the window) is a protocol error that closes the connection
// with UNKNOWN_ACK and removes nothing from the spool.
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { LogLimiter } from './log-limit.ts';
import { CloseCode, closeCodeName, encode, FATAL_CLOSE_CODES, decodeFromCollector, type CollectorMessage, type Welcome } from '@canh/protocol';
import type { Spool } from '@canh/core';
import { CollectorUrls, helloFrame, openSocket } from './transport/connection.ts';
import { quickAck } from './transport/frames.ts';
import { Liveness } from './transport/liveness.ts';
import { startReading, stopReading } from './transport/reading.ts';
import { Reconnect } from './transport/reconnect.ts';
import { SendWindow } from './transport/window.ts';
import type { TransportOptions, TransportState } from './transport/options.ts';

export { mergedFrame, quickAck } from './transport/frames.ts';
export type { TransportOptions, TransportState } from './transport/options.ts';

export class Transport {
  private ws: WebSocket | undefined;
  private state: TransportState = 'disconnected';
  private welcomed = false;
  /** readAtTicks: the socket is not being read until wake(). */
  private resting = false;
  private readonly window: SendWindow;
  private readonly liveness: Liveness;
  private readonly reconnect: Reconnect;
  private readonly urls: CollectorUrls;
  welcome: Welcome | undefined;
  connects = 0;
  /** Acks for a seq not in flight, since start: each closed its connection (UNKNOWN_ACK). */
  badAcks = 0;
  /** Frames from the collector that were not a valid message (ignored), since start. */
  invalidFrames = 0;
  /** A collector can send bad frames as fast as it likes: their log lines are rate limited. */
  private readonly invalidLog = new LogLimiter();
  /** `error` frames (InfluxDB busy for a whole outage) likewise: one line a minute. */
  private readonly errorLog = new LogLimiter();
  private readonly badAckLog = new LogLimiter();
  onWelcome: (w: Welcome) => void = () => {};
  /** Apply a central config; resolves with the problems (empty: applied). */
  onConfig: (version: number, config: unknown) => Promise<string[]> = async () => ['central configuration not supported'];
  configVersion: () => number | undefined = () => undefined;
  onStateChange: (s: TransportState) => void = () => {};

  private readonly opts: TransportOptions;
  private readonly spool: Spool;
  private readonly log: Logger;

  constructor(opts: TransportOptions, spool: Spool, log: Logger) {
    this.opts = opts;
    this.spool = spool;
    this.log = log;
    this.urls = new CollectorUrls(opts);
    this.window = new SendWindow(opts, spool, () => this.wake());
    this.liveness = new Liveness(opts.pingIntervalMs, opts.livenessByOwner === true, log);
    this.reconnect = new Reconnect(
      opts.reconnectMinMs,
      opts.reconnectMaxMs,
      log,
      () => this.connect(),
      () => {
        this.window.rewind();
        this.pump();
      },
    );
  }

  get connectionState(): TransportState {
    return this.state;
  }

  /** The collector this transport is connected to, or will try next. */
  get url(): string {
    return this.urls.url;
  }

  /** Changes of collector after a failed or lost connection, since start. */
  get failovers(): number {
    return this.urls.failovers;
  }

  /** Batches acked (and so removed from the spool) since start. */
  get acked(): number {
    return this.window.acked;
  }

  /** Batches that left merged into fewer frames since start. */
  get merged(): number {
    return this.window.merged;
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
    this.window.reset();
    this.resting = false;
    const url = this.url;
    const ws = openSocket(url, this.opts);
    this.ws = ws;

    ws.on('unexpected-response', (_req, res) => {
      // 401 before the upgrade: the token is wrong or revoked. Keep retrying slowly (an
      // operator may re-enable the agent) but say clearly why.
      this.log.error(
        { status: res.statusCode },
        res.statusCode === 401 ? 'collector refused the token (HTTP 401): check collector.token_file' : 'collector refused the connection',
      );
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => this.sendHello(ws));
    ws.on('message', (data, isBinary) => this.onMessage(ws, url, data as Buffer, isBinary));
    ws.on('pong', () => this.liveness.heard());
    ws.on('ping', () => this.liveness.heard());
    ws.on('error', (err) => {
      this.log.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'collector connection error');
    });
    ws.on('close', (code, reason) => this.onClose(ws, url, code, reason));
  }

  private sendHello(ws: WebSocket): void {
    this.connects++;
    ws.send(helloFrame(this.opts, this.spool, this.configVersion()));
    this.liveness.start(ws);
  }

  private onMessage(ws: WebSocket, url: string, data: Buffer, isBinary: boolean): void {
    // Closing (an unknown ack): nothing more from this connection is believed.
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
    this.liveness.heard();
    if (isBinary) {
      this.invalidFrame('binary frames are not part of the protocol');
      return;
    }
    const ackSeq = quickAck(data);
    if (ackSeq !== undefined) {
      this.onAck(ws, ackSeq);
      return;
    }
    let msg;
    try {
      msg = decodeFromCollector(data);
    } catch (err) {
      this.invalidFrame((err as Error).message);
      return;
    }
    this.onCollectorMessage(ws, url, msg);
  }

  private onCollectorMessage(ws: WebSocket, url: string, msg: CollectorMessage): void {
    switch (msg.type) {
      case 'welcome':
        this.welcome = msg;
        this.welcomed = true;
        this.reconnect.connected();
        this.setState('connected');
        this.log.info({ agent: msg.agent, collector: url }, 'connected to collector');
        this.onWelcome(msg);
        if (msg.config_version !== undefined && msg.config !== undefined) void this.handleConfig(ws, msg.config_version, msg.config);
        this.pump();
        break;
      case 'ack':
        this.onAck(ws, msg.seq);
        break;
      case 'error': {
        const { log, suppressed } = this.errorLog.take();
        if (log) this.log.warn({ code: msg.code, seq: msg.seq, suppressed }, `collector error: ${msg.message.slice(0, 300)}`);
        // Only for a frame in flight: an error naming anything else changes nothing (the
        // batches it might name are resent after their own error, or a reconnect).
        if (msg.seq !== undefined && this.window.has(msg.seq)) this.retryLater(msg.seq);
        break;
      }
      case 'config':
        void this.handleConfig(ws, msg.version, msg.config);
        break;
    }
  }

  private onClose(ws: WebSocket, url: string, code: number, reason: Buffer): void {
    this.liveness.stop();
    if (this.ws === ws) this.ws = undefined;
    if (this.state === 'stopped') return;
    this.setState('disconnected');
    const why = reason.toString();
    if (code >= 4000 && code !== CloseCode.UNKNOWN_ACK) this.log.warn({ code, name: closeCodeName(code), reason: why }, 'collector closed the connection');
    if (code === CloseCode.REPLACED) {
      // Another process runs with our identity; two agents fighting over one token
      // would replace each other forever.
      this.log.error('another agent connected with this token; this one stops reconnecting');
      this.reconnect.giveUp();
      return;
    }
    this.urls.failOver(url, this.log);
    this.scheduleReconnect(FATAL_CLOSE_CODES.has(code));
  }

  private scheduleReconnect(slow: boolean): void {
    if (this.state === 'stopped') return;
    this.reconnect.schedule(slow);
  }

  /** A frame that is not a valid collector message: counted, logged at most once a minute, ignored. */
  private invalidFrame(reason: string): void {
    this.invalidFrames++;
    const { log, suppressed } = this.invalidLog.take();
    if (log)
      this.log.warn(
        { code: 'CANH_ERR_PROTOCOL_INVALID_MESSAGE', reason, suppressed, total: this.invalidFrames },
        'invalid message from collector; ignoring it',
      );
  }

  private onAck(ws: WebSocket, seq: number): void {
    if (!this.window.ack(seq)) {
      // Never sent on this connection, or already acked: believing it would remove from the
      // spool a batch the collector never got. Keep everything and start over.
      this.badAcks++;
      // A collector that always lies makes this happen at every reconnect: a line a minute.
      const { log, suppressed } = this.badAckLog.take();
      if (log) {
        this.log.warn(
          { code: 'CANH_ERR_PROTOCOL_UNKNOWN_ACK', seq, ...this.window.describe(), total: this.badAcks, suppressed },
          'collector acked a batch that is not in flight; closing the connection, the spool keeps every batch',
        );
      }
      ws.close(CloseCode.UNKNOWN_ACK, `ack for seq ${seq}, which is not in flight`.slice(0, 120));
      return;
    }
    this.reconnect.acked();
    this.pump();
  }

  /** With `livenessByOwner`: the owner's tick checks the collector is still there (liveness.ts). */
  checkLiveness(): void {
    this.liveness.check(this.ws);
  }

  /**
   * readAtTicks: a tick's batch has left. Stop reading the socket until wake(), unless
   * something needs the collector's answer sooner: the window is full, batches wait to
   * be sent, or the link is not (yet) up.
   */
  rest(): void {
    const ws = this.ws;
    if (!this.opts.readAtTicks || this.resting || !ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) return;
    if (this.window.needsAnswer()) return;
    if (stopReading(ws)) this.resting = true;
  }

  /** readAtTicks: a tick begins; read what came from the collector meanwhile. */
  wake(): void {
    if (!this.resting) return;
    this.resting = false;
    const ws = this.ws;
    if (ws && !startReading(ws)) ws.terminate();
  }

  /**
   * Send what the window allows. Called on welcome, ack and whenever a batch is spooled.
   */
  pump(): void {
    const ws = this.ws;
    if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) return;
    this.window.pump(ws);
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
    this.window.drop(seq);
    this.reconnect.retryLater();
  }

  /** Frames sent and not yet acked. */
  inFlightCount(): number {
    return this.window.size;
  }

  /** Close the link, waiting briefly for outstanding acks. Safe to call twice. */
  async stop(waitForAcksMs = 2000): Promise<void> {
    if (this.state === 'stopped') return;
    this.wake();
    const deadline = performance.now() + waitForAcksMs;
    while (this.ws && this.welcomed && this.spool.first() !== undefined && performance.now() < deadline) {
      this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.setState('stopped');
    this.reconnect.cancel();
    this.liveness.stop();
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
