import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TickReads } from './tick-reads.ts';

const nextTurn = () => new Promise((r) => setImmediate(r));

describe('TickReads: one read of a file per tick', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const read = (p: string) => readFileSync(p, 'utf8');
  const file = (name: string, text?: string) => {
    dir ??= mkdtempSync(join(tmpdir(), 'canh-tick-'));
    const f = join(dir, name);
    if (text !== undefined) writeFileSync(f, text);
    return f;
  };

  it('within a tick, reads a file once; after it, afresh', async () => {
    const f = file('stat', 'one');
    const t = new TickReads();
    t.open();
    expect(t.read(f, read)).toBe('one');
    writeFileSync(f, 'two');
    // Two inputs of one tick: the same content, from one read.
    expect(t.read(f, read)).toBe('one');
    await Promise.resolve();
    expect(t.read(f, read)).toBe('one');
    expect(t.reads).toBe(1);
    t.close();
    expect(t.read(f, read)).toBe('two');
    expect(t.reads).toBe(2);
  });

  it('outside a tick every read is a read', () => {
    const f = file('tcp', 'a');
    const t = new TickReads();
    expect(t.read(f, read)).toBe('a');
    writeFileSync(f, 'b');
    expect(t.read(f, read)).toBe('b');
    expect(t.reads).toBe(2);
  });

  it('never lasts past the turn it was opened in, even if nobody closes it', async () => {
    const f = file('meminfo', 'one');
    const t = new TickReads();
    t.open();
    expect(t.read(f, read)).toBe('one');
    writeFileSync(f, 'two');
    await nextTurn();
    expect(t.read(f, read)).toBe('two');
    t.open(); // a new tick
    writeFileSync(f, 'three');
    expect(t.read(f, read)).toBe('three');
    writeFileSync(f, 'four');
    expect(t.read(f, read)).toBe('three');
    t.close();
  });

  it('shares a failure within the tick, and tries again after it', () => {
    const f = file('utmp');
    const t = new TickReads();
    t.open();
    expect(() => t.read(f, read)).toThrow(/ENOENT/);
    writeFileSync(f, 'there');
    expect(() => t.read(f, read)).toThrow(/ENOENT/);
    t.close();
    expect(t.read(f, read)).toBe('there');
    unlinkSync(f);
    t.open();
    expect(() => t.read(f, read)).toThrow(/ENOENT/);
    t.close();
  });

  it('keeps files apart', () => {
    const a = file('a', 'A');
    const b = file('b', 'B');
    const t = new TickReads();
    t.open();
    expect([t.read(a, read), t.read(b, read), t.read(a, read)]).toEqual(['A', 'B', 'A']);
    expect(t.reads).toBe(2);
    t.close();
  });
});
