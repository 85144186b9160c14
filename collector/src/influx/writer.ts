// Batched writes to InfluxDB 1.x over its HTTP API (/write, line protocol, precision ms;
// precision ns for the batches that carry security events, see event-times.ts: texts of
// the two precisions never share a request). Lines from many agent batches are gathered
// into one request by size or by time; each
// caller's promise settles once the request holding its lines has been answered, so the
// receiver can ack the agent only for data InfluxDB has accepted.
//
// Retryable failures (network, timeout, 5xx) are retried with backoff and the data stays
// queued; a 400 is InfluxDB refusing some points (it still stores the valid ones in
// the same request), so it is recorded with the reason and not retried.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { Backoff, CanhError } from '@canh/core';

export interface InfluxOptions {
  url: string;
  database: string;
  username?: string;
  password?: string;
  batchSize: number;
  flushIntervalMs: number;
  timeoutMs: number;
  /** Lines queued beyond this make write() refuse at once (the agent keeps the data). */
  maxQueuedLines: number;
  concurrency: number;
  retention?: string;
  /**
   * Send at once when no request is in flight, instead of waiting for the request to fill
   * or for flushIntervalMs (default true). At a low rate a batch is then acked after one
   * InfluxDB round trip, not up to flushIntervalMs later; under load requests are in
   * flight all the time and fill up as before. At most one such early request is out at
   * a time, so InfluxDB sees one small request per round trip, not one per batch.
   */
  flushWhenIdle?: boolean;
  /**
   * With flushWhenIdle, how long the first line queued while nothing is in flight waits
   * for others before its early request goes (default 0: at once). InfluxDB 1.x spends a
   * fixed ~1 ms of CPU per write request besides its cost per point, so a request per
   * agent batch (15 lines) cost it three times the CPU per point of requests of a few
   * hundred lines (bench:influx-shapes); a short wait gathers those at a few ms of
   * latency. Never longer than flushIntervalMs.
   */
  lingerMs?: number;
}

/** The unit of a text's times: ms for points, ns for batches carrying security events. */
export type Precision = 'ms' | 'ns';

interface Pending {
  /** Lines of line protocol joined by newlines: one flat string per caller, not one per line. */
  text: string | Buffer;
  /** How many lines `text` holds. */
  n: number;
  precision: Precision;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class InfluxBusyError extends CanhError {
  constructor(queued: number) {
    super('CANH_ERR_INFLUX_BUSY', `InfluxDB write queue is full (${queued} lines waiting); try again later`);
  }
}

export interface WriterStats {
  written: number;
  refused: number;
  requests: number;
  failures: number;
  queued: number;
  lastError: string | null;
  healthy: boolean;
}

export class InfluxWriter {
  private queue: Pending[] = [];
  private queuedLines = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Armed while an early request waits out lingerMs (flushWhenIdle). */
  private lingerTimer: NodeJS.Timeout | undefined;
  /** When the queue last went from empty to holding lines (lingerMs counts from there). */
  private queuedSince = 0;
  private readonly backoff = new Backoff(250, 30_000);
  private stopped = false;
  private readonly opts: InfluxOptions;
  private readonly log: Logger;
  /** Durable fallback (the collector's spool): true when it took the `n` lines in `text`. */
  fallback: ((text: string, n: number, precision: Precision) => boolean) | undefined;
  /** Called whenever queued lines were sent or a request finished (the receiver resumes agents then). */
  onProgress: (() => void) | undefined;
  /**
   * Lines waiting (not yet sent) from which the receiver stops reading from agents until
   * the queue drains: enough for the next requests, so InfluxDB is never starved, while
   * the rest stays in the agents' sockets instead of the collector's heap.
   */
  readonly highWater: number;
  readonly stats: WriterStats = { written: 0, refused: 0, requests: 0, failures: 0, queued: 0, lastError: null, healthy: true };

