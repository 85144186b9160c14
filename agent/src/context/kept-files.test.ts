import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeptAttributes, KeptFiles } from './kept-files.ts';

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

  it('reads a procfs file that the kernel hands out in pieces whole (a seq_file longer than a page)', () => {
    // /proc/self/maps: one record per mapping, several pages for a Node process; the first
    // read stops at the kernel's page-sized buffer, short of what was asked for.
    const k = make();
    let same = false;
    for (let i = 0; i < 5 && !same; i++) {
      const kept = k.read('/proc/self/maps');
      const fresh = readFileSync('/proc/self/maps', 'utf8');
      expect(fresh.length).toBeGreaterThan(8192);
      // A mapping made between the two reads (the heap grew) changes the text: read again.
      same = kept === fresh;
    }
    expect(same).toBe(true);
    expect(k.size).toBe(1);
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
