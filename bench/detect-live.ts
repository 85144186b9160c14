// bench:detect-live — issue 21's live comparison: bench:detect's generated auth log (sshd
// PAM + `Failed`, invalid users, pre-auth closes, postfix SASL, dovecot, vsftpd PAM,
// logins, cron noise; ~60 % failures from many addresses) appended at a steady rate to a
// file followed at the same time by
//   (a) canh-agent `run` as shipped (the bundle `npm run build:agent` makes, built now,
//       run with its shipped Node options), only the auth_log detector, reporting to a
//       real collector and InfluxDB; and
//   (b) Debian's fail2ban-server with the sshd, postfix-sasl, dovecot and vsftpd jails on
//       that file, polling backend, a private config dir, socket, pidfile and database
//       under a temp dir, and a ban action that only appends the address to a file (the
//       host's fail2ban and firewall are never touched).
// maxretry/findtime = Canh's threshold/window (5 in 10 minutes). For each: lines/s, CPU
// (utime+stime from /proc/<pid>/stat from just before the first append to the moment it
// has reported the log's end markers), CPU ms per 1,000 lines, lines per CPU-second, RSS;
// the ratio (target: Canh ≥ 10× fail2ban-server's lines per CPU-second); the attacking
// addresses each found (Canh's brute_force events' src_ip, fail2ban's bans), each
// difference explained by address.
//
// Env: BENCH_LIVE_RATE (2000 lines/s), BENCH_LIVE_SECONDS (60), BENCH_LIVE_AGENT (bundle |
// source | path/to/canh-agent.cjs), BENCH_LIVE_NODE_FLAGS (instead of the shipped Node options, e.g. "" for
// none: what they cost under a sustained log), BENCH_LIVE_F2B_BACKEND (polling; pyinotify when
// python3-pyinotify is installed), BENCH_LIVE_F2B_LOGLEVEL (INFO, Debian's default: one
// log line per failure found), BENCH_LIVE_DRAIN_S (300), BENCH_LIVE_CUT (1: the log cut at rate × seconds as
// bench:detect cuts it, bursts left short, so the two differ on those), BENCH_DETECT_KEEP (keep the temp dir).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDetectLive, type FollowerResult, type LiveResult } from './lib/detect-live.ts';
import { explain } from './lib/live-log.ts';
import { fail2banMissing, fail2banVersion } from './lib/fail2ban-server.ts';
import { envInt, finish, fmt, MiB } from './lib/proc.ts';

const RATE = envInt('BENCH_LIVE_RATE', 2000);
const SECONDS = envInt('BENCH_LIVE_SECONDS', 60);
const THRESHOLD = 5;
const WINDOW_S = 600;
const TARGET_RATIO = 10;

const perCpuS = (r: FollowerResult, lines: number) => (lines * 1000) / Math.max(r.cpuMs, 1);

function followerLine(r: FollowerResult, lines: number): string {
  return (
    `${r.name.padEnd(16)} ${fmt(lines / r.wallS).padStart(7)} lines/s (append to end reported; ${r.lagS.toFixed(1)} s after the last append)  ` +
    `CPU ${fmt(r.cpuMs)} ms: ${((r.cpuMs * 1000) / lines).toFixed(2)} ms per 1,000 lines, ${fmt(perCpuS(r, lines))} lines per CPU-s  ` +
    `children ${fmt(r.childrenCpuMs)} ms  RSS max ${(r.rssMaxBytes / MiB).toFixed(1)} MiB (end ${(r.rssEndBytes / MiB).toFixed(1)})`
  );
}

