import { describe, expect, it, vi, afterEach } from 'vitest';
import { pino } from 'pino';
import { Scheduler } from './scheduler.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('scheduler', () => {
  it('fires each aligned tick once, even when a timer fires before the wall clock reaches the tick', async () => {
    vi.useFakeTimers({ now: 1_000_050 });
    // Timers count from the event loop's cached time, which can lag the wall clock by a
    // few ms when the timer is set: seen from the wall clock the timer then fires early.
    let calls = 0;
    const wall = () => Date.now() + (calls++ % 2 === 0 ? 3 : 0);
    const s = new Scheduler(pino({ level: 'silent' }), true, { wall, mono: () => performance.now() });
    const ticks: number[] = [];
    s.add({ name: 'x', intervalMs: 100, run: async (at) => void ticks.push(at) });
    await vi.advanceTimersByTimeAsync(1000);
    s.stop();
    expect(ticks.length).toBeGreaterThan(8);
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const t of ticks.slice(1)) expect(t % 100).toBe(0);
  });
  // Issue 18, second part: two gathers of one input must not share a timestamp (two points
  // with one key: InfluxDB keeps one, silently). A timer seen early by the wall clock, or a
  // wall clock stepping back by less than an interval (NTP stepping a drifting VM clock by
  // a few tens of ms), made the aligned tick just fired come round again.
  for (const back of [3, 60, 99]) {
    it(`gives one input's gathers strictly increasing times when the wall clock steps back ${back} ms (interval 100 ms)`, async () => {
      vi.useFakeTimers({ now: 1_000_050 });
      let offset = 0;
      const clock = { wall: () => Date.now() + offset, mono: () => Date.now() };
      const s = new Scheduler(pino({ level: 'silent' }), true, clock);
      const ticks: number[] = [];
      s.add({ name: 'x', intervalMs: 100, run: async (at) => void ticks.push(at) });
      await vi.advanceTimersByTimeAsync(250);
      offset -= back;
      await vi.advanceTimersByTimeAsync(500);
      s.stop();
      expect(ticks.length).toBeGreaterThan(6);
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]!, `tick ${i} of ${ticks.join(',')}`).toBeGreaterThan(ticks[i - 1]!);
      // Nothing skipped for it: a tick per interval of the monotonic clock, as before.
      expect(s.skipped).toBe(0);
    });
  }
  it("an input added at the very millisecond of its interval's pending tick is not gathered twice at that time", async () => {
    vi.useFakeTimers({ now: 4_000_050 });
    const s = new Scheduler(pino({ level: 'silent' }), true);
    const ticks: number[] = [];
    s.add({ name: 'first', intervalMs: 100, run: async () => {} });
    // The group's next tick is 4 000 100. Another input starts just then (its start() took
    // 50 ms, and the tick's timer has not run yet in this turn).
    vi.setSystemTime(4_000_100);
    s.add({ name: 'second', intervalMs: 100, run: async (at) => void ticks.push(at) });
    await vi.advanceTimersByTimeAsync(300);
    s.stop();
    expect(ticks.length).toBeGreaterThan(1);
    expect(new Set(ticks).size, ticks.join(',')).toBe(ticks.length);
  });
  it('calls onIdle once per tick, when the last of its gathers has ended', async () => {
    vi.useFakeTimers({ now: 3_000_600 }); // first tick in 400 ms: no gather at once
    const s = new Scheduler(pino({ level: 'silent' }), true);
    const log: string[] = [];
    s.onIdle = () => log.push('idle');
    s.add({ name: 'quick', intervalMs: 1000, run: async () => void log.push('quick') });
    s.add({ name: 'slow', intervalMs: 1000, run: () => new Promise((r) => setTimeout(() => (log.push('slow'), r()), 300)) });
    await vi.advanceTimersByTimeAsync(800);
    expect(log).toEqual(['quick', 'slow', 'idle']);
    await vi.advanceTimersByTimeAsync(2000);
    s.stop();
    expect(log.filter((l) => l === 'idle')).toHaveLength(3);
    expect(log.at(-1)).toBe('idle');
  });
  it('says when a tick begins, and when its gathers outlast the turn they began in', async () => {
    vi.useFakeTimers({ now: 5_000_600 }); // first tick in 400 ms: no gather at once
    const log: string[] = [];
    const scheduler = () => {
      const s = new Scheduler(pino({ level: 'silent' }), true);
      s.onBusy = () => log.push('busy');
      s.onStillBusy = () => log.push('still busy');
      s.onIdle = () => log.push('idle');
      s.add({ name: 'quick', intervalMs: 1000, run: async () => void log.push('quick') });
      return s;
    };
    const quick = scheduler();
    await vi.advanceTimersByTimeAsync(900); // one tick; the next scheduler starts 500 ms before one
    quick.stop();
    expect(log).toEqual(['busy', 'quick', 'idle']);
    log.length = 0;
    const both = scheduler();
    both.add({ name: 'slow', intervalMs: 1000, run: () => new Promise((r) => setTimeout(() => (log.push('slow'), r()), 300)) });
    await vi.advanceTimersByTimeAsync(900);
    both.stop();
    expect(log).toEqual(['busy', 'quick', 'still busy', 'slow', 'idle']);
  });
  it('runs aligned jobs of one interval from one timer, together', async () => {
    vi.useFakeTimers({ now: 7_000_600 }); // first tick in 400 ms: no gather at once
    const s = new Scheduler(pino({ level: 'silent' }), true);
    const log: string[] = [];
    s.onBusy = () => log.push('busy');
    s.onIdle = () => log.push('idle');
    const job = (name: string, intervalMs = 1000) => ({ name, intervalMs, run: async (at: number) => void log.push(`${name}@${at}`) });
    const a = s.add(job('a'));
    s.add(job('b'));
    s.add(job('c'));
    expect(vi.getTimerCount()).toBe(1);
    const other = s.add(job('other', 700)); // another interval: a timer of its own
    expect(vi.getTimerCount()).toBe(2);
    s.remove(other); // its last job gone, so is its timer
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    // One tick: every job started before any ended, so one busy and one idle.
    expect(log).toEqual(['busy', 'a@7001000', 'b@7001000', 'c@7001000', 'idle']);
    s.remove(a);
    log.length = 0;
    await vi.advanceTimersByTimeAsync(1000);
    expect(log).toEqual(['busy', 'b@7002000', 'c@7002000', 'idle']);
    s.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
  it('skips a tick while the previous gather still runs, and counts it', async () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const s = new Scheduler(pino({ level: 'silent' }), true);
    let running = 0;
    s.add({ name: 'slow', intervalMs: 100, run: () => new Promise((r) => (running++, setTimeout(r, 250))) });
    await vi.advanceTimersByTimeAsync(1000);
    s.stop();
    expect(s.skipped).toBeGreaterThan(0);
    expect(running).toBeLessThan(10);
  });

  // The wall clock steps; the monotonic clock (the fake timers' own time) does not.
  for (const round of [true, false]) {
    it(`keeps gathering across wall-clock steps of −7 h, −90 s and +1 h (round_interval ${round})`, async () => {
      vi.useFakeTimers({ now: 1_800_000_000_000 });
      let offset = 0;
      const clock = { wall: () => Date.now() + offset, mono: () => Date.now() };
      const s = new Scheduler(pino({ level: 'silent' }), round, clock);
      const ticks: number[] = [];
      s.add({ name: 'x', intervalMs: 1000, run: async (at) => void ticks.push(at) });
      const phases: { step: number; ticks: number[] }[] = [];
      for (const step of [0, -7 * 3600_000, -90_000, 3600_000]) {
        offset += step;
        ticks.length = 0;
        await vi.advanceTimersByTimeAsync(10_000);
        phases.push({ step, ticks: [...ticks] });
      }
      s.stop();
      for (const p of phases) {
        // Ten seconds of the monotonic clock hold about ten ticks whatever the wall clock did.
        expect(p.ticks.length, `step ${p.step}`).toBeGreaterThanOrEqual(9);
        expect(p.ticks.length, `step ${p.step}`).toBeLessThanOrEqual(11);
        // Stamped by the wall clock as it is after the step (one tick set before it may keep the old one).
        for (const t of p.ticks.slice(1)) expect(Math.abs(t - (p.ticks.at(-1) ?? 0)), `step ${p.step}`).toBeLessThan(11_000);
        if (round) for (const t of p.ticks) expect(t % 1000).toBe(0);
      }
      // After the last step the stamps are in the stepped clock's time.
      expect(phases[3]!.ticks.at(-1)).toBeGreaterThan(1_800_000_000_000 - 7 * 3600_000 - 90_000 + 3600_000 + 30_000);
    });
  }
});
