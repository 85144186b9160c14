// Threshold rules over a window: a function (avg, min, max, p95) of the samples of the
// last `window` (or `for`) compared with the value, as Prometheus' avg_over_time does.
// The shipped saturation rule must see a link at 97 % whose per-poll samples swing 85-119 %
// (snmpd refreshes its counters only every few seconds).
import { afterEach, describe, expect, it } from 'vitest';
import type { Point } from '@canh/protocol';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { aggregate, ThresholdEvaluator } from './evaluate/threshold.ts';
import { defaultRules, type ThresholdRule } from './rules.ts';
import { AlertTracker } from './tracker.ts';
import type { Alert } from './types.ts';
import { batch, hanoi, harness, MIN, SEC, T0, type Harness } from './test-kit.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Per-poll utilisation of a link at 97 % on average, as a device with lagging counters reports it. */
const SWING = [85, 119, 88, 96, 112, 86, 103, 87];
function utilisation(at: number, i: number, pct: number[] = SWING): Point {
  return {
    name: 'interface',
    time: at,
    tags: { agent_host: '10.10.0.1', device: 'sw-core', ifName: 'Gi0/1' },
    fields: { in_utilization: pct[i % pct.length]!, out_utilization: 10 },
    int: [],
  };
}
const firing = (h: Harness, rule: string) => h.lines.filter((l) => l.includes(`rule=${rule}`) && l.includes('state="firing"'));

