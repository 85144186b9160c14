// Maintenance windows added with `canh-collector maintenance add`: the same unambiguous
// dates as `silence add`, refused mistakes with a code. The command with a running engine
// holding back firing mails inside a window, on SQLite and PostgreSQL, is in
// test/cli-state-backends.test.ts.
import { describe, expect, it } from 'vitest';
import { createMaintenance, storedOpen } from './maintenance-store.ts';

const TZ = 'Asia/Ho_Chi_Minh';

describe('createMaintenance', () => {
  const now = Date.parse('2026-12-07T08:00:00+07:00');
  const base = { name: 'thay UPS', agencies: ['so-tttt'], createdBy: 'an', comment: 'phiếu 12' };
  const known = new Set(['agency', 'host', 'rule', 'severity', 'site']);
  it('reads dd/mm/yyyy day first in the alerting zone, never month first', () => {
    const w = createMaintenance({ ...base, from: '01/12/2027 06:00', until: '2027-12-01 08:00' }, now, known, TZ);
    expect(new Date(w.once!.from).toISOString()).toBe('2027-11-30T23:00:00.000Z');
    expect(new Date(w.once!.until).toISOString()).toBe('2027-12-01T01:00:00.000Z');
    expect(() => createMaintenance({ ...base, from: '12/13/2027 06:00', until: '2027-12-14 08:00' }, now, known, TZ)).toThrow(
      expect.objectContaining({ code: 'CANH_ERR_MAINTENANCE_INVALID' }),
    );
    expect(() => createMaintenance({ ...base, from: 'Dec 1 2027', until: '2027-12-14 08:00' }, now, known, TZ)).toThrow(/day first/);
  });
  it('refuses a window over everything, a typo in a label, both kinds at once, bad times', () => {
    const bad = (input: object) => () => createMaintenance({ ...base, ...input }, now, known, TZ);
    expect(bad({ agencies: [], matchers: [], start: '22:00', end: '02:00' })).toThrow(/every alert/);
    expect(bad({ matchers: ['hots=db01'], start: '22:00', end: '02:00' })).toThrow(/did you mean host\?/);
    expect(bad({ from: '2027-01-01 00:00', until: '2027-01-02 00:00', start: '22:00', end: '02:00' })).toThrow(/either/);
    expect(bad({ start: '25:00', end: '02:00' })).toThrow(/--start/);
    expect(bad({ start: '22:00', end: '02:00', days: 'sun,funday' })).toThrow(/"funday" is not a day/);
    expect(bad({ from: '2026-12-01 00:00', until: '2026-12-02 00:00' })).toThrow(/in the past/);
    expect(bad({ comment: ' ', start: '22:00', end: '02:00' })).toThrow(/--comment/);
  });
  it('a weekly window opens in its own zone across midnight', () => {
    const w = createMaintenance({ ...base, days: 'sun', start: '22:00', end: '02:00' }, now, known, TZ);
    expect(storedOpen(w, Date.parse('2026-12-13T23:30:00+07:00'), TZ)).toBe(true); // Sunday
    expect(storedOpen(w, Date.parse('2026-12-14T01:59:00+07:00'), TZ)).toBe(true); // Monday morning
    expect(storedOpen(w, Date.parse('2026-12-14T02:00:00+07:00'), TZ)).toBe(false);
    expect(storedOpen(w, Date.parse('2026-12-12T23:30:00+07:00'), TZ)).toBe(false); // Saturday
  });
});
