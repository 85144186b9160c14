import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { validTimeZone, wallClock, zoneOffset, zonedToUtc } from './time-zone.ts';

// The wall clock as Intl gives it (what wallClock returned for every zone before UTC got its own path).
function byIntl(ms: number, tz: string) {
  const parts: Record<string, string> = {};
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
  const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: weekdays.indexOf(parts.weekday ?? ''),
  };
}

const INSTANTS = [
  0,
  -1,
  -86_400_001,
  Date.UTC(2024, 1, 29, 23, 59, 59, 999), // leap day, last millisecond
  Date.UTC(2024, 2, 1),
  Date.UTC(2026, 11, 31, 23, 59, 59, 500), // the year's last second
  Date.UTC(2027, 0, 1),
  Date.UTC(1970, 0, 1, 0, 0, 0, 1),
  Date.UTC(2038, 0, 19, 3, 14, 8),
  Date.UTC(2100, 1, 28, 12),
];

describe('UTC zones', () => {
  it('never build an Intl.DateTimeFormat (its first one loads ~8 MiB of ICU data into the agent)', async () => {
    vi.resetModules(); // a module without formatters made by the tests before
    const real = Intl.DateTimeFormat;
    let made = 0;
    Intl.DateTimeFormat = new Proxy(real, {
      construct(target, args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
        made++;
        return new target(...args);
      },
    });
    try {
      const tz = await import('./time-zone.ts');
      expect(tz.validTimeZone('UTC')).toBe(true);
      expect(tz.wallClock(Date.UTC(2026, 11, 8), 'Etc/UTC').day).toBe(8);
      expect(tz.zonedToUtc(2026, 12, 8, 0, 0, 0, 0, 'UTC')).toBe(Date.UTC(2026, 11, 8));
      expect(made).toBe(0);
      tz.wallClock(0, 'Asia/Ho_Chi_Minh');
      expect(made).toBe(1);
    } finally {
      Intl.DateTimeFormat = real;
    }
  });

  it('read the same wall clock as Intl, without it', () => {
    for (const tz of ['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT'])
      for (let i = 0; i < INSTANTS.length; i++) {
        const ms = INSTANTS[i]! + i * 7_919_311; // spread over hours and weekdays
        expect(wallClock(ms, tz), `${tz} ${new Date(ms).toISOString()}`).toEqual(byIntl(ms, tz));
        expect(zoneOffset(ms, tz)).toBe(0);
      }
  });

  it('convert a wall time to the same instant', () => {
    expect(zonedToUtc(2026, 12, 8, 1, 2, 3, 456, 'UTC')).toBe(Date.UTC(2026, 11, 8, 1, 2, 3, 456));
    expect(zonedToUtc(2024, 2, 29, 23, 0, 0, 0, 'Etc/UTC')).toBe(Date.UTC(2024, 1, 29, 23));
  });

  it('are valid, and an instant that is no date is an error as with Intl', () => {
    for (const tz of ['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'utc', 'Etc/Universal']) expect(validTimeZone(tz)).toBe(true);
    expect(validTimeZone('Not/AZone')).toBe(false);
    expect(() => wallClock(Number.NaN, 'UTC')).toThrow(RangeError);
    expect(() => byIntl(Number.NaN, 'UTC')).toThrow(RangeError);
  });

  it('leave other zones to Intl', () => {
    const ms = Date.UTC(2026, 11, 8, 20, 30);
    expect(wallClock(ms, 'Asia/Ho_Chi_Minh')).toEqual({ year: 2026, month: 12, day: 9, hour: 3, minute: 30, second: 0, weekday: 3 });
    expect(zoneOffset(ms, 'Asia/Ho_Chi_Minh')).toBe(7 * 3_600_000);
  });
});

// The host's own zone, read from Date's local clock: a Node process started with TZ set.
function inZone(tz: string, asked: string, instants: number[], walls: number[][]) {
  const script = `
    const real = Intl.DateTimeFormat;
    let made = 0;
    Intl.DateTimeFormat = new Proxy(real, { construct(t, a) { made++; return new t(...a); } });
    const tz = await import(${JSON.stringify(fileURLToPath(new URL('./time-zone.ts', import.meta.url)))});
    const asked = ${JSON.stringify(asked)};
    const out = { valid: tz.validTimeZone(asked), clocks: [], instants: [] };
    try {
      out.clocks = ${JSON.stringify(instants)}.map((ms) => tz.wallClock(ms, asked));
      out.instants = ${JSON.stringify(walls)}.map((w) => tz.zonedToUtc(...w, asked));
    } catch (e) { out.error = e.name; }
    out.made = made;
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { valid: boolean; clocks: unknown[]; instants: number[]; made: number; error?: string };
}

const offIntl = (ms: number, tz: string) => {
  const w = byIntl(ms, tz);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
};
function zonedByIntl(w: number[], tz: string): number {
  const [y, mo, d, h, mi, s, ms] = w as [number, number, number, number, number, number, number];
  const guess = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  return guess - offIntl(guess - offIntl(guess, tz), tz);
}

describe("the host's own zone", () => {
  const instants: number[] = [];
  for (let ms = Date.UTC(2024, 0, 1); ms < Date.UTC(2026, 0, 1); ms += 19_037_000) instants.push(ms);
  // Berlin's changes in 2026: 29 March 01:00 UTC, 25 October 01:00 UTC.
  instants.push(Date.UTC(2026, 2, 29, 0, 59, 59), Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 0, 59, 59), Date.UTC(2026, 9, 25, 1));
  // A wall time in Berlin's spring gap and one in its autumn overlap, and plain ones.
  const walls = [
    [2026, 3, 29, 2, 30, 0, 0],
    [2026, 10, 25, 2, 30, 0, 0],
    [2026, 12, 8, 9, 0, 0, 250],
    [2024, 2, 29, 23, 59, 59, 999],
  ];

  for (const tz of ['Asia/Ho_Chi_Minh', 'Europe/Berlin']) {
    it(`${tz} (TZ): the same wall clocks and instants as Intl, without an Intl formatter`, () => {
      const r = inZone(tz, tz, instants, walls);
      expect(r.made).toBe(0);
      expect(r.valid).toBe(true);
      expect(r.clocks).toEqual(instants.map((ms) => byIntl(ms, tz)));
      expect(r.instants).toEqual(walls.map((w) => zonedByIntl(w, tz)));
    });
  }

  it("another zone than the host's, or a TZ naming no zone, goes through Intl as before", () => {
    const other = inZone('Asia/Ho_Chi_Minh', 'Europe/Berlin', instants.slice(0, 50), walls);
    expect(other.made).toBeGreaterThan(0);
    expect(other.clocks).toEqual(instants.slice(0, 50).map((ms) => byIntl(ms, 'Europe/Berlin')));
    const none = inZone('Mars/Olympus', 'Mars/Olympus', [0], []);
    expect(none.valid).toBe(false);
    expect(none.error).toBe('RangeError');
  });
});
// UTC is answered without Intl (time-zone.ts): the same answers as Intl gives for a zone with UTC's rules.
describe('time zones: UTC answered without Intl', () => {
  it("UTC's wall clock without Intl equals Intl's, for instants over four centuries", () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const instants = [0, -1, 951782400000, 4102444799999, 253402300799000, -62135596800000];
    for (let i = 0; i < 2000; i++) instants.push(Math.floor(-62135596800000 + rnd() * (253402300799000 + 62135596800000)));
    for (const ms of instants) {
      // Etc/Greenwich has UTC's rules and is answered by Intl.
      const intl = wallClock(ms, 'Etc/Greenwich');
      expect(wallClock(ms, 'UTC'), new Date(ms).toISOString()).toEqual(intl);
      expect(wallClock(ms, 'Etc/UTC')).toEqual(intl);
      // (zoneOffset goes through Date.UTC, which takes years below 100 as 19xx.)
      if (intl.year >= 100) expect(zoneOffset(ms, 'UTC')).toBe(0);
    }
  });

  it('UTC and Etc/UTC are valid zones; unknown names are not', () => {
    expect(validTimeZone('UTC')).toBe(true);
    expect(validTimeZone('Etc/UTC')).toBe(true);
    expect(validTimeZone('Asia/Ho_Chi_Minh')).toBe(true);
    expect(validTimeZone('Mars/Olympus')).toBe(false);
  });

  it('converts local times both ways, across a DST change', () => {
    expect(zonedToUtc(2026, 1, 10, 8, 0, 0, 0, 'UTC')).toBe(Date.UTC(2026, 0, 10, 8));
    expect(zonedToUtc(2026, 1, 10, 8, 0, 0, 0, 'Asia/Ho_Chi_Minh')).toBe(Date.UTC(2026, 0, 10, 1));
    // Berlin: CEST from 2026-03-29 01:00 UTC.
    expect(zonedToUtc(2026, 3, 29, 4, 0, 0, 0, 'Europe/Berlin')).toBe(Date.UTC(2026, 2, 29, 2));
    expect(wallClock(Date.UTC(2026, 2, 29, 2), 'Europe/Berlin')).toMatchObject({ hour: 4, weekday: 0 });
  });
});
