import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeptAttributes, KeptFiles, TickReads } from './context.ts';

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

describe('KeptFiles: procfs files kept open and read again from the start', () => {
  const kept: KeptFiles[] = [];
  afterEach(() => {
    for (const k of kept.splice(0)) k.closeAll();
  });
  const make = (max?: number) => {
    const k = new KeptFiles(max);
    kept.push(k);
    return k;
  };

  it('gives what the kernel writes now at every read, from one descriptor', async () => {
    const k = make();
    const first = Number(k.read('/proc/uptime').split(' ')[0]);
    await new Promise((r) => setTimeout(r, 30));
    const second = Number(k.read('/proc/uptime').split(' ')[0]);
    expect(k.size).toBe(1);
    expect(second).toBeGreaterThan(first);
    expect(k.read('/proc/stat').startsWith('cpu ')).toBe(true);
    expect(k.size).toBe(2);
  });

  it('reads files longer than its buffer whole, and keeps no more than its bound', () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-kept-'));
    try {
      const big = 'x'.repeat(100_000) + '\nend';
      writeFileSync(join(dir, 'big'), big);
      writeFileSync(join(dir, 'small'), 'small');
      const k = make(1);
      expect(k.read(join(dir, 'big'))).toBe(big);
      expect(k.read(join(dir, 'small'))).toBe('small');
      expect(k.size).toBe(1);
      // Rewritten in place: the kept descriptor sees the new content.
      writeFileSync(join(dir, 'big'), 'short now');
      expect(k.read(join(dir, 'big'))).toBe('short now');
      expect(() => k.read(join(dir, 'absent'))).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('KeptAttributes: sysfs attributes kept open while the names mean the same objects', () => {
  const kept: KeptAttributes[] = [];
  afterEach(() => {
    for (const k of kept.splice(0)) k.closeAll();
  });
  const make = (max?: number) => {
    const k = new KeptAttributes(max);
    kept.push(k);
    return k;
  };

  it("reads this machine's interface flags as a fresh read does, from one kept descriptor", () => {
    const k = make();
    const names = readdirSync('/sys/class/net');
    const generation = names.join('\n');
    for (let i = 0; i < 3; i++) {
      for (const n of names) expect(k.read(`/sys/class/net/${n}/flags`, generation)).toBe(readFileSync(`/sys/class/net/${n}/flags`, 'utf8'));
    }
    expect(k.size).toBe(names.length);
    // The speed of an interface that has none (loopback: EINVAL) fails as a read does, and is not kept.
    expect(() => readFileSync('/sys/class/net/lo/speed', 'utf8')).toThrow();
    expect(() => k.read('/sys/class/net/lo/speed', generation)).toThrow();
    expect(k.size).toBe(names.length);
  });

  it('follows the object under its descriptor until the generation changes, then opens the name again', () => {
    // A regular file renamed under a kept descriptor behaves as an interface renamed in sysfs.
    const dir = mkdtempSync(join(tmpdir(), 'canh-attr-'));
    try {
      writeFileSync(join(dir, 'eth0'), 'first');
      const k = make();
      expect(k.read(join(dir, 'eth0'), 'eth0')).toBe('first');
      renameSync(join(dir, 'eth0'), join(dir, 'wan0'));
      writeFileSync(join(dir, 'eth0'), 'second');
      // Same generation: still the object it had open (why the caller must say when names change).
      expect(k.read(join(dir, 'eth0'), 'eth0')).toBe('first');
      // The names changed: every descriptor is closed and the name opened again.
      expect(k.read(join(dir, 'eth0'), 'wan0\neth0')).toBe('second');
      expect(k.size).toBe(1);
      // A path that cannot be opened throws, as a read would.
      expect(() => k.read(join(dir, 'gone'), 'wan0\neth0')).toThrow(/ENOENT/);
      // Bounded.
      const small = make(1);
      small.read(join(dir, 'eth0'), 'g');
      expect(small.read(join(dir, 'wan0'), 'g')).toBe('first');
      expect(small.size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
