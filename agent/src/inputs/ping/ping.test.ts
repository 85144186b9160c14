// The ping input against captured outputs (one golden loop) and against the real iputils
// ping: loopback, an unknown name, and targets that a network namespace of our own makes
// unreachable (blackhole route) or silent (echo requests leave and nothing answers).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ping, { config, correctedPingInterval, keptInterval, pingArgs } from './index.ts';
import { PingSession, sessionStartAt, sessionStartDelay } from './session.ts';
import { parsePing, pingFields } from './parse.ts';
import { checkRecorder, readmeExample, realContext } from '../check-testing.ts';
import type { Input } from '../types.ts';
import { fakeContext } from '../testing.ts';

const dir = import.meta.dirname;
const cases = JSON.parse(readFileSync(join(dir, 'testdata', 'cases.json'), 'utf8')) as Record<string, { exit: number; fields: Record<string, unknown> }>;

describe('ping parse (captured outputs)', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const text = readFileSync(join(dir, 'testdata', `${name}.txt`), 'utf8');
      expect(pingFields(parsePing(text), c.exit).fields).toEqual(c.fields);
    });
  }

  it('detects the format', () => {
    const fmt = (n: string) => parsePing(readFileSync(join(dir, 'testdata', `${n}.txt`), 'utf8')).format;
    expect([fmt('iputils-ipv4-localhost'), fmt('busybox-ipv4-localhost'), fmt('windows-success')]).toEqual(['iputils', 'busybox', 'windows']);
  });

  it('turns garbage into a failed check, never NaN or strings', () => {
    for (const text of [
      '',
      '\u0000\u0001garbage',
      'time=abc ms',
      '3 packets transmitted, x received',
      'rtt min/avg/max/mdev = nan/nan/nan/nan ms',
      '99999999999999999999 packets transmitted, 1 received',
    ]) {
      const p = pingFields(parsePing(text), 2);
      expect(p.resultCode).toBe(2);
      expect(p.fields.percent_packet_loss).toBe(100);
      for (const v of Object.values(p.fields)) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('ignores duplicate replies in the RTT series', () => {
    const text =
      '64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=1.0 ms\n64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time=9.0 ms (DUP!)\n64 bytes from 10.0.0.1: icmp_seq=2 ttl=64 time=3.0 ms\n';
    expect(parsePing(text).rtts).toEqual([1, 3]);
  });
});

describe('ping config', () => {
  it('parses the README example', () => {
    expect(readmeExample(dir, ping)).toMatchObject({ urls: expect.any(Array) });
  });
  it('refuses a target that would be read as an option', () => {
    expect(config.safeParse({ urls: ['-f'] }).success).toBe(false);
    expect(config.safeParse({ urls: ['host name'] }).success).toBe(false);
    expect(config.safeParse({ urls: ['fe80::1%eth0', 'portal.example.gov.vn'] }).success).toBe(true);
  });
  it('refuses ipv4 and ipv6 together', () => {
    expect(config.safeParse({ urls: ['a'], ipv4: true, ipv6: true }).success).toBe(false);
  });
  it('builds iputils and Windows command lines', () => {
    const c = config.parse({ urls: ['h'], count: 3, ping_interval: '200ms', timeout: '2s', deadline: '5s', ipv6: true });
    expect(pingArgs(c, 'h', 'linux')).toEqual(['-c', '3', '-n', '-s', '16', '-i', '0.2', '-W', '2', '-6', 'h']);
    expect(pingArgs(c, 'h', 'win32')).toEqual(['-n', '3', '-w', '2000', '-l', '16', '-6', 'h']);
    const wrapped = config.parse({ urls: ['h'], binary: 'ip', binary_args: ['netns', 'exec', 'x', 'ping'], arguments: ['-c', '1'] });
    expect(pingArgs(wrapped, 'h', 'linux')).toEqual(['netns', 'exec', 'x', 'ping', '-c', '1', 'h']);
  });
});

async function gather(options: Record<string, unknown>) {
  const acc = checkRecorder();
  const input = ping.create(config.parse(options), realContext());
  const started = Date.now();
  await input.gather!(acc);
  return { acc, ms: Date.now() - started };
}

describe('ping (real iputils)', () => {
  it('pings 127.0.0.1 and ::1 concurrently', async () => {
    // ::1 works in this sandbox (net.ipv6.conf.all.disable_ipv6 = 0); where IPv6 is
    // disabled ping says "Cannot assign requested address" and this test fails loudly.
    const { acc } = await gather({ urls: ['127.0.0.1', '::1'], count: 3, ping_interval: '200ms' });
    for (const url of ['127.0.0.1', '::1']) {
      const p = acc.one({ url });
      expect(p.fields).toMatchObject({ result_code: 0, packets_transmitted: 3, packets_received: 3, percent_packet_loss: 0, ttl: 64 });
      expect(p.fields.average_response_ms).toBeGreaterThan(0);
      expect(p.fields.jitter_ms).toBeGreaterThanOrEqual(0);
      expect(p.int).toContain('packets_received');
    }
  });

  it('reports an unknown host as result_code 1 with 100% loss', async () => {
    const { acc } = await gather({ urls: ['no-such-host.invalid'] });
    expect(acc.one({ url: 'no-such-host.invalid' }).fields).toEqual({
      result_code: 1,
      packets_transmitted: 0,
      packets_received: 0,
      percent_packet_loss: 100,
    });
  });

  it('reports a missing ping binary as result_code 2, without throwing', async () => {
    const { acc } = await gather({ urls: ['127.0.0.1'], binary: '/nonexistent/ping' });
    expect(acc.one({ url: '127.0.0.1' }).fields).toMatchObject({ result_code: 2, percent_packet_loss: 100 });
  });
});

/** Our ping children now (the kept-running sessions), by pid. */
function pingChildren(): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    for (const c of readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      const comm = readFileSync(`/proc/${c}/comm`, 'utf8').trim();
      if (comm === 'ping') out.push(Number(c));
    }
  }
  return out;
}