function addressLines(res: LiveResult): { lines: string[]; same: boolean } {
  const { canh, fail2ban, log } = res;
  const onlyF2b = [...fail2ban.found].filter((a) => !canh.found.has(a)).sort();
  const onlyCanh = [...canh.found].filter((a) => !fail2ban.found.has(a)).sort();
  const neither = [...log.attackers].filter((a) => !canh.found.has(a) && !fail2ban.found.has(a));
  const out = [
    `attacking addresses: generated ${log.attackers.size} (${res.cut ? 'the log cut in the middle of bursts: some have fewer than 5 attempts' : 'every burst whole, 6-12 attempts'}), canh ${canh.found.size}, fail2ban ${fail2ban.found.size}, both ${[...canh.found].filter((a) => fail2ban.found.has(a)).length}`,
    `  found by fail2ban only: ${onlyF2b.length}`,
    ...onlyF2b.slice(0, 20).map((a) => `    ${a} (jail ${fail2ban.via.get(a)}): ${explain(log.byAddress.get(a), 'fail2ban', THRESHOLD)}`),
    `  found by canh only: ${onlyCanh.length}`,
    ...onlyCanh.slice(0, 20).map((a) => `    ${a} (service ${canh.via.get(a)}): ${explain(log.byAddress.get(a), 'canh', THRESHOLD)}`),
    `  generated but found by neither: ${neither.length}${neither.length ? ` (${neither.slice(0, 10).join(', ')})` : ''}`,
  ];
  // A cut log leaves bursts below the threshold that neither must report.
  return { lines: out, same: onlyF2b.length === 0 && onlyCanh.length === 0 && (res.cut || neither.length === 0) };
}

async function main(): Promise<void> {
  const missing = fail2banMissing();
  if (missing) {
    console.error(`bench:detect-live needs Debian's fail2ban (fail2ban-server, /etc/fail2ban/filter.d): ${missing}`);
    console.log('RESULT bench:detect-live: could not run');
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'canh-bench-detect-live-'));
  let res: LiveResult;
  try {
    res = await runDetectLive({
      dir,
      rate: RATE,
      seconds: SECONDS,
      agent: process.env.BENCH_LIVE_AGENT || 'bundle',
      nodeFlags: process.env.BENCH_LIVE_NODE_FLAGS === undefined ? undefined : process.env.BENCH_LIVE_NODE_FLAGS.split(' ').filter(Boolean),
      threshold: THRESHOLD,
      windowS: WINDOW_S,
      f2bBackend: process.env.BENCH_LIVE_F2B_BACKEND || 'polling',
      f2bLoglevel: process.env.BENCH_LIVE_F2B_LOGLEVEL || 'INFO',
      drainTimeoutS: envInt('BENCH_LIVE_DRAIN_S', 300),
      cut: process.env.BENCH_LIVE_CUT === '1',
      log: (l) => console.log(`bench:detect-live: ${l}`),
    });
  } finally {
    if (!process.env.BENCH_DETECT_KEEP) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
  const { lines, canh, fail2ban } = res;
  const ratio = perCpuS(canh, lines) / perCpuS(fail2ban, lines);
  const threads = [...(fail2ban.threads ?? [])]
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([n, ms]) => `${n} ${fmt(ms)}`)
    .join(', ');
  const addr = addressLines(res);
  finish(
    'bench:detect-live',
    [
      `${fmt(lines)} lines appended at ${fmt(RATE)} lines/s in ${res.appendS.toFixed(1)} s (asked ${SECONDS} s plus the ends of open bursts and the markers), times stamped as appended, UTC`,
      `canh-agent: ${res.agentForm}; auth_log threshold ${THRESHOLD}, window ${WINDOW_S}s, from a real collector's InfluxDB`,
      `fail2ban-server ${fail2banVersion()}: jails sshd, postfix-sasl, dovecot, vsftpd on the same file, backend ${res.f2bBackend}, maxretry ${THRESHOLD}, findtime ${WINDOW_S}, loglevel ${process.env.BENCH_LIVE_F2B_LOGLEVEL || 'INFO'}`,
      followerLine(canh, lines),
      followerLine(fail2ban, lines),
      `  fail2ban-server by thread (CPU ms): ${threads}`,
      `lines per CPU-second canh/fail2ban-server: ${ratio.toFixed(1)}x (fail2ban needs ${ratio.toFixed(1)}x Canh's CPU for the same lines)`,
      ...addr.lines,
    ],
    [
      { what: `canh-agent ≥ ${TARGET_RATIO}x fail2ban-server's lines per CPU-second (${ratio.toFixed(1)}x)`, ok: ratio >= TARGET_RATIO },
      { what: `both find the same attacking addresses${res.cut ? '' : ', every generated one'}`, ok: addr.same },
    ],
  );
}

main().catch((err: unknown) => {
  console.error(err);
  console.log('RESULT bench:detect-live: could not run');
  process.exitCode = 2;
});
