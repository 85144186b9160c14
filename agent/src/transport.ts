// The agent's WebSocket link to the collector: connect with the bearer token, say hello,
// send spooled batches in order with a bounded window of unacked ones, drop a batch from
// the spool only when its ack arrives, and reconnect with jittered backoff when anything
// goes wrong. Liveness: a ping when nothing (an ack, a ping) came from the collector for a
// whole ping_interval; no answer within the next one ends the socket. The check runs on a
// timer of its own, or, with `livenessByOwner`, whenever the owner calls checkLiveness()
// (the agent does at each of its ticks, which wake it anyway). With `readAtTicks` the
// socket is not read between a tick's send (rest()) and the next tick (wake()): the ack
// of the tick's batch waits in the kernel instead of waking the agent on its own.
// With several collector URLs it sticks to one and moves to the next when a connection
// fails or is lost (failOver), so the spool drains into whichever collector answers.
// A backlog (after an outage, more batches waiting than the window lets out) leaves in
// fewer, bigger frames: consecutive batches without events are merged into one frame of
// up to batch_size points, written as rows, whose ack acks all of them.
// An ack is checked against the frames in flight on its connection: one for anything else
// (a seq never sent, or ahead of the window) is a protocol error that closes the connection
// with UNKNOWN_ACK and removes nothing from the spool.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { LogLimiter } from './log-limit.ts';
import {
  CloseCode,
  closeCodeName,
  DEFAULT_MAX_MESSAGE_BYTES,
  encode,
  FATAL_CLOSE_CODES,
  MAX_COLLECTOR_FRAME_BYTES,
  PROTOCOL_VERSION,
  pointsOf,
  RowsWriter,
  decodeFromCollector,
  type Batch,
  type CollectorMessage,
  type Welcome,
} from '@canh/protocol';
import { Backoff, type Spool, type SpoolEntry } from '@canh/core';
import { collectorCAs } from './trust.ts';

export interface TransportOptions {
  /** One collector, or several serving the same agents (failover in list order). */
  url?: string;
  urls?: readonly string[];
  /** Where in `urls` to begin (default: a random place, so agents spread over the collectors). */
  firstUrl?: number;
  token: string;
  hostname: string;
  agentVersion: string;
  pingIntervalMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  maxInFlight: number;
  /** Bounds of a frame that merges a backlog's batches (defaults: 1000 points, 4 MiB). */
  maxBatchPoints?: number;
  maxMessageBytes?: number;
  caFile?: string;
  insecureSkipVerify?: boolean;
  /**
   * The owner calls checkLiveness() at least every pingIntervalMs, and the transport keeps
   * no liveness timer. A timer moved by every frame still wakes the process once per
   * interval at its old deadline (Node does not move libuv's timer later), on an agent
   * that is otherwise woken only by its tick and the ack (docs/benchmarks.md, fifth round).
   */
  livenessByOwner?: boolean;
  /**
   * The owner calls rest() when a tick's batch has left and wake() when the next tick
   * begins: between the two the socket is not read, so the ack of that batch waits in the
   * kernel and is read at the next tick instead of waking the agent on its own.
   */
  readAtTicks?: boolean;
}

