// Child processes for integration tests: output captured into a ring buffer of lines,
// waitForLine(), stop with SIGTERM then SIGKILL, and no orphans. A child is killed when
// this process exits normally ('exit' handler) and, on Linux, also when it dies hard
// (SIGKILL, crash): we start it through `setpriv --pdeathsig KILL`, so the kernel kills
// the child when the thread that spawned it goes away.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

export interface SpawnOptions {
  /** Shown in error messages; defaults to the command's base name. */
  name?: string;
  cwd?: string;
  /** Merged over process.env unless `cleanEnv` is set. */
  env?: Record<string, string | undefined>;
  cleanEnv?: boolean;
  /** How many output lines to keep (stdout and stderr together). Default 500. */
  ringSize?: number;
  /** Ask the kernel to kill the child if we die (default true where setpriv exists). */
  pdeathsig?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

const live = new Set<ManagedProcess>();
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Only synchronous work is possible here; SIGKILL needs no waiting.
  process.on('exit', () => {
    for (const p of live) p.killSync();
    for (const fn of exitCleanups) {
      try {
        fn();
      } catch {
        // best effort: the process is going away
      }
    }
  });
}

/**
 * Run `fn` (synchronous, e.g. removing a temp dir) when this process exits, after live
 * children have been sent SIGKILL. Returns a function that unregisters it.
 */
export function onExitSync(fn: () => void): () => void {
  installExitHook();
  exitCleanups.add(fn);
  return () => exitCleanups.delete(fn);
}

/** Remove `dir` on stop and, if a test dies before stopping, at process exit. */
export function tempDirCleanup(dir: string, keep: boolean): () => void {
  const remove = (): void => {
    if (!keep) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const unregister = onExitSync(remove);
  return () => {
    unregister();
    remove();
  };
}

const SETPRIV = '/usr/bin/setpriv';
const haveSetpriv = process.platform === 'linux' && existsSync(SETPRIV);

export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves once the child has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  private readonly ring: OutputLine[] = [];
  private readonly ringSize: number;
  private readonly partial = { stdout: '', stderr: '' };
  private readonly lineListeners = new Set<(l: OutputLine) => void>();
  private exitInfo: ExitInfo | undefined;
  private stopping: Promise<ExitInfo> | undefined;
  private spawnError: Error | undefined;

  constructor(command: string, args: readonly string[], opts: SpawnOptions = {}) {
    this.name = opts.name ?? command.split('/').pop() ?? command;
    this.ringSize = opts.ringSize ?? 500;
    const env = opts.cleanEnv ? { ...opts.env } : { ...process.env, ...opts.env };
    const usePdeathsig = (opts.pdeathsig ?? true) && haveSetpriv;
    const [cmd, argv] = usePdeathsig ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
    this.child = spawn(cmd, argv, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('error', (err) => {
        // spawn failure (ENOENT etc.): there is no process to wait for.
        this.spawnError = err;
        this.exitInfo ??= { code: null, signal: null };
        live.delete(this);
        resolve(this.exitInfo);
      });
      this.child.once('close', (code, signal) => {
        this.flushPartial();
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      const s = this.child[stream];
      s?.setEncoding('utf8');
      s?.on('data', (chunk: string) => this.onData(stream, chunk));
    }
    live.add(this);
    installExitHook();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Set once the process has exited. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last `n` captured lines (default all kept), oldest first. */
  tail(n = this.ringSize): string[] {
    return this.ring.slice(-n).map((l) => l.line);
  }

  /** A short description for error messages: exit status and the last output lines. */
  describe(n = 20): string {
    const status = this.spawnError
      ? `failed to start: ${this.spawnError.message}`
      : this.exitInfo
        ? `exited with ${this.exitInfo.signal ? `signal ${this.exitInfo.signal}` : `code ${this.exitInfo.code}`}`
        : `running (pid ${this.pid})`;
    const lines = this.tail(n);
    return `${this.name} ${status}${lines.length ? `; last output:\n  ${lines.join('\n  ')}` : '; no output'}`;
  }

  /** Resolve with the first captured line (already seen or future) matching `re`. */
  waitForLine(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.ring.find((l) => re.test(l.line));
    if (seen) return Promise.resolve(seen.line);
    return new Promise<string>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.lineListeners.delete(onLine);
      };
      const onLine = (l: OutputLine): void => {
        if (re.test(l.line)) {
          done();
          resolve(l.line);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no output line matching ${re} within ${timeoutMs} ms; ${this.describe()}`));
      }, timeoutMs);
      this.lineListeners.add(onLine);
      void this.exited.then(() => {
        if (!this.lineListeners.has(onLine)) return;
        done();
        reject(new Error(`${this.name}: exited before printing a line matching ${re}; ${this.describe()}`));
      });
    });
  }

  /**
   * SIGTERM, then SIGKILL if still alive after `graceMs`. Safe to call more than once
   * and after the process has already exited; resolves with how it exited.
   */
  stop(graceMs = 5_000): Promise<ExitInfo> {
    this.stopping ??= (async () => {
      if (!this.running) return this.exited;
      this.signal('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.signal('SIGKILL');
          resolve();
        }, graceMs);
      });
      await Promise.race([this.exited, killed]);
      clearTimeout(timer);
      return this.exited;
    })();
    return this.stopping;
  }

  /** SIGKILL, no grace, and wait for the exit (simulates a crash). */
  async kill9(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.exited;
  }

  /** Send a signal if the process is still running. */
  signal(sig: NodeJS.Signals): void {
    if (this.running && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, sig);
      } catch {
        // already gone (ESRCH): the 'close' event will follow
      }
    }
  }

  /** @internal used by the exit hook */
  killSync(): void {
    this.signal('SIGKILL');
  }

  private onData(stream: 'stdout' | 'stderr', chunk: string): void {
    const text = this.partial[stream] + chunk;
    const parts = text.split(/\r?\n/);
    this.partial[stream] = parts.pop() ?? '';
    for (const line of parts) this.push({ stream, line });
  }

  private flushPartial(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.push({ stream, line: this.partial[stream] });
      this.partial[stream] = '';
    }
  }

  private push(l: OutputLine): void {
    this.ring.push(l);
    if (this.ring.length > this.ringSize) this.ring.splice(0, this.ring.length - this.ringSize);
    for (const fn of [...this.lineListeners]) fn(l);
  }
}

/** Start a child process with captured output (see ManagedProcess). */
export function spawnManaged(command: string, args: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  return new ManagedProcess(command, args, opts);
}

/** Poll `check` until it returns a value other than undefined, or throw after `timeoutMs`. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  opts: {
    timeoutMs: number;
    intervalMs?: number;
    what: string;
    /** Extra detail for the timeout error (e.g. a process's last output). */
    onTimeout?: () => string;
    /** Give up at once when this returns a reason (e.g. the server process has exited). */
    abortIf?: () => string | undefined;
  },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    const abort = opts.abortIf?.();
    if (abort !== undefined) throw new Error(`gave up waiting for ${opts.what}: ${abort}`);
    if (Date.now() >= deadline) {
      const extra = opts.onTimeout?.() ?? '';
      const why = lastErr instanceof Error ? `; last error: ${lastErr.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${why}${extra ? `; ${extra}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