describe('threshold rules over a window', () => {
  it('the swinging samples really are 97 % on average and dip below 90 within every 5 minutes', () => {
    expect(SWING.reduce((a, b) => a + b, 0) / SWING.length).toBe(97);
    expect(Math.min(...SWING)).toBeLessThan(90);
    expect(Math.max(...SWING)).toBeGreaterThan(100);
  });

  it('link_saturated_in fires on a sustained 97 % whose per-poll samples swing 85-119 %', async () => {
    h = harness({ default_rules: true });
    let i = 0;
    // Polls every 10 s (the harness steps) for 11 minutes, as in the report.
    await h.advance(11 * MIN, (t) => h!.engine.onBatch(hanoi, batch([utilisation(t, i++)])));
    const fired = firing(h, 'link_saturated_in');
    expect(fired).toHaveLength(1);
    expect(fired[0]).toContain('device=sw-core');
    // It fired once the 5-minute average was known, not before.
    const at = Number(/ (\d+)$/.exec(fired[0]!)![1]);
    expect(at - T0).toBeGreaterThanOrEqual(5 * MIN);
    expect(at - T0).toBeLessThanOrEqual(6 * MIN);
  });

  it('does not fire on a link at 80 % with the same swings, and resolves when the average falls', async () => {
    h = harness({ default_rules: true });
    let i = 0;
    const lower = SWING.map((v) => v - 17);
    await h.advance(11 * MIN, (t) => h!.engine.onBatch(hanoi, batch([utilisation(t, i++, lower)])));
    expect(firing(h, 'link_saturated_in')).toHaveLength(0);
    await h.advance(8 * MIN, (t) => h!.engine.onBatch(hanoi, batch([utilisation(t, i++)])));
    expect(firing(h, 'link_saturated_in')).toHaveLength(1);
    await h.advance(8 * MIN, (t) => h!.engine.onBatch(hanoi, batch([utilisation(t, i++, lower)])));
    expect(h.lines.filter((l) => l.includes('rule=link_saturated_in') && l.includes('state="resolved"'))).toHaveLength(1);
  });

  it('min, max and p95 over an explicit window, with `for` on top', async () => {
    h = harness({
      default_rules: false,
      rules: [
        {
          name: 'slow_p95',
          type: 'threshold',
          measurement: 'http_response',
          field: 'response_time',
          function: 'p95',
          window: '2m',
          op: '>',
          value: 1,
          group_by: ['host', 'server'],
        },
        {
          name: 'never_fast',
          type: 'threshold',
          measurement: 'http_response',
          field: 'response_time',
          function: 'min',
          window: '2m',
          for: '1m',
          op: '>',
          value: 0.5,
          group_by: ['host', 'server'],
        },
      ],
    });
    // 1 slow response in 10: p95 over 12 samples is the slow one; min stays 0.6 s (> 0.5).
    let i = 0;
    const rt = (t: number) =>
      ({ name: 'http_response', time: t, tags: { server: 'https://portal/' }, fields: { response_time: i++ % 10 === 0 ? 3 : 0.6 } }) as Point;
    await h.advance(4 * MIN, (t) => h!.engine.onBatch(hanoi, batch([rt(t)])));
    expect(firing(h, 'slow_p95')).toHaveLength(1);
    const never = firing(h, 'never_fast');
    expect(never).toHaveLength(1);
    // Window 2 min, then `for` 1 min: not before 3 minutes.
    expect(Number(/ (\d+)$/.exec(never[0]!)![1]) - T0).toBeGreaterThanOrEqual(3 * MIN);
  });

  it('computes the functions as documented', () => {
    const v = [5, 1, 4, 2, 3, 10, 6, 7, 8, 9];
    expect(aggregate('avg', v)).toBe(5.5);
    expect(aggregate('min', v)).toBe(1);
    expect(aggregate('max', v)).toBe(10);
    // p95: nearest rank, ceil(0.95 × 10) = the 10th smallest.
    expect(aggregate('p95', v)).toBe(10);
    expect(
      aggregate(
        'p95',
        Array.from({ length: 100 }, (_, i) => i + 1),
      ),
    ).toBe(95);
    expect(aggregate('last', v)).toBe(9);
  });

  it('refuses a window function without a window or for', async () => {
    expect(() =>
      harness({ default_rules: false, rules: [{ name: 'x', type: 'threshold', measurement: 'm', field: 'f', function: 'avg', op: '>', value: 1 }] }),
    ).toThrow(/window/);
    void SEC;
  });

  it("README.md's default rule table names each threshold rule's function as default-rules.yaml sets it", () => {
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    for (const r of defaultRules()) {
      if (r.type !== 'threshold') continue;
      const row = readme.split('\n').find((l) => l.startsWith('| `') && l.includes(`\`${r.name}\``) && l.split('|').length >= 6);
      expect(row, `no row for ${r.name}`).toBeDefined();
      expect(row!.split('|')[3]!.trim(), r.name).toMatch(new RegExp(`^\`${r.function}\``));
    }
  });
  it('seed: samples read back from InfluxDB (an agent that moved) fill the window, so the next live sample is judged over it; a sample seeded and resent counts once', () => {
    const fired: string[] = [];
    const store = {
      openAlerts: () => [],
      insertAlert: (a: Omit<Alert, 'id'>) => ({ ...a, id: fired.length + 1 }),
      updateAlert: () => {},
      deleteAlert: () => {},
    };
    const t = new AlertTracker(store, { flap: { transitions: 4, window: 1_800_000, hold: 900_000 }, log: pino({ level: 'silent' }) });
    t.onTransition = (a) => fired.push(`${a.state} ${a.value}`);
    const rule = defaultRules().find((r) => r.name === 'link_saturated_in') as ThresholdRule;
    const ev = new ThresholdEvaluator([rule], t, { maxSampleAge: 10 * MIN, isOnline: () => true });
    expect(ev.windowed().map((w) => [w.rule.name, w.windowMs])).toEqual([['link_saturated_in', 5 * MIN]]);
    // 5 minutes of polls the previous collector saw (at 97 % on average), read back.
    const before = Array.from({ length: 30 }, (_, i) => utilisation(T0 + i * 10 * SEC, i));
    expect(ev.seed(rule, hanoi, before, T0 + 290 * SEC)).toBe(30);
    expect(fired).toEqual([]);
    // The agent resends its newest batch, then goes on: judged at once, over the whole window.
    ev.onPoints(hanoi, [before[29]!], T0 + 290 * SEC);
    expect(fired).toEqual([]);
    ev.onPoints(hanoi, [utilisation(T0 + 300 * SEC, 30)], T0 + 300 * SEC);
    // The window (300 s) now holds the polls 1..30, each once (the resent one too).
    const expected = Array.from({ length: 30 }, (_, i) => SWING[(i + 1) % SWING.length]!).reduce((a, b) => a + b, 0) / 30;
    expect(fired).toEqual([`firing ${expected}`]);
  });
});
