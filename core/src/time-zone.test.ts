import { describe, expect, it } from 'vitest';
import { validTimeZone, wallClock, zoneOffset, zonedToUtc } from './time-zone.ts';

// UTC is answered without Intl (time-zone.ts): the same answers as Intl gives for a zone with UTC's rules.
describe('time zones', () => {
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
