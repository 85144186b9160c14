import { describe, expect, it } from 'vitest';
import { BatchSchema, decodeAgentMessage, ProtocolError } from './index.ts';
import { fastBatch } from './fast-batch.ts';

const point = (over: Record<string, unknown> = {}) => ({ name: 'cpu', time: 1_795_811_080_000, tags: { cpu: 'cpu0' }, fields: { usage_idle: 97.5, n: 3, up: true, s: 'x' }, int: ['n'], ...over });
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

  it('keeps the precise error messages for invalid batches', () => {
    expect(() => decodeAgentMessage(JSON.stringify(batch([point({ fields: {} })])))).toThrow(ProtocolError);
    expect(() => decodeAgentMessage(JSON.stringify(batch([point({ fields: {} })])))).toThrow(/points\[0\]\.fields/);
  });
});
