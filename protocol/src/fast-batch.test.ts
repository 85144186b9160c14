import { describe, expect, it } from 'vitest';
import { BatchSchema, decodeAgentMessage, ProtocolError } from './index.ts';
import { fastBatch } from './fast-batch.ts';

const point = (over: Record<string, unknown> = {}) => ({
  name: 'cpu',
  time: 1_795_811_080_000,
  tags: { cpu: 'cpu0' },
  fields: { usage_idle: 97.5, n: 3, up: true, s: 'x' },
  int: ['n'],
  ...over,
});
const batch = (points: unknown[], over: Record<string, unknown> = {}) => ({ type: 'batch', seq: 7, points, events: [], ...over });

// The fast path must never accept what the schema refuses, and must give the same value.
function agrees(raw: unknown): 'fast' | 'schema' {
  const text = JSON.stringify(raw);
  const fast = fastBatch(JSON.parse(text));
  const schema = BatchSchema.safeParse(JSON.parse(text));
  if (fast !== undefined) {
    expect(schema.success).toBe(true);
    expect(fast).toEqual(schema.data);
    return 'fast';
  }
  return 'schema';
}

describe('fastBatch', () => {
  it('takes ordinary batches and fills in the defaults as the schema does', () => {
    expect(agrees(batch([point(), point({ tags: undefined, int: undefined })]))).toBe('fast');
    expect(agrees({ type: 'batch', seq: 0 })).toBe('fast');
    expect(agrees(batch([point({ name: 'x'.repeat(256), tags: { k: 'v'.repeat(1024) } })]))).toBe('fast');
  });

  it('leaves everything doubtful or invalid to the schema', () => {
    // Valid, but events are the schema's job.
    expect(agrees(batch([point()], { events: [{ time: 1, detector: 'd', type: 't', severity: 'high', message: 'm' }] }))).toBe('schema');
    const cases: unknown[] = [
      batch([point({ name: '' })]),
      batch([point({ name: 'a\nb' })]),
      batch([point({ name: 'x'.repeat(257) })]),
      batch([point({ time: 1.5 })]),
      batch([point({ time: -1 })]),
      batch([point({ time: '1' })]),
      batch([point({ fields: {} })]),
      batch([point({ fields: { a: null } })]),
      batch([point({ fields: { a: { b: 1 } } })]),
      batch([point({ fields: { 'a\r': 1 } })]),
      batch([point({ fields: { a: 'x'.repeat(65_537) } })]),
      batch([point({ tags: { k: 1 } })]),
      batch([point({ tags: { k: 'v'.repeat(1025) } })]),
      batch([point({ tags: [] })]),
      batch([point({ int: 'n' })]),
      batch([point({ int: [''] })]),
      batch([point({ extra: 1 })]),
      batch([null]),
      batch([point()], { seq: -1 }),
      batch([point()], { seq: 1.5 }),
      batch([point()], { extra: true }),
      { type: 'batch', seq: 7, points: {} },
      { type: 'hello', seq: 1, points: [] },
    ];
    for (const c of cases) {
      expect(agrees(c)).toBe('schema');
      expect(BatchSchema.safeParse(c).success).toBe(false);
    }
    // __proto__ keys: the schema's copy would drop them; the fast path does not guess.
    expect(fastBatch(JSON.parse('{"type":"batch","seq":1,"points":[{"name":"m","time":1,"tags":{"__proto__":"x"},"fields":{"a":1}}]}'))).toBeUndefined();
  });

  it('takes the rows spelling, and leaves anything doubtful in it to the schema', () => {
    const series = [
      { name: 'mem', tags: { k: 'v' }, fields: ['used', 'pct'], int: ['used'] },
      { name: 'up', fields: ['ok'] },
    ];
    const rows = [
      [0, 10, 5, 1.5],
      [1, 10, true],
      [0, 20, null, 'x'],
    ];
    expect(agrees({ type: 'batch', seq: 1, series, rows })).toBe('fast');
    expect(agrees({ type: 'batch', seq: 1, points: [point()], series, rows, events: [] })).toBe('fast');
    expect(agrees({ type: 'batch', seq: 1, series, rows: [] })).toBe('fast');
    const cases: unknown[] = [
      { type: 'batch', seq: 1, series, rows: [[2, 10, 1]] }, // no such series
      { type: 'batch', seq: 1, series, rows: [[-1, 10, 1]] },
      { type: 'batch', seq: 1, series, rows: [[0.5, 10, 1, 1]] },
      { type: 'batch', seq: 1, series, rows: [[0, 10, 1]] }, // one value for two fields
      { type: 'batch', seq: 1, series, rows: [[0, 10, 1, 2, 3]] },
      { type: 'batch', seq: 1, series, rows: [[0, 10, null, null]] }, // nothing measured
      { type: 'batch', seq: 1, series, rows: [[0, -1, 1, 2]] },
      { type: 'batch', seq: 1, series, rows: [[0, 1.5, 1, 2]] },
      { type: 'batch', seq: 1, series, rows: [[0, 10, 1, { a: 1 }]] },
      { type: 'batch', seq: 1, series, rows: [[0, 10, 1, 'x'.repeat(65_537)]] },
      { type: 'batch', seq: 1, series, rows: [[0, 10]] },
      { type: 'batch', seq: 1, series, rows: [{ 0: 0 }] },
      { type: 'batch', seq: 1, series, rows: {} },
      { type: 'batch', seq: 1, rows: [[0, 10, 1]] }, // rows without series
      { type: 'batch', seq: 1, series: [{ name: 'm', fields: [] }], rows: [] },
      { type: 'batch', seq: 1, series: [{ name: 'm', fields: ['a', 'a'] }], rows: [] },
      { type: 'batch', seq: 1, series: [{ name: 'm', fields: ['a\nb'] }], rows: [] },
      { type: 'batch', seq: 1, series: [{ name: '', fields: ['a'] }], rows: [] },
      { type: 'batch', seq: 1, series: [{ name: 'm', fields: ['a'], tags: { k: 1 } }], rows: [] },
      { type: 'batch', seq: 1, series: [{ name: 'm', fields: ['a'], extra: 1 }], rows: [] },
      { type: 'batch', seq: 1, series: [{ name: 'm', fields: ['a'], int: 'a' }], rows: [] },
      { type: 'batch', seq: 1, series: {}, rows: [] },
    ];
    for (const c of cases) {
      expect(agrees(c)).toBe('schema');
      expect(BatchSchema.safeParse(c).success).toBe(false);
    }
  });

  it('names the row that does not fit its series', () => {
    expect(() => decodeAgentMessage('{"type":"batch","seq":1,"series":[{"name":"m","fields":["a"]}],"rows":[[0,1,1],[3,1,1]]}')).toThrow(
      /rows\[1\]: series 3 does not exist/,
    );
    expect(() => decodeAgentMessage('{"type":"batch","seq":1,"series":[{"name":"m","fields":["a"]}],"rows":[[0,1,1,2]]}')).toThrow(
      /rows\[0\]: has 2 values for the 1 fields/,
    );
  });

  it('keeps the precise error messages for invalid batches', () => {
    expect(() => decodeAgentMessage(JSON.stringify(batch([point({ fields: {} })])))).toThrow(ProtocolError);
    expect(() => decodeAgentMessage(JSON.stringify(batch([point({ fields: {} })])))).toThrow(/points\[0\]\.fields/);
  });
});
