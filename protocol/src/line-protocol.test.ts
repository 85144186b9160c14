import { describe, expect, it } from 'vitest';
import { encodePoint, escapeFieldString, escapeTag, PointEncoder } from './line-protocol.ts';
import type { Point } from './messages.ts';

/** Split on a separator that is neither backslash-escaped nor inside a quoted string. */
function splitTopLevel(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      cur += c + (s[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const base = { name: 'cpu', time: 1795811080000, tags: {}, fields: { v: 1.5 } };

describe('line protocol', () => {
  it('encodes floats with a decimal point and ints with i', () => {
    expect(encodePoint({ ...base, fields: { a: 2, b: 2, c: 0.5 }, int: ['b'] })).toBe('cpu a=2.0,b=2i,c=0.5 1795811080000');
  });
  it('escapes spaces, commas and equals in tags and measurement', () => {
    expect(encodePoint({ ...base, name: 'my meas,x', tags: { 'k y': 'a,b=c d' } })).toBe('my\\ meas\\,x,k\\ y=a\\,b\\=c\\ d v=1.5 1795811080000');
  });
  it('escapes quotes and backslashes in string fields; newlines stay inside the quotes', () => {
    expect(escapeFieldString('say "hi"\\\nnext')).toBe('"say \\"hi\\"\\\\\nnext"');
  });
  it('cannot be injected through a tag value or field string', () => {
    const line = encodePoint({ ...base, tags: { user: 'x v=999 1\nevil,host=a v=1' }, fields: { msg: 'a" injected=1i\nmem v=2' } })!;
    // Outside quoted strings, exactly two unescaped spaces: tags | fields | time.
    const parts = splitTopLevel(line, ' ');
    expect(parts).toHaveLength(3);
    expect(splitTopLevel(parts[0]!, ',')).toHaveLength(2); // measurement + one tag
    expect(splitTopLevel(parts[1]!, ',').map((f) => f.split('=')[0])).toEqual(['msg']);
    expect(line.endsWith(' 1795811080000')).toBe(true);
  });
  it('keeps unicode as is', () => {
    expect(encodePoint({ ...base, tags: { agency: 'Sở Thông tin và Truyền thông' }, fields: { m: 'Cảnh báo' } })).toBe(
      'cpu,agency=Sở\\ Thông\\ tin\\ và\\ Truyền\\ thông m="Cảnh báo" 1795811080000',
    );
  });
  it('extra tags win over the point tags', () => {
    expect(encodePoint({ ...base, tags: { host: 'liar', agency: 'other' } }, { host: 'real', agency: 'a' })).toBe('cpu,agency=a,host=real v=1.5 1795811080000');
  });
  it('skips non-finite values and empty tag values; no fields left → undefined', () => {
    expect(encodePoint({ ...base, tags: { e: '' }, fields: { a: Number.NaN, b: 1 } })).toBe('cpu b=1.0 1795811080000');
    expect(encodePoint({ ...base, fields: { a: Number.POSITIVE_INFINITY } })).toBeUndefined();
  });
  it('booleans', () => {
    expect(encodePoint({ ...base, fields: { up: true, down: false } })).toBe('cpu up=true,down=false 1795811080000');
  });
  it('keeps plain backslashes in tags, drops those that would swallow a separator', () => {
    expect(escapeTag('C:\\Windows\\')).toBe('C:\\Windows');
    expect(escapeTag('a\\ b\\,c')).toBe('a\\ b\\,c');
  });
});

describe('PointEncoder (per-connection series cache)', () => {
  const id = { host: 'web 1', agency: 'so,tttt', site: '' };
  const points: Point[] = [
    { ...base, name: 'cpu', tags: { cpu: 'cpu-total' }, fields: { usage_user: 1.25, usage_idle: 98 } },
    { ...base, name: 'cpu', tags: { cpu: 'cpu0' }, fields: { usage_user: 3 } },
    {
      ...base,
      name: 'disk',
      tags: { path: '/var/www', device: 'vda1', host: 'spoofed', site: 'spoofed' },
      fields: { used: 5, free: 7 },
      int: ['used', 'free'],
    },
    { ...base, name: 'net', tags: { interface: 'eth 0=x,y' }, fields: { bytes_recv: 10 }, int: ['bytes_recv'] },
    { ...base, name: 'x', tags: {}, fields: { s: 'a "b" \\ c', b: true, n: Number.NaN } },
    { ...base, name: 'x', tags: {}, fields: { n: Number.NaN } },
    // Tag sets a naive "k=v" or separator-joined cache key would confuse with each other.
    { ...base, name: 'c', tags: { a: 'b1:c' }, fields: { v: 1 } },
    { ...base, name: 'c', tags: { a: 'b', '1': 'c' }, fields: { v: 2 } },
    { ...base, name: 'c', tags: { 'a\u0000b': 'c' }, fields: { v: 3 } },
    { ...base, name: 'c', tags: { a: 'b\u0000c' }, fields: { v: 4 } },
    { ...base, name: 'c', tags: { a: '1:b' }, fields: { v: 5 } },
    { ...base, name: 'c', tags: { a1: 'b' }, fields: { v: 6 } },
  ];

  it('writes exactly what encodePoint writes, first time and from the cache', () => {
    const enc = new PointEncoder(id);
    for (let round = 0; round < 3; round++)
      for (const p of points) expect(enc.encode({ ...p, time: p.time + round })).toBe(encodePoint({ ...p, time: p.time + round }, id));
    // The registry's host wins over the agent's, and its empty site drops the agent's site.
    expect(enc.encode(points[2]!)).toBe('disk,agency=so\\,tttt,device=vda1,host=web\\ 1,path=/var/www used=5i,free=7i 1795811080000');
    // Every distinct tag set got its own entry (none was answered from another's).
    expect(enc.cachedSeries).toBe(11);
  });

  it('notices when a series changes its fields or its int list between points', () => {
    const enc = new PointEncoder(id);
    const tags = { interface: 'eth0' };
    const seq: Point[] = [
      { ...base, name: 'net', tags, fields: { a: 1, b: 2 }, int: ['a'] },
      { ...base, name: 'net', tags, fields: { a: 1, b: 2 }, int: ['a', 'b'] },
      { ...base, name: 'net', tags, fields: { a: 1, b: 2 } },
      { ...base, name: 'net', tags, fields: { b: 2, a: 1 }, int: ['a'] },
      { ...base, name: 'net', tags, fields: { b: 2, 'a b': 1, c: 'x' }, int: ['a b'] },
      { ...base, name: 'net', tags, fields: { b: 2, 'a b': 1, c: 'x' }, int: ['a b'] },
      { ...base, name: 'net', tags, fields: { b: Number.POSITIVE_INFINITY } },
    ];
    for (const p of seq) expect(enc.encode(p)).toBe(encodePoint(p, id));
    expect(enc.encode(seq[1]!)).toBe('net,agency=so\\,tttt,host=web\\ 1,interface=eth0 a=1i,b=2i 1795811080000');
    expect(enc.cachedSeries).toBe(1);
  });

  it('stays bounded: the first maxSeries series are cached, later ones encoded without the cache, all correctly', () => {
    const enc = new PointEncoder(id, 10);
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 35; i++) {
        const p = { ...base, time: base.time + round, tags: { cpu: `cpu${i}` } };
        expect(enc.encode(p)).toBe(encodePoint(p, id));
        expect(enc.cachedSeries).toBe(Math.min(10, round === 0 ? i + 1 : 10));
      }
  });
});
