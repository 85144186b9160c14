// Matchers, silences and maintenance windows: the pure parts of muting.
import { describe, expect, it } from 'vitest';
import { matches, parseMatcher, formatMatcher, type Matcher } from './matchers.ts';
import { createSilence, formatWhen, knownAlertLabels, parseWhen, silencedBy } from './silences.ts';
import { inMaintenance, minuteOfWeek, windowOpen } from './maintenance.ts';
import type { MaintenanceWindow } from './config.ts';

const at = (iso: string) => Date.parse(iso);

describe('matchers', () => {
  it('parse Alertmanager syntax, quoted values and anchored regexes', () => {
    expect(parseMatcher('host=web01')).toEqual({ name: 'host', op: '=', value: 'web01' });
    expect(parseMatcher('agency =~ "so-(tttt|yte)"')).toEqual({ name: 'agency', op: '=~', value: 'so-(tttt|yte)' });
    expect(parseMatcher('severity!~info|low')).toEqual({ name: 'severity', op: '!~', value: 'info|low' });
    expect(parseMatcher('rule!=disk_full')).toMatchObject({ op: '!=' });
    expect(parseMatcher('host')).toMatch(/^not a matcher/);
    expect(parseMatcher('host=~(')).toMatch(/^bad regular expression/);
    const m = parseMatcher('host=~web') as Matcher;
    expect(matches(m, { host: 'web' })).toBe(true);
    expect(matches(m, { host: 'web01' })).toBe(false);
    expect(matches(parseMatcher('site!=dc') as Matcher, {})).toBe(true); // absent = ""
    expect(formatMatcher(parseMatcher('comment="a b"') as Matcher)).toBe('comment="a b"');
  });
});

describe('silences', () => {
  const now = at('2026-05-04T08:00:00+07:00');
  it('refuse what Alertmanager refuses, and cover only while active', () => {
    expect(() => createSilence({ matchers: [], createdBy: 'a', comment: 'c', duration: '1h' }, now)).toThrow(/at least one/);
    expect(() => createSilence({ matchers: ['host=~.*'], createdBy: 'a', comment: 'c', duration: '1h' }, now)).toThrow(/every alert/);
    expect(() => createSilence({ matchers: ['host=a'], createdBy: 'a', comment: 'c' }, now)).toThrow(/say when/);
    expect(() => createSilence({ matchers: ['host=a'], createdBy: 'a', comment: 'c', endsAt: '2026-05-04T07:00:00+07:00' }, now)).toThrow(
      /must be after|in the past/,
    );
    expect(() => createSilence({ matchers: ['host=a'], createdBy: '', comment: 'c', duration: '1h' }, now)).toThrow(/author/);
    const s = createSilence({ matchers: ['host=web01'], createdBy: 'An', comment: 'bảo trì', startsAt: '2026-05-04T09:00:00+07:00', duration: '2h' }, now);
    expect(silencedBy([s], { host: 'web01' }, now)).toBeUndefined(); // pending
    expect(silencedBy([s], { host: 'web01' }, now + 90 * 60_000)).toBe(s);
    expect(silencedBy([s], { host: 'web02' }, now + 90 * 60_000)).toBeUndefined();
    expect(silencedBy([s], { host: 'web01' }, now + 3 * 3_600_000)).toBeUndefined(); // expired
  });
  it('times only in unambiguous forms: ISO with a zone, ISO local or dd/mm/yyyy in the alerting zone; the rest refused', () => {
    const tz = 'Asia/Ho_Chi_Minh';
    expect(parseWhen('01/12/2027 06:00', 'ends_at', tz)).toBe(Date.parse('2027-12-01T06:00:00+07:00')); // 1 December, day first
    expect(parseWhen('2026-12-08', 'ends_at', tz)).toBe(Date.parse('2026-12-08T00:00:00+07:00'));
    expect(parseWhen('2026-12-08 06:30', 'ends_at', tz)).toBe(Date.parse('2026-12-08T06:30:00+07:00'));
    expect(parseWhen('2026-12-08T06:30:00Z', 'ends_at', tz)).toBe(Date.parse('2026-12-08T06:30:00Z'));
    expect(parseWhen('2026-12-08T06:30', 'ends_at', tz)).toBe(Date.parse('2026-12-08T06:30:00+07:00'));
    expect(parseWhen('08/12/2026', 'ends_at', 'UTC')).toBe(Date.parse('2026-12-08T00:00:00Z'));
    for (const bad of ['12/31/2026', '31/02/2027', 'Dec 8 2026', '2026-13-01', 'tomorrow', '8.12.2026 06:00', '2026-12-08 6h']) {
      expect(() => parseWhen(bad, 'ends_at', tz), bad).toThrow(/not a time this understands.*day first/);
    }
    expect(formatWhen(Date.parse('2026-12-08T06:30:00+07:00'), tz)).toBe('2026-12-08 06:30 (Asia/Ho_Chi_Minh)');
  });

  it('refuse a matcher on a label no alert carries, naming the one meant', () => {
    const known = knownAlertLabels([{ group_by: ['host', 'url'] }, { group_by: ['src_ip'], correlate_by: 'src_ip' }]);
    expect(() => createSilence({ matchers: ['hots=vm'], createdBy: 'a', comment: 'c', duration: '1h' }, now, known)).toThrow(
      /no alert carries the label "hots" \(did you mean host\?\)/,
    );
    expect(() => createSilence({ matchers: ['host=vm', 'colour=red'], createdBy: 'a', comment: 'c', duration: '1h' }, now, known)).toThrow(
      /matchers\[1\]: no alert carries the label "colour"; labels alerts carry: agency, host, rule, severity, site, src_ip, url/,
    );
    expect(
      createSilence({ matchers: ['host=vm', 'severity=high', 'url=~"https://.*"'], createdBy: 'a', comment: 'c', duration: '1h' }, now, known).matchers,
    ).toHaveLength(3);
  });
});

