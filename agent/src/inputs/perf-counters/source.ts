// The one performance-counter reader of a Windows agent: a single `typeperf <paths> -si N`
// kept running, shared by the host inputs (cpu, mem, swap, disk, diskio, net, system,
// processes), so a gather starts no process. Each input says which counters it wants
// (want), and reads the samples that arrived since its last gather (samplesSince).
// The child is restarted when it ends, with exponential backoff and jitter, and the
// restarts are counted (the agent reports them in its own point); it is also replaced
// every `refreshMs`, because typeperf expands "(*)" once, at start, and an adapter or
// disk that appears later is only seen by a new run.
import type { Logger } from 'pino';
import type { ExecOptions, ExecResult, LongProcess } from '../types.ts';
import { localPath, nameTablesArgs, parseNameTables, requestKey, valueKey, type CounterRequest, type NameTables } from './names.ts';
import { parseHeader, parseRow, type Column } from './typeperf.ts';

export interface Sample {
  /** Increases by one per row, across runs. */
  seq: number;
  /** When typeperf took it (UTC ms), if its time column could be read. */
  time: number | undefined;
  /** Seconds this sample covers (since the previous row of the same run; the interval for a run's first). */
  dt: number;
  /** valueKey(object, instance, counter) in English names → value; blanks are absent. */
  values: Map<string, number>;
  /** English object name → instances that have at least one value in this sample. */
  instances: Map<string, string[]>;
}

export function sampleValue(s: Sample, object: string, instance: string | undefined, counter: string): number | undefined {
  return s.values.get(valueKey(object, instance, counter));
}

type StartProcess = (
  cmd: string,
  args: readonly string[],
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  onExit: (code: number | null, signal: string | null, error?: string) => void,
) => LongProcess;

export interface CounterSourceOptions {
  typeperf: string;
  powershell: string;
  /** Sample interval, ms (whole seconds for typeperf, at least 1). */
  intervalMs: number;
  /** Replace the running child this often to pick up new instances; 0 = never. */
  refreshMs: number;
  /** Gathers fall on multiples of the interval: start typeperf half an interval off them. */
  aligned?: boolean;
  startProcess: StartProcess;
  exec: (cmd: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;
  now: () => number;
  log: Logger;
}

const RING = 64;
const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 5 * 60_000;
const MAX_TEXT = 4096;

interface Run {
  proc: LongProcess | undefined;
  startedAt: number;
  requests: { req: CounterRequest; object: string; counter: string }[];
  keys: (string | undefined)[] | undefined;
  width: number;
  bias: number | undefined;
  lastLocal: number | undefined;
  rows: number;
  /** When its last row (or its start) was seen, by the agent's clock. */
  lastRowAt: number;
  text: string;
  superseded: boolean;
}

/** Which request each header column answers: by position when the columns group as asked, else by (local) name. */
export function mapColumns(columns: readonly Column[], requests: Run['requests']): (string | undefined)[] {
  const runs: { object: string; counter: string; from: number; to: number }[] = [];
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const last = runs.at(-1);
    if (last && last.object === c.object && last.counter === c.counter) last.to = i + 1;
    else runs.push({ object: c.object, counter: c.counter, from: i, to: i + 1 });
  }
  const keys: (string | undefined)[] = new Array(columns.length).fill(undefined);
  const named = (run: { object: string; counter: string }, q: Run['requests'][number]) =>
    q.object.toLowerCase() === run.object.toLowerCase() && q.counter.toLowerCase() === run.counter.toLowerCase();
  // By position only where the names, when they can be read at all, do not say otherwise.
  const positional =
    runs.length === requests.length &&
    runs.every((r, i) => (requests[i]!.req.instance === '*' || r.to - r.from === 1) && (named(r, requests[i]!) || !requests.some((q) => named(r, q))));
  for (let ri = 0; ri < runs.length; ri++) {
    const run = runs[ri]!;
    const match = positional ? requests[ri] : requests.find((q) => named(run, q));
    if (!match) continue;
    for (let i = run.from; i < run.to; i++)
      keys[i] = valueKey(match.req.object, match.req.instance === undefined ? undefined : columns[i]!.instance, match.req.counter);
  }
  return keys;
}

export class CounterSource {
  private readonly o: CounterSourceOptions;
  private readonly wanted = new Map<string, CounterRequest>();
  private run: Run | undefined;
  private readonly ring: Sample[] = [];
  private seq = 0;
  private stopped = false;
  private starting = false;
  private startTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private names: NameTables | undefined;
  private namesTried = false;
  private waiters: (() => void)[] = [];
  /** Times the child ended or could not start and was started again. */
  restarts = 0;
  /** Rows (or header columns) that could not be read. */
  unparsed = 0;