/** Gathers every `intervalMs`, as the agent's scheduler does; `between` runs after each. */
async function gatherEvery(input: Input, n: number, intervalMs: number, between: (i: number) => void = () => {}) {
  const accs = [];
  for (let i = 0; i < n; i++) {
    const t = Date.now();
    const acc = checkRecorder();
    await input.gather!(acc);
    accs.push(acc);
    between(i);
    if (i < n - 1) await new Promise((r) => setTimeout(r, intervalMs - (Date.now() - t)));
  }
  return accs;
}

const KEPT = 2000;

describe('kept ping timing', () => {
  it("measures how far apart ping's echoes really left, and corrects -i by it", () => {
    let feed: (line: string) => void = () => {};
    const s = new PingSession({
      cmd: 'ping',
      args: [],
      intervalMs: 10_000,
      timeoutMs: 1000,
      now: () => 1_700_000_000_000,
      start: (_c, _a, onLine) => ((feed = (l) => onLine(l, 'stdout')), { pid: 1, kill: () => {} }),
    });
    s.start();
    const reply = (seq: number, sentMs: number) => feed(`[${(sentMs + 0.05) / 1000}] 24 bytes from 127.0.0.1: icmp_seq=${seq} ttl=64 time=0.050 ms`);
    for (const seq of [1, 2]) reply(seq, 1_700_000_000_000 + (seq - 1) * 10_236);
    expect(s.observedPeriod()).toBeUndefined(); // too few to tell
    for (const seq of [3, 4, 5]) reply(seq, 1_700_000_000_000 + (seq - 1) * 10_236);
    expect(s.observedPeriod()).toBeCloseTo(10_236, 0);
    // iputils -i 10 overshoots by ~2.4 %: the next ping is asked for that much less.
    expect(correctedPingInterval(10_000, 10_236, 10_000)).toBe(9769);
    expect(correctedPingInterval(9769, 10_000, 10_000)).toBe(9769);
    expect(correctedPingInterval(10_000, undefined, 10_000)).toBe(10_000);
    expect(correctedPingInterval(10_000, 20_000, 10_000)).toBe(9000); // bounded
    expect(correctedPingInterval(10_000, 5000, 10_000)).toBe(10_200);
  });

  /** Gathers every 10 s from 0; a session started `delay` after the one at 0 whose echoes
   * leave every `period` ms: how many gathers find it in step before one does not. */
  const gathersInStep = (delay: number, period: number, atGather: (s: PingSession, g: number) => void = () => {}) => {
    let feed: (line: string) => void = () => {};
    let now = delay;
    const s = new PingSession({
      cmd: 'ping',
      args: [],
      intervalMs: 10_000,
      timeoutMs: 1000,
      now: () => now,
      start: (_c, _a, onLine) => ((feed = (l) => onLine(l, 'stdout')), { pid: 1, kill: () => {} }),
    });
    s.start();
    for (let n = 1; n < 200; n++) {
      const sent = delay + (n - 1) * period;
      now = sent + 0.05;
      feed(`[${now / 1000}] 24 bytes from 127.0.0.1: icmp_seq=${n} ttl=64 time=0.050 ms`);
      // Every gather that came before the next echo leaves.
      for (let g = Math.ceil(now / 10_000) * 10_000; g < sent + period && g > 0; g += 10_000) {
        now = g;
        if (!s.inStep(g)) return g / 10_000 - 1;
        atGather(s, g);
        s.report(g);
      }
    }
    return Infinity;
  };

  it('starts an uncorrected session early in the interval, so that its echoes, which only come late, have the whole span to drift through', () => {
    const first = sessionStartDelay(10_000, 1000, false);
    const middle = sessionStartDelay(10_000, 1000, true);
    expect(middle).toBe(4500);
    // Both start in step, as a session on time would stay for ever.
    expect(gathersInStep(first, 10_000)).toBe(Infinity);
    expect(gathersInStep(middle, 10_000)).toBe(Infinity);
    // iputils' -i 10 here: 10.24 s. From the middle it leaves the span after ~13 gathers,
    // from the early edge after twice as many.
    const fromMiddle = gathersInStep(middle, 10_240);
    const fromEarly = gathersInStep(first, 10_240);
    expect(fromMiddle).toBeGreaterThanOrEqual(12);
    expect(fromMiddle).toBeLessThan(15);
    expect(fromEarly).toBeGreaterThanOrEqual(24);
    // A corrected session that drifts a little either way has room both ways from the middle.
    expect(gathersInStep(middle, 9_980)).toBeGreaterThan(100);
    expect(gathersInStep(middle, 10_020)).toBeGreaterThan(100);
  });

  it('tells from four echo periods how many more gathers the echoes stay in step, and it comes true', () => {
    const first = sessionStartDelay(10_000, 1000, false);
    const middle = sessionStartDelay(10_000, 1000, true);
    for (const [delay, period] of [
      [first, 10_240],
      [first, 10_100],
      [middle, 9_900],
      [middle, 10_050],
    ] as const) {
      const told: { gather: number; left: number }[] = [];
      const inStep = gathersInStep(delay, period, (s, g) => told.push({ gather: g / 10_000, left: s.gathersLeftInStep(g, 4) }));
      expect(Number.isFinite(inStep)).toBe(true);
      // Unknown until the reply to the fifth echo (four periods), which the fifth gather has.
      expect(told.slice(0, 4).every((t) => t.left === Infinity)).toBe(true);
      const known = told.filter((t) => Number.isFinite(t.left));
      expect(known[0]!.gather).toBe(5);
      // Every gather from then on tells the last gather in step, give or take one.
      for (const t of known) expect(Math.abs(t.gather + t.left - inStep)).toBeLessThanOrEqual(1);
    }
    // Echoes on time never leave the step, and say so.
    gathersInStep(first, 10_000, (s, g) => expect(s.gathersLeftInStep(g, 4)).toBe(Infinity));
  });
});

