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
      /^security_event,agency=so-tttt,detector=auth_log,host=real-host,mitre=T1110\.001,severity=high,site=dc,type=brute_force event_uid="[0-9a-f]{12}",message="m",count=9i,src_ip="203\.0\.113\.7",evidence_count=3\.0 \d{1,9}$/,
    );
  });
  it('a batch with events is in nanoseconds as a whole: its points keep their instants, its events take a slot of their second', () => {
    const e = { time: 1_733_600_000_123, detector: 'd', type: 't', severity: 'low' as const, message: 'm', evidence: {}, count: 1 };
    const point = { name: 'cpu', time: 1_733_600_000_456, tags: {}, fields: { v: 1 } };
    const withEvent = encodeBatch({ points: [point], events: [e] }, id, undefined, new EventTimes());
    expect(withEvent.precision).toBe('ns');
    expect(withEvent.lines[0]).toBe('cpu,agency=so-tttt,host=real-host,site=dc v=1.0 1733600000456000000');
    const t = BigInt(withEvent.lines[1]!.split(' ').pop()!);
    expect(t >= 1_733_600_000_000_000_000n && t < 1_733_600_001_000_000_000n).toBe(true);
    // Without events nothing changes: milliseconds, as always.
    const plain = encodeBatch({ points: [point], events: [] }, id);
    expect(plain).toEqual({ lines: ['cpu,agency=so-tttt,host=real-host,site=dc v=1.0 1733600000456'], refused: 0 });
  });
  it('stores each distinct event of one second at its own nanosecond, within that second', () => {
    const times = new EventTimes();
    const e = { time: 5_000, detector: 'd', type: 't', severity: 'low' as const, message: 'm', evidence: {}, count: 1 };
    // Identical content twice in one batch is two events (two log lines saying the same).
    const { lines } = encodeBatch({ points: [], events: [e, { ...e, message: 'n' }, { ...e, message: 'o' }, e] }, id, undefined, times);
    const t = lines.map((l) => BigInt(l.split(' ').pop()!));
    expect(new Set(t).size).toBe(4);
    for (const x of t) expect(x >= 5_000_000_000n && x < 6_000_000_000n).toBe(true);
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
  it('a slot collision moves the later event to the next free nanosecond of its second', () => {
    // Every digest asks for the second's last nanosecond (forced): the ledger moves each one on, wrapping within the second.
    const times = new EventTimes({ slot: () => 999_999_999 });
    const e = { time: 9_000, detector: 'd', type: 't', severity: 'low' as const, message: 'x', evidence: {}, count: 1 };
    const got = [0, 1, 2].map((i) => times.place(id, { ...e, message: `m${i}` }));
    expect(got).toEqual(['9999999999', '9000000000', '9000000001']);
    // Each one resent (another batch) keeps its own slot.
    times.beginBatch();
    expect([0, 1, 2].map((i) => times.place(id, { ...e, message: `m${i}` }))).toEqual(got);
  });
  it('the slot comes from the digest, in nanoseconds: distinct events of one second spread over 10^9 slots', () => {
    const times = new EventTimes();
    const e = { time: 9_000, detector: 'd', type: 't', severity: 'low' as const, message: 'x', evidence: {}, count: 1 };
    const placed = Array.from({ length: 50 }, (_, i) => times.placeWithUid(id, { ...e, message: `m${i}` }));
    for (const p of placed) expect(p.offset).toBe(Number.parseInt(p.uid, 16) % 1_000_000_000);
    // Under a thousand slots of a millisecond, 50 events would already share one with a probability near 70 %.
    expect(new Set(placed.map((p) => p.offset)).size).toBe(50);
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
    const ns = BigInt(line!.split(' ').pop()!);
    expect(parseEventLine(line!)).toMatchObject({
      host: 'real-host',
      type: 'brute_force',
      uid: Number.parseInt(uid, 16),
      second: 11_000,
      offset: Number(ns - 11_000_000_000n),
    });
    // A spool record from before events were stored in ns: its times are milliseconds.
    expect(parseEventLine(line!.replace(/ \d+$/, ' 11042'), 'ms')).toMatchObject({ second: 11_000, offset: 42_000_000 });
    // What a restarted collector learns from that line keeps the event's slot for it alone,
    // even when another event's digest asks for the same slot (forced).
    const fresh = new EventTimes({ slot: () => Number(ns - 11_000_000_000n) });
    expect(fresh.learnLines(`${line!}\ncpu,host=x v=1 5`)).toBe(1);
    expect(fresh.place(id, e)).toBe(String(ns));
    expect(fresh.place(id, { ...e, message: 'another' })).not.toBe(String(ns));
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