  constructor(opts: CounterSourceOptions) {
    this.o = { ...opts, intervalMs: Math.max(1000, Math.round(opts.intervalMs / 1000) * 1000) };
  }

  get intervalMs(): number {
    return this.o.intervalMs;
  }

  /** The newest sample's number: an input created now reads the samples after it (older ones may lack its counters). */
  get latestSeq(): number {
    return this.seq;
  }

  /** Add counters to read; a running child that lacks some is replaced (start-up only, in practice). */
  want(requests: readonly CounterRequest[]): void {
    let grew = false;
    for (const r of requests) {
      const k = requestKey(r);
      if (!this.wanted.has(k)) {
        this.wanted.set(k, r);
        grew = true;
      }
    }
    if (!grew || this.stopped) return;
    if (this.run) this.replace();
    else this.schedule(0);
  }

  /** Samples taken after `seq` (oldest first); also replaces a child due for refresh, or silent too long. */
  samplesSince(seq: number): Sample[] {
    this.checkRefresh();
    const out: Sample[] = [];
    for (const s of this.ring) if (s.seq > seq) out.push(s);
    return out;
  }

  /**
   * Resolves true once a sample after `seq` exists; false after timeoutMs, or as soon as
   * typeperf has ended without ever printing a row (nothing will come soon).
   */
  async waitForSample(seq: number, timeoutMs: number): Promise<boolean> {
    if (this.ring.some((s) => s.seq > seq)) return true;
    if (this.failedWithoutRows()) return false;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(ok);
      };
      const wake = () => {
        if (this.ring.some((s) => s.seq > seq)) done(true);
        else if (this.failedWithoutRows() || this.stopped) done(false);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.push(wake);
    });
  }

  private failedWithoutRows(): boolean {
    return this.restarts > 0 && this.seq === 0;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    this.startTimer = undefined;
    if (this.run) this.run.superseded = true;
    this.run?.proc?.kill();
    this.run = undefined;
    for (const w of [...this.waiters]) w();
  }

  private checkRefresh(): void {
    const r = this.run;
    if (!r || r.superseded) return;
    const now = this.o.now();
    // Running but silent (hung, or its output stuck): replaced, and counted as a restart.
    const silentFor = now - r.lastRowAt;
    if (silentFor > Math.max(5 * this.o.intervalMs, 60_000)) {
      this.restarts++;
      this.o.log.warn(
        { code: 'CANH_ERR_WINCOUNTERS_EXITED', silent_ms: silentFor, rows: r.rows, restarts: this.restarts },
        'typeperf printed no row for too long; starting it again',
      );
      this.replace();
      return;
    }
    if (this.o.refreshMs > 0 && r.rows > 0 && now - r.startedAt >= this.o.refreshMs) this.replace();
  }

  private replace(): void {
    if (this.run) {
      this.run.superseded = true;
      this.run.proc?.kill();
      this.run = undefined;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.startTimer || this.starting) return;
    this.startTimer = setTimeout(() => {
      this.startTimer = undefined;
      void this.start();
    }, delayMs);
    this.startTimer.unref?.();
  }

  private async loadNames(): Promise<void> {
    if (this.names || this.namesTried) return;
    this.namesTried = true;
    const r = await this.o.exec(this.o.powershell, nameTablesArgs(), { timeoutMs: 60_000 });
    const tables = r.code === 0 ? parseNameTables(r.stdout) : undefined;
    if (tables && tables.english.size > 0 && tables.local.size > 0) {
      this.names = tables;
      return;
    }
    this.o.log.warn(
      { code: 'CANH_ERR_WINCOUNTERS_NAMES', exit: r.code, timedOut: r.timedOut, stderr: r.stderr.slice(0, 300) },
      'could not read the counter names of this Windows language from the registry (Perflib); asking typeperf for the English names, which only an English Windows knows',
    );
  }

  private async start(): Promise<void> {
    if (this.stopped || this.run || this.starting) return;
    this.starting = true;
    try {
      await this.loadNames();
    } finally {
      this.starting = false;
    }
    if (this.stopped || this.run || this.wanted.size === 0) return;
    // Aligned gathers fall on multiples of the interval: typeperf is started half an
    // interval off them, so its rows arrive between gathers, not racing them.
    if (this.o.aligned && this.seq === 0 && !this.startTimer) {
      const i = this.o.intervalMs;
      const wait = (i / 2 - (this.o.now() % i) + i) % i;
      if (wait > 50) {
        this.startTimer = setTimeout(() => {
          this.startTimer = undefined;
          this.spawn();
        }, wait);
        this.startTimer.unref?.();
        return;
      }
    }
    this.spawn();
  }

  private spawn(): void {
    if (this.stopped || this.run) return;
    const requests = [...this.wanted.values()].map((req) => ({ req, ...localPath(this.names, req) }));
    const run: Run = {
      proc: undefined,
      startedAt: this.o.now(),
      requests,
      keys: undefined,
      width: 0,
      bias: undefined,
      lastLocal: undefined,
      rows: 0,
      lastRowAt: this.o.now(),
      text: '',
      superseded: false,
    };
    this.run = run;
    const args = [...requests.map((r) => r.path), '-si', String(this.o.intervalMs / 1000)];
    run.proc = this.o.startProcess(
      this.o.typeperf,
      args,
      (line) => this.onLine(run, line),
      (code, signal, error) => this.onExit(run, code, signal, error),
    );
  }

  private onLine(run: Run, line: string): void {
    if (run.superseded) return;
    if (!run.keys) {
      const h = line.startsWith('"') ? parseHeader(line) : undefined;
      if (!h) {
        if (line.trim() && run.text.length < MAX_TEXT) run.text += `${line.trim()}\n`;
        return;
      }
      run.keys = mapColumns(h.columns, run.requests);
      run.width = h.columns.length;
      run.bias = h.biasMinutes;
      const unmapped = run.keys.filter((k) => k === undefined).length;
      if (unmapped) {
        this.unparsed += unmapped;
        this.o.log.warn(
          { code: 'CANH_ERR_WINCOUNTERS_COLUMNS', unmapped, columns: run.width },
          'typeperf printed counter columns that match no requested counter; they are ignored',
        );
      }
      return;
    }
    if (!line.startsWith('"')) {
      if (line.trim() && run.text.length < MAX_TEXT) run.text += `${line.trim()}\n`;
      return;
    }
    const row = parseRow(line, run.width, run.bias);
    if (!row) {
      // Counted in the agent point's unparsed_lines; the first of a run is logged.
      if (this.unparsed++ === 0 || run.rows === 0)
        this.o.log.warn(
          { code: 'CANH_ERR_WINCOUNTERS_COLUMNS', line: line.slice(0, 200), columns: run.width },
          'a typeperf row does not match its header; skipped',
        );
      return;
    }
    const interval = this.o.intervalMs / 1000;
    let dt = interval;
    if (row.local !== undefined && run.lastLocal !== undefined) {
      const d = (row.local - run.lastLocal) / 1000;
      // A step of the host's clock (or a daylight-saving change) between two rows is no
      // interval: the nominal one stands in.
      if (d > 0 && d <= 10 * interval) dt = d;
    }
    if (row.local !== undefined) run.lastLocal = row.local;
    const values = new Map<string, number>();
    const instances = new Map<string, string[]>();
    for (let i = 0; i < run.width; i++) {
      const v = row.values[i];
      const key = run.keys[i];
      if (v === undefined || key === undefined) continue;
      values.set(key, v);
      const [object, instance] = key.split('\u0000') as [string, string];
      if (!instance) continue;
      const list = instances.get(object);
      if (!list) instances.set(object, [instance]);
      else if (list.at(-1) !== instance && !list.includes(instance)) list.push(instance);
    }
    run.rows++;
    run.lastRowAt = this.o.now();
    this.failures = 0;
    this.ring.push({ seq: ++this.seq, time: row.time, dt, values, instances });
    if (this.ring.length > RING) this.ring.shift();
    for (const w of [...this.waiters]) w();
  }

  private onExit(run: Run, code: number | null, signal: string | null, error?: string): void {
    if (run.superseded || this.stopped) return;
    this.run = undefined;
    this.restarts++;
    const delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** this.failures) * (0.8 + 0.4 * Math.random());
    this.failures++;
    // A run that never printed a row may have failed on the names: ask the registry again.
    if (run.rows === 0) this.namesTried = false;
    this.o.log.warn(
      {
        code: 'CANH_ERR_WINCOUNTERS_EXITED',
        exit: code,
        signal,
        error,
        rows: run.rows,
        output: run.text.slice(-500),
        restarts: this.restarts,
        retry_ms: Math.round(delay),
      },
      `typeperf (${this.o.typeperf}) ended; starting it again in ${Math.round(delay / 1000)} s. Host inputs send nothing meanwhile`,
    );
    this.schedule(delay);
    for (const w of [...this.waiters]) w();
  }
}