describe('kept ping calibration in the input', () => {
  it('replaces the first session by one with a corrected -i once four echo periods show its drift', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const T = 1_700_000_000_000;
      const clock = { now: T };
      const started: { args: readonly string[]; feed: (line: string) => void; killed: boolean }[] = [];
      const ctx = {
        ...fakeContext({ clock }),
        intervalMs: 10_000,
        exec: async () => ({
          code: 0,
          signal: null,
          stdout: readFileSync(join(dir, 'testdata', 'iputils-ipv4-localhost.txt'), 'utf8'),
          stderr: '',
          timedOut: false,
        }),
        startProcess: (_cmd: string, args: readonly string[], onLine: (line: string, stream: 'stdout' | 'stderr') => void) => {
          const p = { args, feed: (l: string) => onLine(l, 'stdout'), killed: false };
          started.push(p);
          return { pid: 1000 + started.length, kill: () => void (p.killed = true) };
        },
      };
      const input = ping.create(config.parse({ urls: ['127.0.0.1'] }), ctx);
      const at = (t: number) => {
        vi.advanceTimersByTime(t - clock.now);
        clock.now = t;
      };
      // iputils' -i 10 here: an echo every 10.24 s from the session's start.
      const reply = (p: (typeof started)[number], start: number, n: number) => {
        const sent = start + (n - 1) * 10_240;
        p.feed(`[${((sent + 0.05) / 1000).toFixed(6)}] 24 bytes from 127.0.0.1: icmp_seq=${n} ttl=64 time=0.050 ms`);
      };
      await input.gather!(checkRecorder()); // the first gather pings once, then keeps one running
      at(T + sessionStartDelay(10_000, 1000, false));
      expect(started).toHaveLength(1);
      const first = started[0]!;
      const firstStart = clock.now;
      expect(first.args.join(' ')).toContain('-i 10 ');
      for (let g = 1; g <= 5; g++) {
        for (let n = 1; firstStart + (n - 1) * 10_240 < T + g * 10_000; n++) if (n > g - 1) reply(first, firstStart, n);
        at(T + g * 10_000);
        const acc = checkRecorder();
        await input.gather!(acc);
        expect(acc.one({ url: '127.0.0.1' }).fields).toMatchObject({ result_code: 0, packets_transmitted: 1, packets_received: 1 });
        // Four gathers see too few periods to judge; the fifth sees four and replaces the session.
        expect(first.killed).toBe(g === 5);
      }
      at(T + 50_000 + sessionStartDelay(10_000, 1000, true));
      expect(started).toHaveLength(2);
      // 10 s asked, 10.24 s got: 9.766 s asked next.
      expect(started[1]!.args.join(' ')).toContain('-i 9.766 ');
      await input.stop!();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('kept ping start', () => {
  it("starts after the gather's tick: the interval boundary nearest it when gathers are aligned", () => {
    const o = { intervalMs: 10_000, timeoutMs: 1000 };
    const b = 1_700_000_000_000; // a multiple of 10 s
    // The first gather, at start-up 600 ms after a boundary; a timer a millisecond early.
    expect(sessionStartAt(b + 600, { ...o, corrected: false, aligned: true })).toBe(b + 1875);
    expect(sessionStartAt(b - 1, { ...o, corrected: false, aligned: true })).toBe(b + 1875);
    // Later than that in the interval: a time already past, so at once.
    expect(sessionStartAt(b + 4000, { ...o, corrected: false, aligned: true })).toBe(b + 1875);
    // A corrected session in the middle; without alignment, from the gather itself.
    expect(sessionStartAt(b + 3, { ...o, corrected: true, aligned: true })).toBe(b + 4500);
    expect(sessionStartAt(b + 600, { ...o, corrected: false, aligned: false })).toBe(b + 2475);
  });
});

describe('iputils ping never sends early (what sessionStartDelay relies on)', () => {
  it('leaves at least its -i between echoes', () => {
    const out = execFileSync('ping', ['-n', '-D', '-c', '5', '-i', '0.3', '127.0.0.1'], { encoding: 'utf8' });
    const sent = [...out.matchAll(/^\[(\d+\.\d+)\].*time=(\d+(?:\.\d+)?) ms/gm)].map((m) => Number(m[1]) * 1000 - Number(m[2]));
    expect(sent).toHaveLength(5);
    for (let i = 1; i < sent.length; i++) expect(sent[i]! - sent[i - 1]!).toBeGreaterThanOrEqual(299);
  });
});

describe('ping kept running between gathers (real iputils)', () => {
  it('is used only where it gives the same figures as a ping per gather', () => {
    const ctx = { ...realContext(), intervalMs: 10_000 };
    const c = (o: Record<string, unknown>) => config.parse({ urls: ['h'], ...o });
    expect(keptInterval(c({}), ctx, 'linux')).toBe(10_000);
    expect(keptInterval(c({}), ctx, 'win32')).toBeUndefined();
    expect(keptInterval(c({ count: 3 }), ctx, 'linux')).toBeUndefined();
    expect(keptInterval(c({ arguments: ['-c', '1'] }), ctx, 'linux')).toBeUndefined();
    expect(keptInterval(c({ timeout: '3s' }), ctx, 'linux')).toBeUndefined();
    expect(keptInterval(c({ keep_running: false }), ctx, 'linux')).toBeUndefined();
    expect(keptInterval(c({}), realContext(), 'linux')).toBeUndefined();
  });

  it('reports one echo per interval from one ping process, and restarts a ping that died', async () => {
    const input = ping.create(config.parse({ urls: ['127.0.0.1'], timeout: '300ms' }), { ...realContext(), intervalMs: KEPT });
    const pids: number[][] = [];
    try {
      const accs = await gatherEvery(input, 6, KEPT, (i) => {
        pids.push(pingChildren());
        // Kill the kept ping after the third gather: the fourth reports the loss, the fifth a new ping.
        if (i === 2) for (const p of pingChildren()) process.kill(p, 'SIGKILL');
      });
      const f = accs.map((a) => a.one({ url: '127.0.0.1' }).fields);
      for (const i of [0, 1, 2, 4, 5]) {
        expect(f[i]).toMatchObject({ result_code: 0, packets_transmitted: 1, packets_received: 1, percent_packet_loss: 0, ttl: 64, standard_deviation_ms: 0 });
        expect(f[i]!.average_response_ms).toBeGreaterThan(0);
      }
      // Killed before its next echo: nothing was sent in that interval, and it says so.
      expect(f[3]).toMatchObject({ result_code: 2, packets_received: 0, percent_packet_loss: 100 });
      // The first gather ran a ping of its own (gone at once); then one ping stays.
      expect(pids[1]).toHaveLength(1);
      expect(pids[2]).toEqual(pids[1]);
      expect(pids[4]).toHaveLength(1);
      expect(pids[4]).not.toEqual(pids[1]);
      expect(pids[5]).toEqual(pids[4]);
    } finally {
      await input.stop!();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(pingChildren()).toEqual([]);
  }, 30_000);
});

// Root is needed to create network namespaces; the CI and this sandbox run tests as root.
const isRoot = process.getuid?.() === 0;
const ns = `canh-ping-${process.pid}`;
const inNs = { binary: 'ip', binary_args: ['netns', 'exec', ns, 'ping'] };

describe.skipIf(!isRoot)('ping in a network namespace (needs root for ip netns)', () => {
  beforeAll(() => {
    const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'route', 'add', 'blackhole', '198.51.100.0/24');
    // A veth pair whose far end has no address: echo requests to 10.98.0.2 leave through a
    // permanent neighbour entry and nothing ever answers, as with a host that drops ICMP.
    ip('-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('-n', ns, 'link', 'set', 'v0', 'up');
    ip('-n', ns, 'link', 'set', 'v1', 'up');
    ip('-n', ns, 'addr', 'add', '10.98.0.1/24', 'dev', 'v0');
    ip('-n', ns, 'neigh', 'add', '10.98.0.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'v0', 'nud', 'permanent');
    ip('-n', ns, 'neigh', 'add', '10.98.0.3', 'lladdr', '02:00:00:00:00:03', 'dev', 'v0', 'nud', 'permanent');
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'pipe' });
  });

  it('reports a blackholed target as unreachable: result_code 2, 100% loss', async () => {
    const { acc } = await gather({ urls: ['198.51.100.7'], ...inNs });
    expect(acc.one({ url: '198.51.100.7' }).fields).toEqual({
      result_code: 2,
      packets_transmitted: 0,
      packets_received: 0,
      percent_packet_loss: 100,
    });
  });

  it('reports silent targets as timed out, pinging them concurrently within the deadline', async () => {
    // Concurrency seen, not timed: how many of our ping processes were alive at once.
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, pingChildren().length)), 20);
    const { acc, ms } = await gather({ urls: ['10.98.0.2', '10.98.0.3'], count: 5, timeout: '500ms', deadline: '1s', ...inNs }).finally(() =>
      clearInterval(watch),
    );
    for (const url of ['10.98.0.2', '10.98.0.3']) {
      const f = acc.one({ url }).fields;
      expect(f).toMatchObject({ result_code: 2, packets_received: 0, percent_packet_loss: 100 });
      expect(f.packets_transmitted).toBeGreaterThan(0);
      expect(f).not.toHaveProperty('average_response_ms');
    }
    expect(most).toBe(2);
    // Each ping ended at its 1 s deadline, not after its 5 echoes (5 s): a bound only a
    // missing deadline would pass, loose enough for a loaded machine.
    expect(ms).toBeLessThan(4500);
  });

  it('kept running, reports a silent target as one echo lost per interval', async () => {
    const input = ping.create(config.parse({ urls: ['10.98.0.2'], timeout: '300ms', deadline: '1s', ...inNs }), { ...realContext(), intervalMs: KEPT });
    try {
      const accs = await gatherEvery(input, 4, KEPT);
      for (const acc of accs) {
        const f = acc.one({ url: '10.98.0.2' }).fields;
        expect(f).toEqual({ result_code: 2, packets_transmitted: 1, packets_received: 0, percent_packet_loss: 100 });
      }
      expect(pingChildren()).toHaveLength(1);
    } finally {
      await input.stop!();
    }
  }, 30_000);

  it('still answers for a reachable address through the same wrapper', async () => {
    const { acc } = await gather({ urls: ['10.98.0.1'], ...inNs });
    expect(acc.one({ url: '10.98.0.1' }).fields).toMatchObject({ result_code: 0, packets_received: 1 });
  });
});

