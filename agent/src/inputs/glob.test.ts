import { describe, expect, it } from 'vitest';
import { compileGlobs } from './glob.ts';

describe('compileGlobs', () => {
  it('matches * ? [..] [!..] {a,b} over the whole name, and nothing for an empty list', () => {
    const m = compileGlobs(['eth*', 'enp0s[0-1]', 'wl?', 'bond{0,1}', 'veth[!a]x']);
    for (const yes of ['eth0', 'eth', 'enp0s1', 'wlp', 'bond1', 'veth1x']) expect(m(yes), yes).toBe(true);
    for (const no of ['xeth0', 'enp0s2', 'wlan0', 'bond2', 'vethax', 'lo']) expect(m(no), no).toBe(false);
    expect(compileGlobs([])('eth0')).toBe(false);
  });

  it('treats regexp characters literally and survives unbalanced brackets', () => {
    expect(compileGlobs(['a.b+(c)'])('a.b+(c)')).toBe(true);
    expect(compileGlobs(['a.b'])('axb')).toBe(false);
    expect(compileGlobs(['[abc'])('[abc')).toBe(true);
    expect(compileGlobs(['{x,y'])('y')).toBe(true);
  });
});
