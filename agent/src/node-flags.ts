// The Node/V8 options the agent is shipped with, in one place: the systemd unit that
// runs `node <bundle>` (service/command.ts currentExec), the single executable's SEA
// config (deploy/build/sea.ts, "execArgv", which the Windows service wrapper and
// install.sh's executable inherit) and bench:agent all take them from here.
// An always-on agent does a few milliseconds of work every ten seconds; these trade
// peak speed it does not need for memory (bench:agent, bundle, RSS max: none 87 MiB,
// semi-space 82 MiB, both 72 MiB):
//   --max-semi-space-size=1  young generation of 1 MiB semi-spaces instead of up to 16
//   --lite-mode              no optimising compiler, feedback allocated lazily
//   --no-flush-bytecode      keep the bytecode of functions that run once a cycle: seen
//                            from V8 they are old by the next cycle, were flushed and
//                            compiled again every ten seconds (bench:agent, two A/B runs:
//                            2.94 vs 3.07 and 2.92 vs 3.09 CPU ms per cycle, RSS unchanged)
//   --invocation-count-for-feedback-allocation=2
//                            inline caches for a function from its second call, not its
//                            eighth: a function that runs once a cycle otherwise runs
//                            without them for the agent's first ~80 s after each start;
//                            code run once at start-up still gets none (bench:agent, four
//                            A/B runs of 120-150 s: 1.83/1.96, 1.90/2.07, 1.80/1.89 and
//                            1.89/2.02 CPU ms per cycle, RSS max +0.1 MiB)
// Under Node 24 --lite-mode implies --jitless (no Sparkplug, regular expressions interpreted).
// Tried instead of it (bench:detect-live and bench:agent, 2026-12-07, docs/benchmarks.md):
// --max-opt=2 makes a busy auth log 1.8x cheaper but the idle agent 1.7 ms per cycle and
// 4 MiB dearer; --max-opt=1 and --max-opt=0 are in between, none as cheap idle as these.
// So auth_log's per-line path is written for the interpreter (auth_log/README.md, Cost):
// fewer pattern runs, iterators and allocations per line. Screened beside the shipped options
// (2026-12-08, the auth_log detector in process on bench:detect-live's log, three runs each,
// load 4-7): --no-lazy-feedback-allocation, --max-lazy, --no-optimize-for-size,
// --no-parallel-scavenge, --single-threaded-gc, --no-concurrent-marking and
// --max-semi-space-size=2: none clearly cheaper per line (the last two +6-8 MiB RSS);
// --no-regexp-interpret-all and --sparkplug are overridden by --lite-mode (--print-flag-values).
// Helper threads (bench:agent, 2026-12-08, issue 20; two copies of each beside two of these
// options, 240 s, load 9-13): --single-threaded-gc 6.75/6.84 against 6.89/6.93 CPU ms per
// cycle, --single-threaded --v8-pool-size=1 7.35/7.16 against 7.30/7.47: within the copies'
// spread; so were --max-semi-space-size=2 (7.10/6.99 against 7.15/7.45) and, with
// --min-semi-space-size=2, 6.99/6.87 against 6.75/7.22 (load 3-8).
// V8's workers take 0.07-0.33 ms a cycle (young-generation collections); between
// them the agent's only thread that runs is the main one, and it starts no libuv thread
// pool, so UV_THREADPOOL_SIZE changes nothing (docs/benchmarks.md, wake-ups per cycle).
// --lite-mode also leaves out WebAssembly, and so fetch (undici's HTTP parser is wasm):
// the agent uses node:http/https, and node-flags.test.ts fails if its code calls fetch.
export const AGENT_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--lite-mode',
  '--no-flush-bytecode',
  '--invocation-count-for-feedback-allocation=2',
];

// `canh-agent detect` is a batch job: it wants the optimising compiler that --lite-mode
// leaves out (bench:detect's 200,000-line auth log, the bundle, two runs on a loaded
// machine: 5.2 and 4.8 CPU s under the agent's options, 2.2 and 2.1 without), and a bounded
// heap so a large log does not make V8 grow it (1 GiB of log: RSS max 347 MiB with V8's
// defaults). The bundle's entry (deploy/build/agent-entry.ts) starts detect again with
// these when it finds itself under --lite-mode: by execve where the system has it (the
// process becomes detect, nothing waits beside it), else as a child process (Windows).
//   --max-semi-space-size=8  young generation of 8 MiB semi-spaces (V8's default grows to 16):
//                            the aggregator's state is remade per failure and survives a
//                            scavenge or two, so each scavenge costs about the same whatever
//                            its size; with 2 MiB, 1,000,000 generated lines took 876
//                            scavenges (1.0 s of CPU, --trace-gc) and 12 mark-compacts
//                            (0.34 s), with 8 MiB 225 (0.30 s) and 6 (0.05 s): detect's CPU
//                            -15 % (median of three alternating runs), RSS max +10 MiB
//   --max-old-space-size=64  V8 collects instead of growing the old generation past 64 MiB;
//                            detect's state is bounded (sessions, sources, memos) and needs
//                            ~20 MiB at its peak on the generated log
// Tried, not kept (2026-12-08, load 7-12): --min-semi-space-size=8 (the young generation at
// 8 MiB from the start: 52 -> 43 scavenges on 200,000 lines, but CPU within the noise in six
// alternating runs, and +2 % instructions on 50,000 lines, callgrind); --single-threaded-gc
// (dearer in two of three runs); --invocation-count-for-turbofan=1000 with and without
// --invocation-count-for-maglev=100, and --no-maglev (200,000 lines, four alternating runs at
// load 6-8: medians 1.46, 1.43 and 1.47 CPU s against 1.35 with these). Start-up is cut
// elsewhere: agent-entry.ts gives the second process Node's compile cache.
export const DETECT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--max-old-space-size=64'];
