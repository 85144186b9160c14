// The contract between the agent and each input or detector. An input is a folder
// with an index.ts exporting one `InputDefinition`; it gets the operating system
// through an `InputContext` so unit tests can feed it captured files and output.
import type { z } from 'zod';
import type { FieldValue, SecurityEventInput } from '@canh/protocol';
import type { Logger } from 'pino';
import type { CounterSource } from './perf-counters/source.ts';

export interface PointOptions {
  /** Fields that are integers (InfluxDB keeps int and float apart). */
  int?: readonly string[];
  /** Measurement time in ms; defaults to the time the gather started. */
  time?: number;
}

export interface Accumulator {
  addPoint(name: string, tags: Record<string, string>, fields: Record<string, FieldValue>, opts?: PointOptions): void;
  /** Detector events; `time` and `detector` are filled in when missing. */
  addEvent(event: Omit<SecurityEventInput, 'time' | 'detector'> & { time?: number; detector?: string }): void;
  /**
   * The spool holds so much the collector has not acked yet that a reader of a file that
   * keeps its data (a log followed from a saved position) should wait: its data is safe
   * where it is, and would otherwise push older data out of the bounded spool.
   */
  backlogged?(): boolean;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** A child process kept running by an input (a ping per target), read line by line. */
export interface LongProcess {
  readonly pid: number | undefined;
  /** SIGTERM; safe to call twice and after the process has ended. */
  kill(): void;
  /**
   * Started with `readOnDemand`: hand every complete line written since the last call to
   * onLine now (lines are not read as they arrive).
   */
  readOutput?(): void;
}

/** What an input may ask of the operating system. Real in production, fed in unit tests. */
/** What an input keeps across restarts, by name ("reboot/last_boot.json"); see agent/src/state.ts. */
export interface StateStore {
  /** The saved text, or undefined when nothing was saved under that name. */
  read(name: string): Promise<string | undefined>;
  /** Replace the saved text atomically (a crash leaves the old or the new, whole). */
  write(name: string, data: string): Promise<void>;
}

export interface ExecOptions {
  timeoutMs?: number;
  graceMs?: number;
  input?: string;
}

export interface InputContext {
  readFile(path: string): Promise<string>;
  /**
   * A file that lives in memory (procfs, sysfs, /run) read at once and synchronously, as
   * readFile reads it (one read per tick shared, descriptors kept); undefined for a path
   * elsewhere (use readFile). Throws as readFile rejects. The host inputs read their procfs
   * files with it every tick without a promise and a turn of the event loop per file.
   */
  readFileNow?(path: string): string | undefined;
  /** Raw bytes, for binary files such as utmp that UTF-8 decoding would corrupt. */
  readFileBytes?(path: string): Promise<Uint8Array>;
  /** Whether a file exists, without an error to build when it does not (utmp on a minimal host, every tick). */
  exists?(path: string): boolean;
  /**
   * A small sysfs attribute read every tick (an interface's `flags` and `speed`), at once and
   * synchronously; its descriptor may be kept open between calls while `generation` (what
   * the caller knows of which names mean which objects) stays the same. Throws as readFile
   * rejects.
   */
  readAttribute?(path: string, generation: string): string;
  readdir(path: string): Promise<string[]>;
  /**
   * Space of the filesystem mounted at path. `local`: the caller knows it is a local
   * filesystem (ext4, xfs...), whose statfs never waits on a network, so it may be done
   * without a round trip through the thread pool.
   */
  statfs(path: string, opts?: { local?: boolean }): Promise<{ bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }>;
  /**
   * Run a program to its end. After `timeoutMs` it is killed (SIGKILL), or, with
   * `graceMs`, first interrupted (SIGINT, so a program such as ping still prints its
   * summary) and killed only if it is still running `graceMs` later.
   */
  exec(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Start a long-running program; each line of its standard output and error goes to
   * onLine as it arrives, onExit once when it ends (code null: killed or never started).
   * `readOnDemand`: the output is kept (in an unnamed file) and its lines go to onLine
   * only when readOutput() is called, so a line printed between gathers does not wake
   * the agent; both streams then arrive as 'stdout'.
   */
  startProcess?(
    cmd: string,
    args: readonly string[],
    onLine: (line: string, stream: 'stdout' | 'stderr') => void,
    onExit: (code: number | null, signal: string | null, error?: string) => void,
    opts?: { readOnDemand?: boolean },
  ): LongProcess;
  /** How often the agent calls gather() for this input, ms; absent for one-off runs (check, tests). */
  intervalMs?: number;
  /**
   * Gathers fall on multiples of intervalMs of the wall clock (round_interval), but for
   * the first, which runs at start-up unless the first tick is less than half an interval away.
   */
  alignedGathers?: boolean;
  /** Wall clock in ms: for timestamps. */
  now(): number;
  /**
   * Monotonic clock in ms, for intervals (rates, uptimes, response times): a step of the
   * wall clock does not move it. Test contexts may leave it out; then now() stands in.
   */
  mono?(): number;
  /** Root of procfs and sysfs; "/proc" and "/sys" unless HOST_PROC/HOST_SYS say otherwise (containers). */
  procRoot: string;
  sysRoot: string;
  /** Folder where this input may keep state (baselines) across restarts. */
  stateDir: string;
  /** Small state kept across restarts by name, written atomically (agent/src/state.ts). */
  state: StateStore;
  hostname: string;
  log: Logger;
  /** The operating system the inputs measure; absent means process.platform (tests inject "win32"). */
  platform?: NodeJS.Platform;
  /** Windows: the one kept typeperf shared by the host inputs (perf-counters/source.ts). */
  perfCounters?: CounterSource;
  /** Physical memory in bytes (os.totalmem()): Windows has no performance counter for it. */
  totalMemory?(): number;
}

export interface Input {
  /** Called once per interval for polled inputs. A failed check is data, not a throw. */
  gather?(acc: Accumulator): Promise<void>;
  /** Service inputs (log followers, trap listeners) start here and push into acc. */
  start?(acc: Accumulator): Promise<void> | void;
  /** Safe to call twice; flushes what it holds. */
  stop?(): Promise<void> | void;
  /** Counters since start that the agent adds up over inputs into its own `agent` point (unparsed_lines). */
  selfCounters?(): { unparsed_lines?: number };
}

export interface InputDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  /** Platforms the input works on; absent means all. */
  platforms?: readonly NodeJS.Platform[];
  /** The input's own options (besides `type`, `interval`, `tags`), with defaults. */
  config: S;
  /** Whether a default config (`canh-agent` with no inputs listed) enables it. */
  enabledByDefault?: boolean;
  create(config: z.infer<S>, ctx: InputContext): Input;
}

/** Helper so each input's index.ts keeps its config type without casts. */
export function defineInput<S extends z.ZodObject>(def: InputDefinition<S>): InputDefinition<S> {
  return def;
}