describe('maintenance windows', () => {
  const sunday: MaintenanceWindow = {
    name: 'w',
    agencies: ['so-tttt'],
    matchers: [],
    days: ['sun'],
    start: '22:00',
    end: '02:00',
    timezone: 'Asia/Ho_Chi_Minh',
  };
  it('minute of the local week in a zone', () => {
    expect(minuteOfWeek(at('2026-05-03T00:00:00+07:00'), 'Asia/Ho_Chi_Minh')).toBe(0); // Sunday 00:00
    expect(minuteOfWeek(at('2026-05-03T00:00:00+07:00'), 'UTC')).toBe(6 * 1440 + 17 * 60); // Saturday 17:00 UTC
  });
  it('a window crossing midnight opens on its day and closes the next', () => {
    const tz = 'Asia/Ho_Chi_Minh';
    expect(windowOpen(sunday, at('2026-05-03T21:59:00+07:00'), tz)).toBe(false);
    expect(windowOpen(sunday, at('2026-05-03T22:00:00+07:00'), tz)).toBe(true);
    expect(windowOpen(sunday, at('2026-05-04T01:59:00+07:00'), tz)).toBe(true); // Monday
    expect(windowOpen(sunday, at('2026-05-04T02:00:00+07:00'), tz)).toBe(false);
    expect(windowOpen(sunday, at('2026-05-02T23:00:00+07:00'), tz)).toBe(false); // Saturday
    // The same instant judged in the window's zone, whatever the default zone.
    expect(windowOpen(sunday, at('2026-05-03T15:30:00Z'), 'UTC')).toBe(true); // 22:30 in Hà Nội
    const saturdayNight: MaintenanceWindow = { ...sunday, days: ['sat'], start: '23:00', end: '01:00' };
    expect(windowOpen(saturdayNight, at('2026-05-03T00:30:00+07:00'), tz)).toBe(true); // into Sunday
    const everyDay: MaintenanceWindow = { name: 'd', matchers: [], start: '12:00', end: '13:00' };
    expect(windowOpen(everyDay, at('2026-05-06T12:30:00+07:00'), tz)).toBe(true);
  });
  it('covers only its agencies and matchers', () => {
    const t = at('2026-05-03T23:00:00+07:00');
    expect(inMaintenance([sunday], { agency: 'so-tttt', host: 'h' }, t, 'Asia/Ho_Chi_Minh')).toBe(sunday);
    expect(inMaintenance([sunday], { agency: 'so-yte', host: 'h' }, t, 'Asia/Ho_Chi_Minh')).toBeUndefined();
    const onlyWeb = { ...sunday, matchers: [parseMatcher('host=~web.*') as Matcher] };
    expect(inMaintenance([onlyWeb], { agency: 'so-tttt', host: 'db01' }, t, 'Asia/Ho_Chi_Minh')).toBeUndefined();
  });
});
