// Entry point of the single-file agent bundle (dist/canh-agent.cjs) and of the single
// executable built from it. The bundle is CommonJS because Node's SEA runs only a CJS
// main, where import.meta.main does not exist: so cli.ts's own start-up block is
// defined away at build time and this file starts the CLI instead.
// The long-running `run` leaves zod and yaml out of its memory (agent/src/zod-mode.ts):
// that is decided here, before the CLI and everything it imports are loaded (the dynamic
// import below makes esbuild evaluate them only then).
import { isDetectCommand, isRunCommand } from '../../agent/src/cli-options.ts';
import { leaveZodOut } from '../../agent/src/zod-mode.ts';
import { DETECT_NODE_FLAGS } from '../../agent/src/node-flags.ts';
import { isSea } from 'node:sea';
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

const argv = process.argv.slice(2);
// CANH_AGENT_IN_PROCESS_CONFIG=1 validates in this process, as the source runs do.
if (isRunCommand(argv) && process.env.CANH_AGENT_IN_PROCESS_CONFIG !== '1') leaveZodOut();

// The Windows service wrapper (deploy/windows/CanhAgentService.cs) cannot send a signal
// to a child process; it closes the agent's standard input instead. Turning that into
// the SIGTERM the CLI already waits for gives the agent its orderly stop (flush, spool).
if (process.env.CANH_AGENT_STOP_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.emit('SIGTERM'));
  process.stdin.on('error', () => process.emit('SIGTERM'));
  process.stdin.resume();
}

// `detect` under the agent's --lite-mode: started again without it (node-flags.ts).
if (isDetectCommand(argv) && process.execArgv.includes('--lite-mode') && process.env.CANH_AGENT_DETECT_CHILD !== '1') relaunchDetect(argv);
else start();

function relaunchDetect(args: string[]): void {
  const flags = ['--no-lite-mode', ...DETECT_NODE_FLAGS];
  // A single executable takes Node options only through --node-options (sea.ts: execArgvExtension
  // "cli"). Its code cache was made under the agent's options, so V8 rejects it under these and
  // Node would say so on stderr (a generic "Warning"; deprecations still show).
  const nodeArgs = isSea() ? [`--node-options=${[...flags, '--disable-warning=Warning'].join(' ')}`, ...args] : [...flags, process.argv[1]!, ...args];
  const env: NodeJS.ProcessEnv = { ...process.env, CANH_AGENT_DETECT_CHILD: '1' };
  // A single executable's main script is not a file: Node's compile cache does not apply to it.
  const cache = isSea() ? undefined : compileCacheDir(env);
  if (cache) env.NODE_COMPILE_CACHE = cache;
  // Where the system has execve (not Windows), this process becomes detect: no second process
  // waits beside it, and its output, exit code and signals need no passing on.
  if (process.execve) {
    try {
      process.execve(process.execPath, [process.execPath, ...nodeArgs], env);
    } catch {
      // Not replaced (the executable could not be run again): started beside it, as on Windows.
    }
  }
  void spawnDetect(nodeArgs, env);
}

/**
 * A folder for Node's on-disk compile cache (NODE_COMPILE_CACHE) of the detect process: V8's
 * code for the bundle is then read from it instead of parsed and compiled at each start
 * (bench:detect, docs/benchmarks.md: the detect process on an empty log 477 M instructions
 * without it, 338 M with it; ~30 ms of CPU in alternating runs). $XDG_CACHE_HOME/canh-agent or
 * ~/.cache/canh-agent, and only if this user alone can write to it and its parent: the cache
 * is code this process runs, so a folder someone else can write to (sudo keeping another
 * user's HOME, a shared folder) is not used. None on Windows (no owner to check this way),
 * and none where the caller set NODE_COMPILE_CACHE or NODE_DISABLE_COMPILE_CACHE itself.
 */
function compileCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (process.platform === 'win32' || env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return undefined;
  try {
    const xdg = env.XDG_CACHE_HOME;
    const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
    const dir = join(base, 'canh-agent');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const uid = process.getuid!();
    // The folder itself not through a link (lstat); its parent may be one (a moved ~/.cache).
    const ownWritable = (p: string, owners: number[], follow: boolean) => {
      const st = follow ? statSync(p) : lstatSync(p);
      return st.isDirectory() && owners.includes(st.uid) && (st.mode & 0o022) === 0;
    };
    return ownWritable(dir, [uid], false) && ownWritable(base, [uid, 0], true) ? dir : undefined;
  } catch {
    return undefined; // no home, read-only: detect runs without the cache
  }
}

/** detect in a second process, this one passing on its signals and exit code (loaded only here: start-up counts in a short run). */
async function spawnDetect(nodeArgs: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [{ spawn }, { constants: osConstants }] = await Promise.all([import('node:child_process'), import('node:os')]);
  const child = spawn(process.execPath, nodeArgs, { stdio: 'inherit', env });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    process.stderr.write(`canh-agent: cannot start detect (${err.message})\n`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1);
  });
}

function start(): void {
  void Promise.all([import('../../agent/src/cli.ts'), import('@canh/core/errors')]).then(([{ main }, { CanhError }]) =>
    main(argv).then(
      (code) => {
        process.exitCode = code;
        if (process.env.CANH_AGENT_STOP_ON_STDIN_EOF === '1') process.stdin.destroy();
      },
      (err: unknown) => {
        if (err instanceof CanhError) process.stderr.write(`canh-agent: ${err.message}\n(${err.code})\n`);
        else process.stderr.write(`canh-agent: ${(err as Error).stack ?? String(err)}\n`);
        process.exitCode = 1;
      },
    ),
  );
}