  /** Keep-alive connections for writes (one per concurrent request, and a spare). */
  private readonly agent: HttpAgent;
  private readonly writeUrl: URL;
  private readonly writeUrlNs: URL;

  constructor(opts: InfluxOptions, log: Logger) {
    this.opts = opts;
    this.log = log;
    const agentOpts = { keepAlive: true, maxSockets: opts.concurrency + 1, maxFreeSockets: opts.concurrency + 1 };
    this.agent = opts.url.startsWith('https:') ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
    // The same for every write: database, precision and retention policy are fixed.
    this.writeUrl = new URL(this.endpoint('write', { db: opts.database, precision: 'ms', ...(opts.retention ? { rp: opts.retention } : {}) }));
    this.writeUrlNs = new URL(this.endpoint('write', { db: opts.database, precision: 'ns', ...(opts.retention ? { rp: opts.retention } : {}) }));
    this.highWater = Math.max(1, Math.min(opts.batchSize * (opts.concurrency + 2), Math.floor(opts.maxQueuedLines / 2)));
  }

  /**
   * How many more lines may be queued before the receiver should stop reading; Infinity
   * while InfluxDB is failing (new data then goes to the spool, or is refused as busy).
   */
  get room(): number {
    return this.stats.healthy && !this.stopped ? this.highWater - this.queuedLines : Infinity;
  }

