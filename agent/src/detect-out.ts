// Where `canh-agent detect` writes: JSON lines gathered in chunks (64 KiB) that go to the
// sink (standard output) whole, waiting for the reader now and then so a long log never piles
// up in memory. auth_log's verdicts, one per line of the log, are encoded straight into the
// chunk, without a string per verdict (detect-json.ts builds the same text as a string, for
// the rare verdict too long for a chunk: detect-out.test.ts holds both equal): bench:detect's
// 200,000 lines allocated ~1 KB per verdict for its text, a fifth of all it allocated.
import type { AuthRecord } from './detectors/auth_log/parse.ts';
import { verdictJson } from './detect-json.ts';

export interface ChunkSink {
  /** false: the sink holds more than it wants; wait for 'drain'. It may keep the buffer. */
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** Bytes one UTF-16 unit of a string can take in the JSON text: `\u001f` (6; UTF-8 takes at most 3). */
const WORST = 6;
/** Bytes a verdict takes besides its strings: member names, numbers, flags, quotes (at most 307). */
const FIXED = 384;

export class ChunkedOut {
  private buf: Buffer;
  private used = 0;
  private readonly size: number;
  private readonly sink: ChunkSink;

  constructor(sink: ChunkSink, size = 1 << 16) {
    this.sink = sink;
    this.size = size;
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  /** The chunk so far to the sink; a new buffer for the next (the sink may keep this one until sent). */
  private send(): boolean {
    const full = this.sink.write(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafeSlow(this.size);
    this.used = 0;
    return full;
  }

  /** One JSON text and its newline. */
  line(l: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8.
    if (this.used + l.length * 3 + 1 > this.size) {
      if (this.used) this.send();
      if (l.length * 3 + 1 > this.size) return void this.sink.write(Buffer.from(`${l}\n`));
    }
    this.used += this.buf.write(l, this.used);
    this.buf[this.used++] = 10;
  }

  /** Sends what is gathered; resolves when the sink has room again. */
  async drain(): Promise<void> {
    if (this.used && !this.send()) await new Promise<void>((r) => this.sink.once('drain', r));
  }

  /** The text `verdictJson` makes, and its newline, written into the chunk. */
  verdict(line: number, x: AuthRecord, time: string | undefined, committed?: true): void {
    const strings =
      x.kind.length +
      x.program.length +
      (time?.length ?? 0) +
      (x.user?.length ?? 0) +
      (x.src?.length ?? 0) +
      (x.service?.length ?? 0) +
      (x.method?.length ?? 0) +
      (x.target?.length ?? 0) +
      (x.detail?.length ?? 0) +
      (x.level?.length ?? 0);
    const most = FIXED + strings * WORST;
    if (this.used + most > this.size) {
      if (this.used) this.send();
      if (most > this.size) return this.line(verdictJson(line, x, time, committed));
    }
    this.raw('{"line":');
    this.num(line);
    if (committed !== undefined) this.raw(',"committed":true');
    this.raw(',"kind":');
    this.str(x.kind);
    this.raw(',"program":');
    this.str(x.program);
    if (x.pid !== undefined) {
      this.raw(',"pid":');
      this.num(x.pid);
    }
    this.optStr(',"time":', time);
    this.optStr(',"user":', x.user);
    this.optStr(',"src":', x.src);
    if (x.port !== undefined) {
      this.raw(',"port":');
      this.num(x.port);
    }
    this.optStr(',"service":', x.service);
    this.optStr(',"method":', x.method);
    if (x.invalidUser) this.raw(',"invalid_user":true');
    this.optStr(',"target":', x.target);
    this.optStr(',"detail":', x.detail);
    this.optStr(',"level":', x.level);
    if (x.counts !== undefined) this.raw(x.counts ? ',"counts":true' : ',"counts":false');
    if (x.deferred) this.raw(',"held":true');
    if (x.repeat > 1) {
      this.raw(',"repeat":');
      this.num(x.repeat);
    }
    this.buf[this.used++] = 125; // }
    this.buf[this.used++] = 10;
  }

  /** Text known to be ASCII and to need no escaping (member names, numbers JavaScript wrote). */
  private raw(s: string): void {
    const b = this.buf;
    let p = this.used;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.used = p;
  }

  private optStr(name: string, s: string | undefined): void {
    if (s === undefined) return;
    this.raw(name);
    this.str(s);
  }

  /** A JSON string: printable ASCII byte by byte; anything else (escapes, UTF-8) as JSON.stringify writes it. */
  private str(s: string): void {
    const b = this.buf;
    const start = this.used;
    let p = start;
    b[p++] = 34;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) {
        this.used = start + b.write(JSON.stringify(s), start);
        return;
      }
      b[p++] = c;
    }
    b[p++] = 34;
    this.used = p;
  }

  /** A number as JSON.stringify writes it: small non-negative integers digit by digit. */
  private num(n: number): void {
    if (!(n >= 0 && n <= 0x7fffffff && (n | 0) === n)) return this.raw(Number.isFinite(n) ? `${n}` : 'null');
    let digits = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
    const b = this.buf;
    let p = this.used + digits;
    this.used = p;
    do {
      b[--p] = 48 + (n % 10);
      n = (n / 10) | 0;
    } while (n > 0);
  }
}
