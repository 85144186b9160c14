import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, PointEncoder, encodePoint, pointsOf, RowsWriter, type Batch, type Point } from './index.ts';

const cycle = (t: number): Point[] => [
  { name: 'cpu', time: t, tags: { cpu: 'cpu0' }, fields: { usage_idle: 97.5 + t / 1e12, usage_user: 1 } },
  { name: 'cpu', time: t, tags: { cpu: 'cpu1' }, fields: { usage_idle: 50, usage_user: 2.25 } },
  { name: 'mem', time: t, tags: {}, fields: { used: 2 ** 31, used_percent: 12.5 }, int: ['used'] },
  { name: 'svc', time: t, tags: { path: 'a b,c=d' }, fields: { state: 'say "hi"\\', up: true } },
];

function decode(w: RowsWriter, points: Point[] = []): Batch {
  return decodeAgentMessage(`{"type":"batch","seq":1,"points":${JSON.stringify(points)},${w.json()}}`) as Batch;
}

describe('RowsWriter and pointsOf', () => {
  it('round-trips points through the rows spelling, series written once', () => {
    const points = [...cycle(1_700_000_000_000), ...cycle(1_700_000_010_000), ...cycle(1_700_000_020_000)];
    const w = new RowsWriter();
    for (const p of points) w.add(p);
    const b = decode(w);
    expect(b.series).toHaveLength(4);
    expect(b.rows).toHaveLength(12);
    expect(pointsOf(b)).toEqual(points);
    // Smaller than the same points spelled as objects.
    expect(w.json().length).toBeLessThan(JSON.stringify(points).length * 0.6);
  });

  it('says exactly how many bytes each point added', () => {
    const w = new RowsWriter();
    let total = 0;
    for (const p of [...cycle(1), ...cycle(2)]) total += w.add(p);
    // json() adds the wrapper and drops one separator per non-empty list.
    expect(w.json().length).toBe(total + '"series":[],"rows":[]'.length - 2);
  });

  it('undo() takes back the last point and the series it brought', () => {
    const w = new RowsWriter();
    const [a, b] = cycle(1);
    w.add(a!);
    const before = w.json();
    w.add(b!); // a new series
    w.undo();
    expect(w.json()).toBe(before);
    w.add(cycle(2)[0]!); // same series as a: no new series
    const two = w.json();
    w.add(cycle(3)[0]!);
    w.undo();
    expect(w.json()).toBe(two);
    w.undo(); // only the last add is taken back
    expect(w.json()).toBe(two);
    w.add(b!);
    expect(pointsOf(decode(w)).map((p) => p.tags.cpu)).toEqual(['cpu0', 'cpu0', 'cpu1']);
  });

  it('keeps series apart when fields or integer fields differ', () => {
    const w = new RowsWriter();
    w.add({ name: 'm', time: 1, tags: {}, fields: { a: 1 } });
    w.add({ name: 'm', time: 2, tags: {}, fields: { a: 1, b: 2 } });
    w.add({ name: 'm', time: 3, tags: {}, fields: { a: 1 }, int: ['a'] });
    w.add({ name: 'm', time: 4, tags: { k: 'v' }, fields: { a: 1 } });
    w.add({ name: 'm', time: 5, tags: {}, fields: { a: 7 } });
    const b = decode(w);
    expect(b.series).toHaveLength(4);
    expect(b.rows.map((r) => r[0])).toEqual([0, 1, 2, 3, 0]);
    const lines = new PointEncoder({ host: 'h' });
    const got: string[] = [];
    lines.encodeRows(b.series, b.rows, got);
    expect(got).toEqual(['m,host=h a=1.0 1', 'm,host=h a=1.0,b=2.0 2', 'm,host=h a=1i 3', 'm,host=h,k=v a=1.0 4', 'm,host=h a=7.0 5']);
  });

  it('writes values JSON cannot carry as no value, and skips points with none', () => {
    const w = new RowsWriter();
    expect(w.add({ name: 'm', time: 1, tags: {}, fields: { a: Number.NaN, b: 2 } })).toBeGreaterThan(0);
    expect(w.add({ name: 'm', time: 2, tags: {}, fields: { a: Number.POSITIVE_INFINITY, b: Number.NaN } })).toBe(0);
    expect(w.add({ name: 'e', time: 3, tags: {}, fields: {} })).toBe(0);
    expect(w.skipped).toBe(2);
    const b = decode(w);
    expect(b.rows).toEqual([[0, 1, null, 2]]);
    expect(pointsOf(b)).toEqual([{ name: 'm', time: 1, tags: {}, fields: { b: 2 } }]);
  });

  it('pointsOf gives points first, then rows, and builds only the wanted measurements', () => {
    const w = new RowsWriter();
    for (const p of cycle(5)) w.add(p);
    const extra: Point = { name: 'agent', time: 4, tags: {}, fields: { online: 1 } };
    const b = decode(w, [extra]);
    expect(pointsOf(b).map((p) => p.name)).toEqual(['agent', 'cpu', 'cpu', 'mem', 'svc']);
    expect(pointsOf(b, (m) => m === 'mem' || m === 'agent').map((p) => p.name)).toEqual(['agent', 'mem']);
    expect(pointsOf({ points: [extra] }, (m) => m === 'cpu')).toEqual([]);
  });

  it('the encoder writes rows exactly as encodePoint writes the same points', () => {
    const points = [...cycle(1_700_000_000_000), ...cycle(1_700_000_010_000)];
    const w = new RowsWriter();
    for (const p of points) w.add(p);
    const b = decode(w);
    const tags = { host: 'h1', agency: 'so', site: 'dc' };
    const out: string[] = [];
    expect(new PointEncoder(tags).encodeRows(b.series, b.rows, out)).toBe(0);
    expect(out).toEqual(points.map((p) => encodePoint(p, tags)));
  });
});
