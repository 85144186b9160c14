import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, PointEncoder, RowsWriter, type Batch, type Point, type Row } from '@canh/protocol';
import { encodeBatch, EventTimes, identityTags } from './identity.ts';
import { parseEventLine } from './event-times.ts';

const id = { host: 'real-host', agency: 'so-tttt', site: 'dc' };

describe('encodeBatch', () => {
  it('the registry identity overrides tags the agent claims', () => {
    const { lines } = encodeBatch(
      { points: [{ name: 'cpu', time: 1, tags: { host: 'fake', agency: 'other', site: 'x', cpu: 'cpu0' }, fields: { v: 1 } }], events: [] },
      id,
    );
    expect(lines).toEqual(['cpu,agency=so-tttt,cpu=cpu0,host=real-host,site=dc v=1.0 1']);
  });
  it('stores events as security_event with evidence as fields', () => {
    const { lines } = encodeBatch(
      {
        points: [],
        events: [
          {
            time: 5,
            detector: 'auth_log',
            type: 'brute_force',
            severity: 'high',
            message: 'm',
            evidence: { src_ip: '203.0.113.7', count: 3 },
            count: 9,
            mitre: 'T1110.001',
          },
        ],
      },
      id,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^security_event,agency=so-tttt,detector=auth_log,host=real-host,mitre=T1110\.001,severity=high,site=dc,type=brute_force event_uid="[0-9a-f]{12}",message="m",count=9i,src_ip="203\.0\.113\.7",evidence_count=3\.0 \d{1,3}$/,
    );
  });
  it('stores each distinct event of one second at its own millisecond, within that second', () => {
    const times = new EventTimes();
    const e = { time: 5_000, detector: 'd', type: 't', severity: 'low' as const, message: 'm', evidence: {}, count: 1 };
    // Identical content twice in one batch is two events (two log lines saying the same).
    const { lines } = encodeBatch({ points: [], events: [e, { ...e, message: 'n' }, { ...e, message: 'o' }, e] }, id, undefined, times);
    const t = lines.map((l) => Number(l.split(' ').pop()));
    expect(new Set(t).size).toBe(4);
    for (const x of t) expect(x >= 5_000 && x < 6_000).toBe(true);
  });
  it('a resent batch gets the same times; a different event of the same second in another batch does not', () => {
    const times = new EventTimes();
    const e = {
      time: 7_000,
      detector: 'auth_log',
      type: 'brute_force',
      severity: 'high' as const,
      message: 'from a',
      evidence: { src_ip: '198.51.100.21' },
      count: 5,
    };
    const batch = { points: [], events: [e, e] };
    const first = encodeBatch(batch, id, undefined, times).lines;
    expect(encodeBatch(batch, id, undefined, times).lines).toEqual(first);
    // Even a collector that never saw the first send (restart) puts it at the same times.
    expect(encodeBatch(batch, id, undefined, new EventTimes()).lines).toEqual(first);
    const other = encodeBatch({ points: [], events: [{ ...e, message: 'from b', evidence: { src_ip: '198.51.100.22' } }] }, id, undefined, times).lines;
    expect(first.map((l) => l.split(' ').pop())).not.toContain(other[0]!.split(' ').pop());
  });
  it('a digest collision moves the later event to the next free millisecond of its second', () => {
    // A ledger of one second is full but for one millisecond: whatever the digest, it lands there.
    const times = new EventTimes();
    const e = { time: 9_000, detector: 'd', type: 't', severity: 'low' as const, message: 'x', evidence: {}, count: 1 };
    const got = new Set<number>();
    for (let i = 0; i < 999; i++) got.add(times.place(id, { ...e, message: `m${i}` }));
    expect(got.size).toBe(999);
    const last = times.place(id, { ...e, message: 'the last one' });
    expect(got.has(last)).toBe(false);
    expect(last >= 9_000 && last < 10_000).toBe(true);
  });
  it('event_uid is the first field; an attacker-written message or evidence cannot pose as it when the spool is read back', () => {
    const times = new EventTimes();
    const e = {
      time: 11_000,
      detector: 'auth_log',
      type: 'brute_force',
      severity: 'high' as const,
      message: 'x" event_uid="000000000000",a=',
      evidence: { event_uid: '000000000001', user: 'event_uid="000000000002"' },
      count: 1,
    };
    const [line] = encodeBatch({ points: [], events: [e] }, id, undefined, times).lines;
    expect(line).toMatch(/ event_uid="[0-9a-f]{12}",message=/);
    expect(line).toContain('evidence_event_uid="000000000001"');
    const uid = / event_uid="([0-9a-f]{12})"/.exec(line!)![1]!;
    expect(uid).not.toMatch(/^00000000000[012]$/);
    expect(parseEventLine(line!)).toMatchObject({
      host: 'real-host',
      type: 'brute_force',
      uid: Number.parseInt(uid, 16),
      time: Number(line!.split(' ').pop()),
    });
    // What a restarted collector learns from that line keeps the event's millisecond for it alone.
    const fresh = new EventTimes();
    expect(fresh.learnLines(`${line!}\ncpu,host=x v=1 5`)).toBe(1);
    expect(fresh.place(id, e)).toBe(Number(line!.split(' ').pop()));
    expect(fresh.place(id, { ...e, message: 'another' })).not.toBe(Number(line!.split(' ').pop()));
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
    expect(encodeBatch(batch, id, new PointEncoder(identityTags(id))).lines).toEqual([
      'm,agency=so-tttt,host=real-host,site=dc b=2.0 1',
      'm,agency=so-tttt,host=real-host,site=dc a=1.0 2',
    ]);
    // A NaN cannot come over JSON, but a caller of encodeBatch may hand one over.
    const nan = { ...batch, rows: [[0, 1, Number.NaN, null] as Row] };
    expect(encodeBatch(nan, id, new PointEncoder(identityTags(id)))).toEqual({ lines: [], refused: 1 });
    expect(encodeBatch(nan, id)).toEqual({ lines: [], refused: 1 });
  });
});
