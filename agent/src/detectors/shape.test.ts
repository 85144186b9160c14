import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as shape from './shape.ts';

// The zod schema a baseline shape replaces, and the shape: they must agree on every value.
const zodSchema = z.object({
  entries: z.record(z.string(), z.object({ kind: z.enum(['file', 'dir']), size: z.number(), sha256: z.string().optional() })),
  roots: z.array(z.string()),
  conflicts: z.record(z.string(), z.object({ mac: z.string() })).default({}),
});
const sameShape = shape.object({
  entries: shape.record(shape.object({ kind: shape.oneOf(['file', 'dir']), size: shape.number, sha256: shape.optional(shape.string) })),
  roots: shape.array(shape.string),
  conflicts: shape.withDefault(shape.record(shape.object({ mac: shape.string })), () => ({})),
});

const entry = { kind: 'file', size: 3 };
const values: unknown[] = [
  { entries: {}, roots: [] },
  { entries: { '/a': entry, '/b': { ...entry, sha256: 'ab', extra: true } }, roots: ['/'], conflicts: { '10.0.0.1': { mac: 'aa', since: 1 } } },
  { entries: { '/a': { ...entry, kind: 'socket' } }, roots: [] },
  { entries: { '/a': { ...entry, size: '3' } }, roots: [] },
  { entries: { '/a': { ...entry, sha256: 5 } }, roots: [] },
  { entries: [], roots: [] },
  { entries: {}, roots: [1] },
  { entries: {}, roots: 'x' },
  { entries: {} },
  { entries: {}, roots: [], conflicts: { x: {} } },
  { entries: {}, roots: [], conflicts: null },
  null,
  [],
  'text',
];

describe('baseline shapes', () => {
  it('accept, drop and default exactly as the zod schema they replace', () => {
    for (const v of values) {
      const want = zodSchema.safeParse(v);
      const got = sameShape.safeParse(v);
      expect(got.success, JSON.stringify(v)).toBe(want.success);
      if (got.success && want.success) expect(got.data, JSON.stringify(v)).toEqual(want.data);
    }
  });

  it('name the path of the first problem', () => {
    const r = sameShape.safeParse({ entries: { '/a': { kind: 'file', size: 'big' } }, roots: [] });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues[0]).toEqual({ path: ['entries', '/a', 'size'], message: 'expected a number' });
  });
});
