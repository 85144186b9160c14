import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, PointEncoder, RowsWriter, type Batch, type Point, type Row } from '@canh/protocol';
import { encodeBatch, identityTags } from './identity.ts';

const id = { host: 'real-host', agency: 'so-tttt', site: 'dc' };

describe('encodeBatch', () => {
  it('the registry identity overrides tags the agent claims', () => {
    const { lines } = encodeBatch({ points: [{ name: 'cpu', time: 1, tags: { host: 'fake', agency: 'other', site: 'x', cpu: 'cpu0' }, fields: { v: 1 } }], events: [] }, id);
    expect(lines).toEqual(['cpu,agency=so-tttt,cpu=cpu0,host=real-host,site=dc v=1.0 1']);
  });
  it('stores events as security_event with evidence as fields', () => {
    const { lines } = encodeBatch(
      { points: [], events: [{ time: 5, detector: 'auth_log', type: 'brute_force', severity: 'high', message: 'm', evidence: { src_ip: '203.0.113.7', count: 3 }, count: 9, mitre: 'T1110.001' }] },
      id,
    );
    expect(lines).toEqual([
      'security_event,agency=so-tttt,detector=auth_log,host=real-host,mitre=T1110.001,severity=high,site=dc,type=brute_force message="m",count=9i,src_ip="203.0.113.7",evidence_count=3.0 5',
    ]);
  });
  it('spreads same-millisecond events of one type so none overwrites another', () => {
    const e = { time: 5, detector: 'd', type: 't', severity: 'low' as const, message: 'm', evidence: {}, count: 1 };
    const { lines } = encodeBatch({ points: [], events: [e, { ...e, message: 'n' }, { ...e, message: 'o' }] }, id);
    expect(lines.map((l) => l.split(' ').pop())).toEqual(['5', '6', '7']);
  });
  it('counts points with nothing writable as refused', () => {
    const r = encodeBatch({ points: [{ name: 'cpu', time: 1, tags: {}, fields: { v: Number.NaN } }], events: [] }, id);
    expect(r).toEqual({ lines: [], refused: 1 });
  });
  it('writes rows as the same lines as the points they stand for, with or without the per-connection encoder', () => {
    const points: Point[] = [
      { name: 'cpu', time: 10, tags: { cpu: 'cpu0', host: 'fake' }, fields: { usage_idle: 97.5, n: 3 }, int: ['n'] },
      { name: 'cpu', time: 20, tags: { cpu: 'cpu0', host: 'fake' }, fields: { usage_idle: 96 }, int: ['n'] },
      { name: 'disk', time: 10, tags: { path: '/a b', 'k=1': 'v,2' }, fields: { s: 'say "hi"', up: true } },
      { name: 'cpu', time: 30, tags: { cpu: 'cpu1' }, fields: { usage_idle: 1, n: 2 } },
    ];
    const w = new RowsWriter();
    for (const p of points) w.add(p);
    const batch = decodeAgentMessage(`{"type":"batch","seq":1,${w.json()}}`) as Batch;
    expect(batch.points).toEqual([]);
    expect(batch.rows).toHaveLength(4);
    const want = encodeBatch({ points, events: [] }, id).lines;
    expect(want).toHaveLength(4);
    expect(encodeBatch(batch, id).lines).toEqual(want);
    const encoder = new PointEncoder(identityTags(id));
    expect(encodeBatch(batch, id, encoder).lines).toEqual(want);
    // Second batch on the same connection: from the encoder's cache, still the same.
    expect(encodeBatch(batch, id, encoder).lines).toEqual(want);
    // Mixed spellings in one batch: points first, then rows.
    expect(encodeBatch({ ...batch, points: points.slice(0, 1) }, id, encoder).lines).toEqual([want[0], ...want]);
  });
  it('counts rows with nothing writable as refused', () => {
    const batch = { points: [], events: [], series: [{ name: 'm', tags: {}, fields: ['a', 'b'] }], rows: [[0, 1, null, 2] as Row, [0, 2, 1, null] as Row] };
    expect(encodeBatch(batch, id, new PointEncoder(identityTags(id))).lines).toEqual(['m,agency=so-tttt,host=real-host,site=dc b=2.0 1', 'm,agency=so-tttt,host=real-host,site=dc a=1.0 2']);
    // A NaN cannot come over JSON, but a caller of encodeBatch may hand one over.
    const nan = { ...batch, rows: [[0, 1, Number.NaN, null] as Row] };
    expect(encodeBatch(nan, id, new PointEncoder(identityTags(id)))).toEqual({ lines: [], refused: 1 });
    expect(encodeBatch(nan, id)).toEqual({ lines: [], refused: 1 });
  });
});
