import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TurnReads } from './context.ts';

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('TurnReads: one read of a file per turn of the event loop', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const read = (p: string) => readFileSync(p, 'utf8');

  it('reads a file once in a turn, and afresh in the next', async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-turn-'));
    const f = join(dir, 'stat');
    writeFileSync(f, 'one');
    const t = new TurnReads();
    expect(t.read(f, read)).toBe('one');
    writeFileSync(f, 'two');
    // Same turn (two inputs of one tick): the same content, from one read.
    expect(t.read(f, read)).toBe('one');
    await Promise.resolve();
    expect(t.read(f, read)).toBe('one');
    expect(t.reads).toBe(1);
    await nextTurn();
    expect(t.read(f, read)).toBe('two');
    expect(t.reads).toBe(2);
  });

  it('shares a failure within the turn, and tries again in the next', async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-turn-'));
    const f = join(dir, 'utmp');
    const t = new TurnReads();
    expect(() => t.read(f, read)).toThrow(/ENOENT/);
    writeFileSync(f, 'there');
    expect(() => t.read(f, read)).toThrow(/ENOENT/);
    await nextTurn();
    expect(t.read(f, read)).toBe('there');
    unlinkSync(f);
    await nextTurn();
    expect(() => t.read(f, read)).toThrow(/ENOENT/);
  });

  it('keeps files apart', () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-turn-'));
    writeFileSync(join(dir, 'a'), 'A');
    writeFileSync(join(dir, 'b'), 'B');
    const t = new TurnReads();
    expect([t.read(join(dir, 'a'), read), t.read(join(dir, 'b'), read), t.read(join(dir, 'a'), read)]).toEqual(['A', 'B', 'A']);
    expect(t.reads).toBe(2);
  });
});
