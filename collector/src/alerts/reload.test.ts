// AlertEngine.reload on a hand-driven clock: what a new alerting section keeps and what
// it resets (the end-to-end run with real processes is test/alerting-reload.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { parseCollectorConfig } from '../config.ts';
import { batch, disk, event, hanoi, harness, MIN, SEC, type Harness } from './test-kit.ts';

const diskRule = (extra: Record<string, unknown> = {}) => ({
  name: 'disk_full',
  type: 'threshold',
  measurement: 'disk',
  field: 'used_percent',
  op: '>',
  value: 90,
  for: '5m',
  group_by: ['host', 'path'],
  severity: 'high',
  ...extra,
});
const bruteRule = { name: 'brute', type: 'event', event_types: ['brute_force'], min_count: 3, within: '10m', severity: 'high' };

function alerting(rules: unknown[]) {
  const c = parseCollectorConfig({ state_dir: '/tmp', alerting: { default_rules: false, rules } }, { env: {} });
  return { cfg: c.alerting!, secrets: c.alertingSecrets };
}

let h: Harness;
afterEach(async () => h?.stop());

describe('AlertEngine.reload', () => {
  it('a retuned rule keeps its pending alert and fires on the new `for`', async () => {
    h = harness({ default_rules: false, rules: [diskRule()] });
    await h.advance(2 * MIN, (t) => h.engine.onBatch(hanoi, batch([disk(t, '/', 95)])));
    expect([...h.engine.tracker.ofRule('disk_full')].map((a) => a.state)).toEqual(['pending']);
    const { cfg, secrets } = alerting([diskRule({ for: '3m' })]);
    const s = h.engine.reload(cfg, secrets);
    expect(s).toMatchObject({ changed: ['disk_full'], resolved: 0 });
    expect([...h.engine.tracker.ofRule('disk_full')].map((a) => a.state)).toEqual(['pending']);
    await h.advance(1 * MIN + 10 * SEC, (t) => h.engine.onBatch(hanoi, batch([disk(t, '/', 95)])));
    expect([...h.engine.tracker.ofRule('disk_full')].map((a) => a.state)).toEqual(['firing']);
  });

  it('a rule that now labels differently resolves its alerts (rule_changed); a removed one (rule_removed)', async () => {
    h = harness({ default_rules: false, rules: [diskRule({ for: 0 }), { ...diskRule({ for: 0 }), name: 'disk_other' }] });
    await h.advance(20 * SEC, (t) => h.engine.onBatch(hanoi, batch([disk(t, '/', 95)])));
    const before = [...h.engine.tracker.alerts.values()];
    expect(before.map((a) => a.state)).toEqual(['firing', 'firing']);
    const { cfg, secrets } = alerting([diskRule({ for: 0, group_by: ['host'] })]);
    const s = h.engine.reload(cfg, secrets);
    expect(s).toMatchObject({ removed: ['disk_other'], changed: ['disk_full'], resolved: 2 });
    expect(Object.fromEntries(before.map((a) => [a.rule, [a.state, a.details.resolved_by]]))).toEqual({
      disk_full: ['resolved', 'rule_changed'],
      disk_other: ['resolved', 'rule_removed'],
    });
    await h.advance(20 * SEC, (t) => h.engine.onBatch(hanoi, batch([disk(t, '/', 95)])));
    expect([...h.engine.tracker.ofRule('disk_full')].map((a) => a.labels)).toEqual([{ rule: 'disk_full', agency: 'so-tttt', host: 'mc-portal-01' }]);
  });

  it('event counting windows of a kept rule carry over', async () => {
    h = harness({ default_rules: false, rules: [bruteRule] });
    const ev = (t: number) => batch([], [event(t, 'brute_force', 'high', 'failures')]);
    h.engine.onBatch(hanoi, ev(h.now()));
    h.engine.onBatch(hanoi, ev(h.now()));
    const { cfg, secrets } = alerting([{ ...bruteRule, severity: 'critical' }]);
    h.engine.reload(cfg, secrets);
    expect([...h.engine.tracker.ofRule('brute')]).toHaveLength(0);
    h.engine.onBatch(hanoi, ev(h.now()));
    expect([...h.engine.tracker.ofRule('brute')]).toHaveLength(1);
  });
});
