// The `alert` points the tracker writes, stored in a real InfluxDB: each alert instance
// (rule plus the labels of its group_by) is its own series, so several instances of one
// rule firing at once are all counted, and one resolving leaves the others firing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd, seriesRows, type Influxd } from '../../../test/helpers/influxd.ts';
import type { Point } from '@canh/protocol';
import { batch, event, hanoi, harness, HOUR, MIN, type Harness } from './test-kit.ts';

let influx: Influxd;
let h: Harness | undefined;
beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase('canh');
}, 60_000);
afterAll(async () => {
  await h?.stop();
  await influx?.stop();
});

function netResponse(at: number, port: string, code: number): Point {
  return { name: 'net_response', time: at, tags: { server: '10.0.0.5', port, protocol: 'tcp' }, fields: { result_code: code }, int: ['result_code'] };
}

describe('alert points in InfluxDB', () => {
  it('stores N firing instances of one rule as N series, and a resolve of one leaves the others firing', async () => {
    h = harness({ default_rules: true }, { start: Date.now() - 2 * HOUR });
    const ports = ['25', '443', '3306'];
    const down = new Set(ports);
    await h.advance(5 * MIN, (t) => h!.engine.onBatch(hanoi, batch(ports.map((p) => netResponse(t, p, down.has(p) ? 2 : 0)))));
    down.delete('25');
    await h.advance(2 * MIN, (t) => h!.engine.onBatch(hanoi, batch(ports.map((p) => netResponse(t, p, down.has(p) ? 2 : 0)))));
    const lines = h.lines.filter((l) => l.startsWith('alert,') && l.includes('rule=service_unreachable'));
    expect(lines.length).toBe(4); // three firings, one resolve
    await influx.write('canh', lines, 'ms');

    const series = seriesRows(await influx.query(`SHOW SERIES FROM "alert" WHERE "rule" = 'service_unreachable'`, 'canh'));
    expect(series).toHaveLength(3);
    const last = seriesRows(await influx.query(`SELECT last("state") AS "state" FROM "alert" WHERE time > now() - 30d GROUP BY *`, 'canh'));
    const byPort = Object.fromEntries(last.map((r) => [r.port, r]));
    expect(Object.keys(byPort).sort()).toEqual(ports.sort());
    expect(byPort['25']).toMatchObject({ state: 'resolved', server: '10.0.0.5', host: 'mc-portal-01', agency: 'so-tttt' });
    expect(byPort['443']!.state).toBe('firing');
    expect(byPort['3306']!.state).toBe('firing');
    // The Fleet dashboard's "Alerts firing" counts instances.
    const firing = seriesRows(
      await influx.query(
        `SELECT count("state") FROM (SELECT last("state") AS "state" FROM "alert" WHERE time > now() - 30d GROUP BY *) WHERE "state" = 'firing'`,
        'canh',
      ),
    );
    expect(firing[0]!.count).toBe(2);
  }, 60_000);

  it('keeps an instance whose severity rises while firing counted once, and labels from evidence (src_ip) as tags', async () => {
    await h?.stop();
    h = harness(
      {
        default_rules: false,
        rules: [{ name: 'ssh_attack', type: 'event', event_types: ['brute_force'], group_by: ['host', 'src_ip'], resolve_after: '30m' }],
      },
      { start: Date.now() - 2 * HOUR },
    );
    const t0 = h.now();
    h.engine.onBatch(
      hanoi,
      batch(
        [],
        [
          event(t0, 'brute_force', 'medium', 'ssh failures', { src_ip: '203.0.113.7' }),
          event(t0, 'brute_force', 'medium', 'ssh failures', { src_ip: '198.51.100.9' }),
        ],
      ),
    );
    await h.advance(MIN);
    h.engine.onBatch(hanoi, batch([], [event(h.now(), 'brute_force', 'high', 'ssh failures', { src_ip: '203.0.113.7' })]));
    await h.advance(MIN);
    const lines = h.lines.filter((l) => l.startsWith('alert,') && l.includes('rule=ssh_attack'));
    await influx.write('canh', lines, 'ms');
    const last = seriesRows(
      await influx.query(`SELECT last("state") AS "state" FROM "alert" WHERE "rule" = 'ssh_attack' AND time > now() - 30d GROUP BY *`, 'canh'),
    );
    const firing = last.filter((r) => r.state === 'firing').map((r) => `${String(r.src_ip)} ${String(r.severity)}`);
    expect(firing.sort()).toEqual(['198.51.100.9 medium', '203.0.113.7 high']);
    expect(last.find((r) => r.src_ip === '203.0.113.7' && r.severity === 'medium')?.state).toBe('superseded');
  }, 60_000);

  it('the default rule snmp_device_down fires per device (two on one address) and resolves when it answers', async () => {
    await h?.stop();
    h = harness({ default_rules: true }, { start: Date.now() - 2 * HOUR });
    const snmp = (at: number, device: string, up: number): Point => ({
      name: 'snmp',
      time: at,
      tags: { agent_host: '10.10.0.1', device },
      fields: { up, result_code: up ? 0 : 1 },
      int: ['up', 'result_code'],
    });
    let upNow = 0;
    await h.advance(3 * MIN, (t) => h!.engine.onBatch(hanoi, batch([snmp(t, '10.10.0.1', upNow), snmp(t, '10.10.0.1:1161', 0)])));
    upNow = 1;
    await h.advance(MIN, (t) => h!.engine.onBatch(hanoi, batch([snmp(t, '10.10.0.1', upNow), snmp(t, '10.10.0.1:1161', 0)])));
    const lines = h.lines.filter((l) => l.includes('rule=snmp_device_down'));
    expect(lines.map((l) => /device=(\S+?)[, ]/.exec(l)![1] + ' ' + /state="(\w+)"/.exec(l)![1])).toEqual([
      '10.10.0.1 firing',
      '10.10.0.1:1161 firing',
      '10.10.0.1 resolved',
    ]);
  }, 60_000);
});