// A target with known loss: the kernel here has no sch_netem, so a second namespace turns
// its kernel's echo reply off and testdata/echo-responder.py answers instead, dropping a
// seeded random 30 % of the echoes to 10.99.0.2 and every echo to 10.99.0.3 (a dead host).
// It prints each request's fate, so the test knows the true loss and the echoes that left.
const client = `canh-pingc-${process.pid}`;
const far = `canh-pingt-${process.pid}`;
const viaClient = { binary: 'ip', binary_args: ['netns', 'exec', client, 'ping'] };

describe.skipIf(!isRoot)('ping count against a target with known loss (needs root for ip netns)', () => {
  let responder: ReturnType<typeof spawn> | undefined;
  const fates: { addr: string; seq: number; answered: boolean }[] = [];
  beforeAll(async () => {
    const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });
    ip('netns', 'add', client);
    ip('netns', 'add', far);
    ip('-n', client, 'link', 'set', 'lo', 'up');
    ip('-n', far, 'link', 'set', 'lo', 'up');
    ip('link', 'add', 'pc0', 'netns', client, 'type', 'veth', 'peer', 'name', 'pt0', 'netns', far);
    ip('-n', client, 'addr', 'add', '10.99.0.1/24', 'dev', 'pc0');
    ip('-n', far, 'addr', 'add', '10.99.0.2/24', 'dev', 'pt0');
    ip('-n', far, 'addr', 'add', '10.99.0.3/24', 'dev', 'pt0');
    ip('-n', client, 'link', 'set', 'pc0', 'up');
    ip('-n', far, 'link', 'set', 'pt0', 'up');
    execFileSync('ip', ['netns', 'exec', far, 'sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=1']);
    responder = spawn('ip', ['netns', 'exec', far, 'python3', join(dir, 'testdata', 'echo-responder.py'), '10.99.0.2=0.3', '10.99.0.3=1'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      let rest = '';
      responder!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        const lines = (rest + d).split('\n');
        rest = lines.pop() ?? '';
        for (const l of lines) {
          if (l === 'ready') resolve();
          const m = /^(\S+) (\d+) (answered|dropped)$/.exec(l);
          if (m) fates.push({ addr: m[1]!, seq: Number(m[2]), answered: m[3] === 'answered' });
        }
      });
      responder!.on('exit', (code) => reject(new Error(`echo responder exited (${code})`)));
    });
  });
  afterAll(() => {
    responder?.kill();
    for (const n of [client, far]) execFileSync('ip', ['netns', 'del', n], { stdio: 'pipe' });
  });

  it('sends exactly `count` echo requests per gather, and the stored loss is the true loss within 3 points over 1,000 echoes', async () => {
    const input = ping.create(config.parse({ urls: ['10.99.0.2'], count: 100, ping_interval: '10ms', timeout: '300ms', ...viaClient }), realContext());
    const points = [];
    for (let i = 0; i < 10; i++) {
      const acc = checkRecorder();
      await input.gather!(acc);
      points.push(acc.one({ url: '10.99.0.2' }).fields);
    }
    const sent = fates.filter((f) => f.addr === '10.99.0.2');
    const trueLoss = (100 * sent.filter((f) => !f.answered).length) / sent.length;
    const stored = points.reduce((s, p) => s + Number(p.percent_packet_loss), 0) / points.length;
    console.log(`ping lossy target: ${sent.length} echoes, true loss ${trueLoss.toFixed(2)} %, mean stored loss ${stored.toFixed(2)} %`);
    for (const p of points) expect(p.packets_transmitted).toBe(100);
    expect(sent).toHaveLength(1000);
    expect(Math.abs(stored - trueLoss)).toBeLessThanOrEqual(3);
    expect(Math.abs(trueLoss - 30)).toBeLessThan(6); // the responder's own draw, sanity
  }, 60_000);

  it('reports the echoes that really left for a dead target with the defaults', async () => {
    const before = fates.filter((f) => f.addr === '10.99.0.3').length;
    const { acc } = await gather({ urls: ['10.99.0.3'], ...viaClient });
    const sent = fates.filter((f) => f.addr === '10.99.0.3').length - before;
    expect(sent).toBe(1);
    expect(acc.one({ url: '10.99.0.3' }).fields).toEqual({ result_code: 2, packets_transmitted: 1, packets_received: 0, percent_packet_loss: 100 });
  }, 30_000);

  it('stops a ping at its deadline with SIGINT, so its summary still counts the echoes that left', async () => {
    const before = fates.filter((f) => f.addr === '10.99.0.3').length;
    const { acc } = await gather({ urls: ['10.99.0.3'], count: 10, ping_interval: '300ms', timeout: '1s', deadline: '1s', ...viaClient });
    const sent = fates.filter((f) => f.addr === '10.99.0.3').length - before;
    const f = acc.one({ url: '10.99.0.3' }).fields;
    expect(sent).toBeGreaterThan(1);
    expect(sent).toBeLessThan(10);
    expect(f).toEqual({ result_code: 2, packets_transmitted: sent, packets_received: 0, percent_packet_loss: 100 });
  }, 30_000);
});
