import { describe, expect, it } from 'vitest';
import { encodePoint, escapeFieldString, escapeTag } from './line-protocol.ts';

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
