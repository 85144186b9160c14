// The report from roll-ups: buckets of `samples` and `down` spread back into samples.
import { describe, expect, it } from 'vitest';
import { bucketSeries, buildQueries, type Row } from './queries.ts';
import { monthRange } from './month.ts';

const B = 300_000;
const key = (r: Row): string => String(r.host);
const DOWN = { result_code: 1 };
const UP = { result_code: 0 };

function downTimes(rows: Row[]): number[] {
  return rows.filter((r) => r.result_code === 1).map((r) => r.time);
}

describe('bucketSeries', () => {
  it('spreads each bucket into its samples, evenly', () => {
    const rows = bucketSeries([{ host: 'a', time: 0, samples: 5, down: 0 }], key, B, DOWN, UP);
    expect(rows.map((r) => r.time)).toEqual([0, 60_000, 120_000, 180_000, 240_000]);
    expect(rows.every((r) => r.result_code === 0 && r.host === 'a' && !('samples' in r))).toBe(true);
  });

  it('puts an outage that starts in a bucket at its end, and one that goes on at the start of the next', () => {
    const rows = bucketSeries(
      [
        { host: 'a', time: 0, samples: 5, down: 2 },
        { host: 'a', time: B, samples: 5, down: 5 },
        { host: 'a', time: 2 * B, samples: 5, down: 1 },
        { host: 'a', time: 3 * B, samples: 5, down: 0 },
      ],
      key,
      B,
      DOWN,
      UP,
    );
    // One run: the last 2 samples of bucket 0, all of bucket 1, the first of bucket 2.
    expect(downTimes(rows)).toEqual([180_000, 240_000, 300_000, 360_000, 420_000, 480_000, 540_000, 600_000]);
    expect(rows).toHaveLength(20);
  });

  it('keeps series apart and never makes more down samples than samples', () => {
    const rows = bucketSeries(
      [
        { host: 'b', time: B, samples: 2, down: 9 },
        { host: 'a', time: 0, samples: 1, down: 0 },
      ],
      key,
      B,
      DOWN,
      UP,
    );
    expect(rows.filter((r) => r.host === 'b').map((r) => r.result_code)).toEqual([1, 1]);
    expect(rows.filter((r) => r.host === 'a').map((r) => r.result_code)).toEqual([0]);
  });
});

describe('roll-up statements', () => {
  it('read the roll-up and events policies and leave the raw statements alone', () => {
    const range = monthRange('2026-10', 'Asia/Ho_Chi_Minh');
    const raw = buildQueries('so-tttt', range);
    const roll = buildQueries('so-tttt', range, { rollup: true, rollupPolicy: 'rollup_5m', eventsPolicy: 'events' });
    expect(raw.ping_samples).toContain('FROM "ping"');
    expect(roll.ping_samples).toContain('sum("samples") AS "samples" FROM "rollup_5m"."ping"');
    expect(roll.net_peak_in).toContain('max("bytes_recv_rate_max")');
    expect(roll.events_by_type).toContain('FROM "events"."security_event"');
    expect(roll.alert_changes).toContain('FROM "events"."alert"');
    for (const q of Object.values(roll)) expect(q).toMatch(/FROM "(rollup_5m|events)"\./);
  });
});