  private endpoint(path: string, params: Record<string, string>): string {
    const u = new URL(path, this.opts.url.endsWith('/') ? this.opts.url : `${this.opts.url}/`);
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.opts.username) h.authorization = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password ?? ''}`).toString('base64')}`;
    return h;
  }

  /**
   * Run an InfluxQL statement (database admin, health checks and tests). Times in ms, or
   * in ns with `epoch: 'ns'`, where an integer past 2^53 is answered as an exact bigint.
   */
  async query(q: string, db?: string, epoch: Precision = 'ms'): Promise<unknown> {
    const body = new URLSearchParams({ q, epoch, ...(db ? { db } : {}) });
    const res = await fetch(this.endpoint('query', {}), {
      method: 'POST',
      headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
      body,
      signal: AbortSignal.timeout(this.opts.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new CanhError('CANH_ERR_INFLUX_QUERY', `InfluxDB query failed (HTTP ${res.status}): ${text.slice(0, 300)}`);
    return epoch === 'ns' ? (JSON.parse(text, exactIntegers) as unknown) : (JSON.parse(text) as unknown);
  }

  async ping(): Promise<boolean> {
    try {
      const res = await fetch(this.endpoint('ping', {}), { signal: AbortSignal.timeout(Math.min(this.opts.timeoutMs, 3000)) });
      return res.status === 204 || res.ok;
    } catch {
      return false;
    }
  }

  /** Create the database if missing (idempotent in InfluxDB 1.x). */
  async ensureDatabase(): Promise<void> {
    const name = this.opts.database.replace(/"/g, '\\"');
    await this.query(`CREATE DATABASE "${name}"`);
  }

  start(): void {
    this.timer ??= setInterval(() => this.flush(), this.opts.flushIntervalMs);
  }

  /** Queue lines; resolves when InfluxDB has accepted the request that carried them. */
  write(lines: readonly string[]): Promise<void> {
    return this.writeText(lines.join('\n'), lines.length);
  }

  /**
   * Queue `n` lines already joined by newlines, as a string or its UTF-8 bytes (the
   * receiver joins each batch once: one piece per batch costs the garbage collector far
   * less than one per line, and a Buffer keeps it out of V8's heap while it waits).
   */
  writeText(text: string | Buffer, n: number, precision: Precision = 'ms'): Promise<void> {
    if (this.stopped) return Promise.reject(new CanhError('CANH_ERR_INFLUX_STOPPED', 'writer is stopped'));
    if (n === 0) return Promise.resolve();
    // While InfluxDB is failing, new data goes straight to the spool instead of piling up.
    if (!this.stats.healthy && this.fallback?.(String(text), n, precision)) return Promise.resolve();
    if (this.queuedLines + n > this.opts.maxQueuedLines) return Promise.reject(new InfluxBusyError(this.queuedLines));
    return new Promise((resolve, reject) => {
      if (!this.queue.length) this.queuedSince = performance.now();
      this.queue.push({ text, n, precision, resolve, reject });
      this.queuedLines += n;
      this.stats.queued = this.queuedLines;
      if (this.queuedLines >= this.opts.batchSize) this.flush();
      else if (this.idle()) this.early();
    });
  }

  /** Nothing in flight, InfluxDB answering and no back-off under way: an early request may go (flushWhenIdle). */
  private idle(): boolean {
    return this.opts.flushWhenIdle !== false && this.inFlight === 0 && this.stats.healthy && !this.retryTimer;
  }

  /** An early request: at once, or once lingerMs has passed for what is queued (the timer is armed once). */
  private early(): void {
    const wait = Math.min(this.opts.lingerMs ?? 0, this.opts.flushIntervalMs) - (performance.now() - this.queuedSince);
    if (wait <= 0) return this.flush();
    this.lingerTimer ??= setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.queue.length && this.idle()) this.flush();
    }, wait);
    this.onProgress?.();
  }

  /** Send what is queued, up to `concurrency` requests at a time. */
  flush(): void {
    if (this.retryTimer) return; // backing off after a failure
    while (this.queue.length && this.inFlight < this.opts.concurrency) {
      const take: Pending[] = [];
      let n = 0;
      const precision = this.queue[0]!.precision;
      while (this.queue.length && (n === 0 || (n + this.queue[0]!.n <= this.opts.batchSize && this.queue[0]!.precision === precision))) {
        const p = this.queue.shift()!;
        take.push(p);
        n += p.n;
      }
      this.queuedLines -= n;
      this.stats.queued = this.queuedLines;
      void this.send(take, n, precision);
    }
    this.onProgress?.();
  }

  /**
   * One POST of line protocol. 'ok': stored; 'refused': InfluxDB answered 400 (it stored
   * the valid points and names the others; sending them again would not help); 'retry':
   * network error, timeout, 5xx or a configuration problem worth waiting out.
   */
  async post(body: string | Buffer, n: number, precision: Precision = 'ms'): Promise<'ok' | 'refused' | 'retry'> {
    this.stats.requests++;
    try {
      const res = await this.postText(body, precision);
      const text = res.text;
      if (res.status === 204) {
        this.stats.written += n;
        this.markHealthy();
        return 'ok';
      }
      if (res.status === 400) {
        this.stats.refused++;
        this.stats.lastError = text.slice(0, 500);
        this.log.warn({ status: 400, error: text.slice(0, 500), lines: n }, 'InfluxDB refused some points');
        this.markHealthy();
        return 'refused';
      }
      this.stats.lastError = `HTTP ${res.status}: ${text.slice(0, 300)}`;
      if (res.status === 404 && /database not found/i.test(text)) {
        this.log.warn('InfluxDB database missing; creating it');
        await this.ensureDatabase().catch(() => {});
      } else if (!(res.status >= 500 || res.status === 429 || res.status === 408)) {
        // 401/403/413...: configuration problems. Retrying alone will not help, but
        // dropping data would be worse: keep it, back off and say loudly what is wrong.
        this.log.error({ status: res.status, error: text.slice(0, 300) }, 'InfluxDB rejected the write; check influx.url, database and credentials');
      }
    } catch (err) {
      this.stats.lastError = (err as Error).message;
    }
    this.stats.failures++;
    this.stats.healthy = false;
    return 'retry';
  }

  /**
   * POST a text body over the writer's keep-alive connections. node:http writes the
   * string as it is; fetch first copied each ~1 MB body into a Uint8Array and then
   * cloned it for its body stream (~3 % of the collector's CPU under load).
   */
  private postText(body: string | Buffer, precision: Precision): Promise<{ status: number; text: string }> {
    const u = precision === 'ns' ? this.writeUrlNs : this.writeUrl;
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        u,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            ...this.headers(),
            'content-type': 'text/plain; charset=utf-8',
            'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
          },
          timeout: this.opts.timeoutMs,
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`InfluxDB did not answer within ${this.opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  private async send(take: Pending[], n: number, precision: Precision): Promise<void> {
    this.inFlight++;
    let result: 'ok' | 'refused' | 'retry';
    try {
      result = await this.post(take.length === 1 ? take[0]!.text : joinTexts(take), n, precision);
    } finally {
      this.inFlight--;
    }
    if (result !== 'retry') {
      for (const p of take) p.resolve();
      if (this.queuedLines >= this.opts.batchSize) this.flush();
      else if (this.queue.length && this.idle()) this.early();
      else this.onProgress?.();
      return;
    }
    // InfluxDB is down or slow: hand the data to the collector's spool when there is
    // one (it is durable there, so the agents get their acks), else keep it queued.
    if (this.fallback) {
      const kept: Pending[] = [];
      for (const p of take) {
        if (this.fallback(String(p.text), p.n, p.precision)) p.resolve();
        else kept.push(p);
      }
      take = kept;
      n = kept.reduce((k, p) => k + p.n, 0);
    }
    // Back in the queue only as far as max_queued_lines allows: lines queued while this
    // request was in flight took the room, and the rest are refused (the agents keep them).
    let room = this.opts.maxQueuedLines - this.queuedLines;
    const back: Pending[] = [];
    for (const p of take) {
      if (p.n <= room) {
        back.push(p);
        room -= p.n;
      } else p.reject(new InfluxBusyError(this.queuedLines));
    }
    take = back;
    n = back.reduce((k, p) => k + p.n, 0);
    this.queue.unshift(...take);
    this.queuedLines += n;
    this.stats.queued = this.queuedLines;
    if (this.stopped) {
      for (const p of this.queue.splice(0)) p.reject(new CanhError('CANH_ERR_INFLUX_STOPPED', 'writer stopped before InfluxDB accepted the data'));
      return;
    }
    const delay = this.backoff.next();
    if (this.stats.failures % 10 === 1)
      this.log.warn({ err: this.stats.lastError, delay: Math.round(delay), queued: this.queuedLines }, 'InfluxDB write failed; retrying');
    this.onProgress?.();
    if (!this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.flush();
      }, delay);
    }
  }

  private markHealthy(): void {
    if (!this.stats.healthy) this.log.info('InfluxDB writes succeed again');
    this.stats.healthy = true;
    this.backoff.reset();
  }

  /** Flush everything, waiting up to timeoutMs; then refuse what is left. Safe twice. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    const deadline = performance.now() + timeoutMs;
    while ((this.queue.length || this.inFlight) && performance.now() < deadline) {
      this.flush();
      await new Promise((r) => setTimeout(r, 20));
    }
    this.stopped = true;
    this.agent.destroy();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const p of this.queue.splice(0)) p.reject(new CanhError('CANH_ERR_INFLUX_STOPPED', 'writer stopped before InfluxDB accepted the data'));
    this.queuedLines = 0;
  }
}

const NEWLINE = Buffer.from('\n');

/** JSON.parse reviver: an integer past 2^53 (a time in ns) as an exact bigint, from its source text. */
function exactIntegers(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) return BigInt(context.source);
  return value;
}

/** The request body: the batches' texts one per line. */
function joinTexts(take: readonly { text: string | Buffer }[]): string | Buffer {
  if (take.every((p) => typeof p.text === 'string')) return take.map((p) => p.text).join('\n');
  const parts: Buffer[] = [];
  for (const p of take) {
    if (parts.length) parts.push(NEWLINE);
    parts.push(typeof p.text === 'string' ? Buffer.from(p.text) : p.text);
  }
  return Buffer.concat(parts);
}
