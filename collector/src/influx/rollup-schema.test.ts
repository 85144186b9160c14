import { describe, expect, it } from 'vitest';
import { backfillStatements, continuousQueries, cqMeasurement, isRolledUp, planRollup, rollupKind } from './rollup-schema.ts';
import { goDuration, influxDuration, shardGroupFor } from './retention.ts';

const T = { database: 'canh', raw: 'autogen', rollup: 'rollup_5m' };

describe('roll-up schema', () => {
  it('keeps the last value of counters, states and text, and mean/min/max of gauges', () => {
    expect(rollupKind('bytes_recv', 'integer')).toBe('last');
    expect(rollupKind('bytes_recv_rate', 'float')).toBe('gauge');
    expect(rollupKind('tcp_activeopens', 'integer')).toBe('last');
    expect(rollupKind('result_code', 'integer')).toBe('last');
    expect(rollupKind('usage_user', 'float')).toBe('gauge');
    expect(rollupKind('used', 'integer')).toBe('gauge');
    expect(rollupKind('result_type', 'string')).toBe('last');
    expect(rollupKind('in', 'integer')).toBe('last');
  });

  it('plans one SELECT per measurement with samples, and down samples for checks', () => {
    const p = planRollup({
      measurement: 'ping',
      fields: [
        { name: 'result_code', type: 'integer' },
        { name: 'average_response_ms', type: 'float' },
      ],
    })!;
    expect(p.select).toBe(
      'mean("average_response_ms") AS "average_response_ms", min("average_response_ms") AS "average_response_ms_min", max("average_response_ms") AS "average_response_ms_max", last("result_code") AS "result_code", count("result_code") AS "samples"',
    );
    expect(p.downSelect?.where).toContain('"percent_packet_loss" >= 100');
    const [b1, b2] = backfillStatements(p, T, 0, 86_400_000);
    expect(b1).toBe(
      `SELECT ${p.select} INTO "canh"."rollup_5m"."ping" FROM "canh"."autogen"."ping" WHERE time >= 0ms AND time < 86400000ms GROUP BY time(5m), * fill(none)`,
    );
    expect(b2).toContain('count("result_code") AS "down"');
  });

  it('leaves out what would clash with a roll-up column, and events and odd names entirely', () => {
    const p = planRollup({
      measurement: 'mem',
      fields: [
        { name: 'x', type: 'float' },
        { name: 'x_max', type: 'float' },
        { name: 'samples', type: 'integer' },
      ],
    })!;
    expect(p.skipped).toEqual(['samples', 'x_max']);
    expect(isRolledUp('security_event')).toBe(false);
    expect(isRolledUp('alert')).toBe(false);
    expect(isRolledUp('rp_select')).toBe(false);
    expect(isRolledUp('cpu"; DROP DATABASE canh')).toBe(false);
    expect(planRollup({ measurement: 'empty', fields: [] })).toBeUndefined();
  });

  it('names a CQ after its definition: same fields, same name; a new field, a new name', () => {
    const a = continuousQueries(planRollup({ measurement: 'cpu', fields: [{ name: 'usage_user', type: 'float' }] })!, T);
    const b = continuousQueries(planRollup({ measurement: 'cpu', fields: [{ name: 'usage_user', type: 'float' }] })!, T);
    const c = continuousQueries(
      planRollup({
        measurement: 'cpu',
        fields: [
          { name: 'usage_user', type: 'float' },
          { name: 'usage_idle', type: 'float' },
        ],
      })!,
      T,
    );
    expect(a[0]!.name).toBe(b[0]!.name);
    expect(c[0]!.name).not.toBe(a[0]!.name);
    expect(a[0]!.create).toMatch(
      /^CREATE CONTINUOUS QUERY "canh_rollup_cpu_[0-9a-f]{8}" ON "canh" RESAMPLE EVERY 5m FOR 15m BEGIN SELECT .* GROUP BY time\(5m\), \* END$/,
    );
    expect(cqMeasurement(a[0]!.name)).toBe('cpu');
    const ping = continuousQueries(planRollup({ measurement: 'ping', fields: [{ name: 'result_code', type: 'integer' }] })!, T);
    expect(ping.map((q) => cqMeasurement(q.name))).toEqual(['ping', 'ping']);
    expect(cqMeasurement('someone_elses_cq')).toBeUndefined();
  });

  it('reads and writes InfluxDB durations', () => {
    expect(goDuration('720h0m0s')).toBe(30 * 86_400_000);
    expect(goDuration('0s')).toBe(0);
    expect(goDuration('1h30m0s')).toBe(5_400_000);
    expect(influxDuration(30 * 86_400_000)).toBe('30d');
    expect(influxDuration(0)).toBe('INF');
    expect(influxDuration(90 * 60_000)).toBe('90m');
    expect(shardGroupFor(30 * 86_400_000)).toBe(86_400_000);
    expect(shardGroupFor(400 * 86_400_000)).toBe(7 * 86_400_000);
  });
});
