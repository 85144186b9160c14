// Issue 23: the live auth_log wakes for its periodic work only while it holds something
// (open sshd connections, held failures, sources and incidents); held state still expires
// and flushes when it did with a timer a second. The pure logic with fake timers (the OS clock).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import authLog from './index.ts';
import { AuthPipeline } from './pipeline.ts';
import { HeldTicker } from './ticker.ts';
import type { AuthEvent } from '../auth/aggregate.ts';

const START = Date.parse('2026-01-01T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', '+00:00');

function live(over: Record<string, unknown> = {}) {
  const pipeline = new AuthPipeline(authLog.config.parse({ timezone: 'UTC', threshold: 1, window: '1m', ...over }), () => Date.now());
  const events: AuthEvent[] = [];
  const ticks = { n: 0 };
  const ticker = new HeldTicker(
    1000,
    () => pipeline.holds(),
    () => {
      ticks.n++;
      events.push(...pipeline.tick());
    },
  );
  const feed = (...lines: string[]) => {
    for (const l of lines) events.push(...pipeline.line(l).events);
    ticker.poke();
  };
  return { pipeline, ticker, events, ticks, feed };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});
afterEach(() => vi.useRealTimers());

describe('the auth_log ticker', () => {
  it('is not armed while the log holds nothing', () => {
    const t = live();
    t.feed(`${at(START)} h CRON[5]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)`);
    t.feed(`${at(START)} h sudo:      bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id`);
    expect(t.pipeline.holds()).toBe(false);
    expect(t.ticker.armed).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(600_000);
    expect(t.ticks.n).toBe(0);
  });

  it('a held PAM failure is counted when its connection has been quiet for the grace time, then the timer stops', () => {
    const t = live();
    t.feed(`${at(START)} h sshd[77]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.9  user=root`);
    expect(t.ticker.armed).toBe(true);
    vi.advanceTimersByTime(29_000);
    expect(t.events.filter((e) => e.type === 'brute_force')).toEqual([]);
    vi.advanceTimersByTime(2_000);
    expect(t.events.filter((e) => e.type === 'brute_force')).toHaveLength(1);
    expect(t.events[0]).toMatchObject({ count: 1, evidence: { src_ip: '198.51.100.9', update: false } });
    // The source is ended a window (1 min) after it was last seen; the timer with it.
    vi.advanceTimersByTime(58_000);
    expect(t.ticker.armed).toBe(true);
    vi.advanceTimersByTime(3_000);
    expect(t.pipeline.holds()).toBe(false);
    expect(t.ticker.armed).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    const ticks = t.ticks.n;
    vi.advanceTimersByTime(600_000);
    expect(t.ticks.n).toBe(ticks);
  });

  it('a quiet incident sends its last update a window after its last failure, and lines arm the timer again', () => {
    const t = live();
    const failed = (pid: number) => `${at(Date.now())} h sshd[${pid}]: Failed password for root from 198.51.100.7 port ${4000 + pid} ssh2`;
    t.feed(failed(1));
    vi.advanceTimersByTime(5_000);
    t.feed(failed(2), failed(3));
    expect(t.events.map((e) => e.evidence.update)).toEqual([false]);
    vi.advanceTimersByTime(58_000);
    expect(t.events).toHaveLength(1);
    vi.advanceTimersByTime(3_000);
    expect(t.events).toHaveLength(2);
    expect(t.events[1]).toMatchObject({ type: 'brute_force', count: 2, evidence: { update: true, total_failures: 3 } });
    expect(t.ticker.armed).toBe(false);
    t.feed(failed(4));
    expect(t.ticker.armed).toBe(true);
    expect(t.events).toHaveLength(3);
    t.ticker.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