/** The socket under a WebSocket (ws keeps it as `_socket`). */
function socketOf(
  ws: WebSocket,
): { pause(): void; resume(): void; _handle?: { reading?: boolean; readStop?(): number; readStart?(): number } | null } | undefined {
  return (ws as unknown as { _socket?: ReturnType<typeof socketOf> })._socket;
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

/** Most spooled batches merged into one frame. */
const MERGE_MAX = 64;

/**
 * One `batch` frame with the points of several spooled batches (none with events), as
 * rows, carrying `seq`. undefined when one of them cannot be read back.
 */
export function mergedFrame(seq: number, records: readonly { frame: string | Buffer }[]): string | undefined {
  const rows = new RowsWriter();
  try {
    for (const r of records) {
      const b = JSON.parse(typeof r.frame === 'string' ? r.frame : r.frame.toString('utf8')) as Partial<Batch>;
      if (b.type !== 'batch' || (b.events?.length ?? 0) > 0) return undefined;
      for (const p of pointsOf({ points: b.points ?? [], series: b.series ?? [], rows: b.rows ?? [] })) rows.add(p);
    }
  } catch {
    return undefined;
  }
  return `{"type":"batch","seq":${seq},${rows.json()},"events":[]}`;
}

export type TransportState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

export class Transport {
  private ws: WebSocket | undefined;
  private state: TransportState = 'disconnected';
  private welcomed = false;
  /** Highest seq sent on this connection; everything up to it is in flight or acked. */
  private sentUpTo = 0;
  /** Every spooled batch in flight, whether sent alone or in a merged frame. */
  private inFlight = new Set<number>();
  /** Frames in flight (the window counts these): the seq the frame carries → the batches in it. */
  private frames = new Map<number, readonly number[]>();
  /** Batches that left merged into fewer frames since start. */
  merged = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  /** readAtTicks: the socket is not being read until wake(). */
  private resting = false;
  /** performance.now() of the last frame from the collector, and of the ping we wait on. */
  private lastHeard = 0;
  private pingSentAt = 0;
  private readonly backoff: Backoff;
  private readonly retryBackoff = new Backoff(500, 30_000);
  private retryTimer: NodeJS.Timeout | undefined;
  private fatal = false;
  welcome: Welcome | undefined;
  acked = 0;
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
  /** The collectors to try; the transport sticks to urls[current] until a connection to it fails. */
  private readonly urls: readonly string[];
  private current: number;
  /** Changes of collector after a failed or lost connection, since start. */
  failovers = 0;

  constructor(opts: TransportOptions, spool: Spool, log: Logger) {
    this.opts = opts;
    this.spool = spool;
    this.log = log;
    this.backoff = new Backoff(opts.reconnectMinMs, opts.reconnectMaxMs);
    this.urls = opts.urls?.length ? [...opts.urls] : opts.url ? [opts.url] : [];
    if (!this.urls.length) throw new Error('Transport: no collector URL');
    this.current = Math.abs(Math.trunc(opts.firstUrl ?? Math.random() * this.urls.length)) % this.urls.length;
  }

  get connectionState(): TransportState {
    return this.state;
  }

  /** The collector this transport is connected to, or will try next. */
  get url(): string {
    return this.urls[this.current]!;
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
    this.frames.clear();
    // After a reconnect everything still in the spool is resent, oldest first: the
    // collector may have written it without the ack reaching us; replay is harmless.
    this.sentUpTo = 0;
    this.resting = false;
    const url = this.url;
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${this.opts.token}` },
      perMessageDeflate: false, // costs ~10x throughput; batches are the compression
      handshakeTimeout: 10_000,
      // wss: the system store and Node's bundled CAs, with ca_file (read again at each connect) added.
      ca: url.startsWith('wss:') ? collectorCAs(this.opts.caFile ? readFileSync(this.opts.caFile, 'utf8') : undefined) : undefined,
      rejectUnauthorized: !this.opts.insecureSkipVerify,
      // The largest frame a collector legitimately sends (a central config in a welcome);
      // ws's default of 100 MiB let a hostile one balloon the agent's memory.
      maxPayload: MAX_COLLECTOR_FRAME_BYTES,
    });
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
    ws.on('pong', () => this.heard());
    ws.on('ping', () => this.heard());
    ws.on('error', (err) => {
      this.log.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'collector connection error');
    });
    ws.on('close', (code, reason) => this.onClose(ws, url, code, reason));
  }

  private sendHello(ws: WebSocket): void {
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
  }

  private onMessage(ws: WebSocket, url: string, data: Buffer, isBinary: boolean): void {
    // Closing (an unknown ack): nothing more from this connection is believed.
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
    this.heard();
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
        this.backoff.reset();
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
        if (msg.seq !== undefined && this.frames.has(msg.seq)) this.retryLater(msg.seq);
        break;
      }
      case 'config':
        void this.handleConfig(ws, msg.version, msg.config);
        break;
    }
  }

  private onClose(ws: WebSocket, url: string, code: number, reason: Buffer): void {
    this.stopPing();
    if (this.ws === ws) this.ws = undefined;
    if (this.state === 'stopped') return;
    this.setState('disconnected');
    const why = reason.toString();
    if (code >= 4000 && code !== CloseCode.UNKNOWN_ACK) this.log.warn({ code, name: closeCodeName(code), reason: why }, 'collector closed the connection');
    if (code === CloseCode.REPLACED) {
      // Another process runs with our identity; two agents fighting over one token
      // would replace each other forever.
      this.log.error('another agent connected with this token; this one stops reconnecting');
      this.fatal = true;
      return;
    }
    this.failOver(url);
    this.scheduleReconnect(FATAL_CLOSE_CODES.has(code));
  }

  /**
   * The connection to `url` failed or was lost: the next attempt goes to the next collector
   * of the list (after the same jittered backoff), and stays there while it serves. What
   * the spool holds goes to whichever collector answers; replay is harmless (points are
   * keyed by their time), so nothing needs to know where a batch went before.
   */
  private failOver(url: string): void {
    if (this.urls.length < 2) return;
    this.current = (this.current + 1) % this.urls.length;
    this.failovers++;
    this.log.info({ from: url, to: this.url, failovers: this.failovers }, 'collector connection failed; trying the next collector');
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
    const batches = this.frames.get(seq);
    if (!batches) {
      // Never sent on this connection, or already acked: believing it would remove from the
      // spool a batch the collector never got. Keep everything and start over.
      this.badAcks++;
      // A collector that always lies makes this happen at every reconnect: a line a minute.
      const { log, suppressed } = this.badAckLog.take();
      if (log) {
        this.log.warn(
          {
            code: 'CANH_ERR_PROTOCOL_UNKNOWN_ACK',
            seq,
            sentUpTo: this.sentUpTo,
            inFlight: [...this.frames.keys()].slice(0, 8),
            total: this.badAcks,
            suppressed,
          },
          'collector acked a batch that is not in flight; closing the connection, the spool keeps every batch',
        );
      }
      ws.close(CloseCode.UNKNOWN_ACK, `ack for seq ${seq}, which is not in flight`.slice(0, 120));
      return;
    }
    this.retryBackoff.reset();
    for (const s of batches) {
      this.inFlight.delete(s);
      if (this.spool.ack(s)) this.acked++;
    }
    this.frames.delete(seq);
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
    if (this.opts.livenessByOwner) this.lastHeard = performance.now();
    else this.pingTimer?.refresh();
  }

  /**
   * With `livenessByOwner`: ping a collector silent for a whole ping interval, and end the
   * connection when a whole interval after that ping brought nothing, not even the pong.
   */
  checkLiveness(): void {
    const ws = this.ws;
    if (!this.opts.livenessByOwner || !ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    if (this.awaitingPong) {
      if (now - this.pingSentAt < this.opts.pingIntervalMs) return;
      this.log.warn('no pong from collector; reconnecting');
      ws.terminate();
    } else if (now - this.lastHeard >= this.opts.pingIntervalMs) {
      this.awaitingPong = true;
      this.pingSentAt = now;
      ws.ping();
    }
  }

  /**
   * readAtTicks: a tick's batch has left. Stop reading the socket until wake(), unless
   * something needs the collector's answer sooner: the window is full, batches wait to
   * be sent, or the link is not (yet) up.
   */
  rest(): void {
    const ws = this.ws;
    if (!this.opts.readAtTicks || this.resting || !ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) return;
    if (this.frames.size >= this.opts.maxInFlight || this.spool.index(this.sentUpTo, 1).length > 0) return;
    const socket = socketOf(ws);
    const handle = socket?._handle;
    // Node's net.Socket pause() only stops pushing data to 'data' listeners; libuv goes on
    // reading (and waking the process) until the stream's buffer is full. Stop the read
    // itself, as pause() does for sockets with an `onread` buffer; resume() restarts it.
    if (!socket || !handle?.readStop || !handle.readStart) return;
    socket.pause();
    if (handle.reading) {
      handle.reading = false;
      handle.readStop();
    }
    this.resting = true;
  }

  /** readAtTicks: a tick begins; read what came from the collector meanwhile. */
  wake(): void {
    if (!this.resting) return;
    this.resting = false;
    const ws = this.ws;
    const socket = ws && socketOf(ws);
    if (!socket) return;
    // As net.Socket starts a read itself (its stream thinks a read is still under way).
    const handle = socket._handle;
    if (handle && !handle.reading && handle.readStart) {
      handle.reading = true;
      if (handle.readStart() !== 0) {
        ws.terminate();
        return;
      }
    }
    socket.resume();
  }

  private startPing(ws: WebSocket): void {
    this.awaitingPong = false;
    this.lastHeard = performance.now();
    if (this.opts.livenessByOwner) return;
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

  /**
   * Send what the window allows. Called on welcome, ack and whenever a batch is spooled.
   * What to send is chosen from the spool's index; only the frames that leave are read
   * (a backlog of thousands of batches waits on disk, not in memory).
   */
  pump(): void {
    const ws = this.ws;
    if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) return;
    // send() has no backpressure signal; a large bufferedAmount means the socket is slow.
    if (ws.bufferedAmount > 8 * 1024 * 1024) return;
    const room = this.opts.maxInFlight - this.frames.size;
    if (room <= 0) return;
    const notInFlight = (r: SpoolEntry) => {
      if (!this.inFlight.has(r.seq)) return true;
      this.sentUpTo = Math.max(this.sentUpTo, r.seq);
      return false;
    };
    let waiting = this.spool.index(this.sentUpTo, room + 1 + this.inFlight.size).filter(notInFlight);
    // More waiting than the window lets out: a backlog. Look at as many batches as the free
    // slots' frames can hold, and merge them.
    const merge = waiting.length > room;
    if (merge) {
      const perFrame = Math.min(MERGE_MAX, Math.max(1, Math.ceil((this.opts.maxBatchPoints ?? 1000) / Math.max(1, waiting[0]!.points))));
      waiting = this.spool.index(this.sentUpTo, room * perFrame + this.inFlight.size).filter(notInFlight);
    }
    let i = 0;
    while (i < waiting.length && this.frames.size < this.opts.maxInFlight) {
      i += this.sendGroup(ws, merge ? this.mergeable(waiting, i) : [waiting[i]!]);
    }
  }

  /** The batches from waiting[i] on that go in one frame: consecutive, without events, within batch_size points and the message limit. */
  private mergeable(waiting: readonly SpoolEntry[], i: number): SpoolEntry[] {
    const group = [waiting[i]!];
    if (group[0]!.events > 0) return group;
    const maxPoints = this.opts.maxBatchPoints ?? 1000;
    const maxBytes = (this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) * 0.9;
    let points = group[0]!.points;
    let bytes = group[0]!.bytes;
    for (let k = i + 1; k < waiting.length; k++) {
      const r = waiting[k]!;
      if (group.length >= MERGE_MAX || r.events > 0 || points + r.points > maxPoints || bytes + r.bytes > maxBytes) break;
      group.push(r);
      points += r.points;
      bytes += r.bytes;
    }
    return group;
  }

  /**
   * Read the group's frames and send them as one (merged) frame; returns how many of the
   * group are done with. A frame the spool cannot give back was counted there as lost.
   */
  private sendGroup(ws: WebSocket, group: readonly SpoolEntry[]): number {
    const records: { seq: number; frame: string | Buffer; at: number }[] = [];
    group.forEach((r, at) => {
      const frame = this.spool.read(r.seq);
      if (frame !== undefined) records.push({ seq: r.seq, frame, at });
    });
    if (!records.length) return group.length;
    const merged = records.length > 1 ? mergedFrame(records[records.length - 1]!.seq, records) : undefined;
    if (records.length > 1 && merged === undefined) {
      // Not readable as batches (cannot happen for frames this agent wrote): they go one by one.
      this.sendFrame(ws, records[0]!.frame, [records[0]!.seq]);
      return records[0]!.at + 1;
    }
    if (records.length > 1) this.merged += records.length;
    this.sendFrame(
      ws,
      merged ?? records[0]!.frame,
      records.map((r) => r.seq),
    );
    return group.length;
  }

  private sendFrame(ws: WebSocket, frame: string | Buffer, seqs: number[]): void {
    // A batch that leaves between ticks (security events) has its ack read when it comes.
    this.wake();
    // A spooled frame's UTF-8 bytes go as a text frame, without a decode and encode.
    ws.send(frame, { binary: false });
    for (const s of seqs) {
      this.spool.markSent(s);
      this.inFlight.add(s);
    }
    const last = seqs[seqs.length - 1]!;
    this.frames.set(last, seqs);
    this.sentUpTo = last;
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
    for (const s of this.frames.get(seq) ?? [seq]) this.inFlight.delete(s);
    this.frames.delete(seq);
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      const first = this.spool.first();
      // Rewind to just before the oldest unacked batch; those still in flight are skipped.
      if (first !== undefined) this.sentUpTo = Math.min(this.sentUpTo, first - 1);
      this.pump();
    }, this.retryBackoff.next());
  }

  /** Frames sent and not yet acked. */
  inFlightCount(): number {
    return this.frames.size;
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
