// The one-pass header of the common syslog form (header.ts fastHeader) against the general
// way (parseHeaderGeneral): same header for every line of every fixture, for crafted lines
// that come near the fast form without being it, and for lines an attacker shapes to look
// like another host, program or pid. A fast path that read a line differently would let a
// line be judged differently by the agent than by the rules the fixtures pin down.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ParseOptions } from './fields.ts';
import { parseHeader, parseHeaderGeneral } from './header.ts';
import { parseVerdict } from './parse.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const NOW = Date.UTC(2024, 11, 1);

function fixtureLines(): string[] {
  const out: string[] = [];
  for (const sub of ['lines', 'third-party', '.']) {
    for (const f of readdirSync(join(dir, sub))) {
      if (!/\.(log|txt)$/.test(f)) continue;
      for (const l of readFileSync(join(dir, sub, f), 'utf8').split('\n')) if (l && !l.startsWith('#')) out.push(l);
    }
  }
  return out;
}

const CRAFTED = [
  'Jan 10 08:00:00 srv sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2',
  'Jan  1 08:00:00 srv sshd[1]: x',
  'Jan 1 08:00:00 srv sshd[1]: x',
  'Jan 10 08:00:00  srv sshd[1]: two spaces after the time',
  'Jan 10 08:00:00 srv  sshd[1]: two spaces after the host',
  'Jan 10 08:00:00 2024 sshd[1]: a year, no host',
  'Jan 10 08:00:00 2024 srv sshd[1]: a year and a host',
  'Jan 10 08:00:00.123456 srv sshd[1]: fraction',
  '<38>Jan 10 08:00:00 srv sshd[1]: priority',
  'Jan 10 08:00:00 sshd[1]: no host',
  'Jan 10 08:00:00 srv: sshd[1]: host ends in a colon',
  'Jan 10 08:00:00 srv] sshd[1]: host ends in a bracket',
  'Jan 10 08:00:00 srv su(pam_unix)[1]: pam tag',
  'Jan 10 08:00:00 srv [sshd]: bracketed tag',
  'Jan 10 08:00:00 srv <auth.info> sshd[1]: facility',
  'Jan 10 08:00:00 srv sshd[1]: [ID 800047 auth.notice] Failed none for root from 192.0.2.1 port 22 ssh2',
  'Jan 10 08:00:00 srv /usr/sbin/sshd[1]: path tag',
  'Jan 10 08:00:00 srv sshd[12345678901]: pid too long',
  'Jan 10 08:00:00 srv sshd: no pid',
  'Jan 10 08:00:00 srv sshd:no space',
  'Jan 10 08:00:00 srv sshd[1]:',
  'Jan 10 08:00:00 srv sshd[1] no colon',
  'Jan 10 08:00:00 srv a:b: c',
  'Jan 32 08:00:00 srv sshd[1]: impossible day',
  'Jan 10 25:00:00 srv sshd[1]: impossible hour',
  'Foo 10 08:00:00 srv sshd[1]: no month',
  'Jan 10 08:00:00 srv sshd[1]: line\u2028separator inside',
  'Jan 10 08:00:00 srv sshd[1]: carriage\rreturn inside',
  'Jan 10 08:00:00 srv\u00a0x sshd[1]: no-break space in the host',
  'Jan 10 08:00:00 srv sshd[1]: Failed password for x from 6.6.6.6 port 1 ssh2 from 192.0.2.9 port 22 ssh2',
  'Jan 10 08:00:00 evil sshd[1]: Jan 10 08:00:00 srv sshd[2]: nested header',
  'Dec 31 23:59:59 srv sshd[1]: the year before',
];

describe('auth_log header fast path', () => {
  const opts: ParseOptions[] = [
    { tz: 'UTC', now: NOW },
    { tz: 'Asia/Ho_Chi_Minh', now: NOW },
    { tz: 'America/New_York', now: Date.UTC(2025, 0, 2) },
  ];

  it("gives the general way's header for every fixture line and every crafted near-miss", () => {
    const lines = [...fixtureLines(), ...CRAFTED];
    expect(lines.length).toBeGreaterThan(300);
    let fast = 0;
    for (const o of opts) {
      for (const l of lines) {
        expect(parseHeader(l, o), l).toEqual(parseHeaderGeneral(l, o));
        if (/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [\w./-]+(?:\[\d+\])?:/.test(l)) fast++;
      }
    }
    // The fixtures exercise the fast form, not only the general one.
    expect(fast).toBeGreaterThan(100);
  });

  it('the remembered time of a second follows the zone and the year anchor', () => {
    const l = 'Dec 31 23:59:58 h sshd[1]: x';
    const a = parseHeader(l, { tz: 'UTC', now: Date.UTC(2025, 0, 1) })!.time;
    const b = parseHeader(l, { tz: 'Asia/Ho_Chi_Minh', now: Date.UTC(2025, 0, 1) })!.time;
    const c = parseHeader(l, { tz: 'UTC', now: Date.UTC(2025, 11, 31, 23) })!.time;
    expect([a, b, c]).toEqual([Date.UTC(2024, 11, 31, 23, 59, 58), Date.UTC(2024, 11, 31, 16, 59, 58), Date.UTC(2025, 11, 31, 23, 59, 58)]);
  });

  it("lines of a remembered second (read after their time) give the general way's header as the zone and `now` move", () => {
    const rests = [
      ' h sshd[1]: x',
      ' h  sshd[1]: two spaces',
      ' sshd[1]: no host',
      ' 2024 sshd[1]: a year',
      ' h sshd[12345678901]: pid too long',
      ' h sshd[1]: a\rb',
      ' h su(pam_unix)[1]: pam tag',
      ' h: sshd[1]: x',
    ];
    // Around the "more than a day ahead: last year's" edge of Dec 31 23:59:58 UTC, and across a year.
    const nows = [
      Date.UTC(2024, 11, 1),
      Date.UTC(2024, 11, 30, 23, 59, 57, 999),
      Date.UTC(2024, 11, 30, 23, 59, 58),
      Date.UTC(2024, 11, 30, 23, 59, 59),
      Date.UTC(2025, 0, 1),
      Date.UTC(2025, 11, 31, 23),
    ];
    let n = 0;
    for (const stamp of ['Dec 31 23:59:58', 'Jan 32 08:00:00', 'Jan  1 00:00:00', 'Feb 30 12:00:00'])
      for (const tz of ['UTC', 'Asia/Ho_Chi_Minh', 'UTC'])
        for (const now of nows)
          for (const r of rests) {
            const l = stamp + r;
            expect(parseHeader(l, { tz, now }), `${l} ${tz} ${now}`).toEqual(parseHeaderGeneral(l, { tz, now }));
            n++;
          }
    expect(n).toBe(4 * 3 * 6 * 8);
  });

  it('a fast-form line is classified as the general way classifies it (verdicts equal)', () => {
    for (const l of fixtureLines()) {
      const o = { tz: 'UTC', now: NOW };
      const v = parseVerdict(l, o);
      const h = parseHeaderGeneral(l.replace(/\r$/, ''), o);
      expect(v.header, l).toEqual(h);
    }
  });
});
