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
