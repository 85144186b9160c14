// Unit tests of the report's pure parts: month boundaries in a zone, and the rules of
// compute.ts on hand-made rows (the figures against a real InfluxDB: test/report.test.ts).
import { describe, expect, it } from 'vitest';
import { CanhError } from '@canh/core';
import { dayIndex, monthRange } from './month.ts';
import { computeReport } from './compute.ts';
import { QUERY_IDS, type QueryId, type Row } from './queries.ts';
import { Fmt } from './i18n.ts';

const empty = (): Record<QueryId, Row[]> => Object.fromEntries(QUERY_IDS.map((id) => [id, []])) as unknown as Record<QueryId, Row[]>;

describe('monthRange', () => {
  it('starts the month at local midnight in Asia/Ho_Chi_Minh (UTC+7)', () => {
    const r = monthRange('2026-11', 'Asia/Ho_Chi_Minh');
    expect(new Date(r.start).toISOString()).toBe('2026-10-31T17:00:00.000Z');
    expect(new Date(r.end).toISOString()).toBe('2026-11-30T17:00:00.000Z');
    expect(r.days).toHaveLength(30);
    expect(dayIndex(r, r.start)).toBe(0);
    expect(dayIndex(r, r.end - 1)).toBe(29);
    expect(dayIndex(r, r.end)).toBe(-1);
  });
  it('follows daylight saving time where a zone has it', () => {
    const r = monthRange('2026-03', 'Europe/Berlin');
    expect(new Date(r.start).toISOString()).toBe('2026-02-28T23:00:00.000Z');
    expect(new Date(r.end).toISOString()).toBe('2026-03-31T22:00:00.000Z');
    expect(r.days[29]! - r.days[28]!).toBe(23 * 3_600_000); // March 29 is 23 hours long
  });
  it('refuses a malformed month or an unknown zone with stable codes', () => {
    expect(() => monthRange('2026-13', 'UTC')).toThrow(expect.objectContaining({ code: 'CANH_ERR_REPORT_BAD_MONTH' }) as CanhError);
    expect(() => monthRange('11/2026', 'UTC')).toThrow(CanhError);
    expect(() => monthRange('2026-11', 'Mars/Olympus')).toThrow(expect.objectContaining({ code: 'CANH_ERR_REPORT_BAD_TIMEZONE' }) as CanhError);
  });
});

describe('computeReport', () => {
  const r = monthRange('2026-11', 'UTC');
  const at = (day: number, h = 0, m = 0): number => Date.UTC(2026, 10, day, h, m);

  it('counts agents online from disconnection intervals, only up to now in a month still running', () => {
    const q = empty();
    q.agent_first.push({ time: r.start, host: 'h', first: 0 });
    // Away for the whole 3rd (it sent its spool afterwards: points for every 5 minutes exist).
    q.agent_states.push({ time: at(3), host: 'h', online: 0 }, { time: at(4), host: 'h', online: 1 });
    const mid = computeReport('a', r, q, at(11)); // 10 days in, one day missing
    expect(mid.agents[0]!.onlinePct).toBeCloseTo(90, 9);
    const done = computeReport('a', r, q, at(45));
    expect(done.agents[0]!.onlinePct).toBeCloseTo((29 / 30) * 100, 9);
    expect(done.agents[0]!.outages).toEqual([{ start: at(3), end: at(4) }]);
  });

  it('an agent with 2 disconnections (30 and 90 minutes) is not 100 % online', () => {
    const q = empty();
    q.agent_first.push({ time: r.start, host: 'gw', first: 0 });
    q.agent_states.push(
      { time: r.start + 60_000, host: 'gw', online: 1 },
      { time: at(5, 10), host: 'gw', online: 0 },
      { time: at(5, 10, 30), host: 'gw', online: 1 },
      { time: at(20, 1), host: 'gw', online: 0 },
      { time: at(20, 2, 30), host: 'gw', online: 1 },
    );
    const a = computeReport('a', r, q, at(45)).agents[0]!;
    expect(a.disconnects).toBe(2);
    expect(a.offlineMs).toBe(120 * 60_000);
    expect(a.onlinePct).toBeCloseTo((1 - 120 / (30 * 1440)) * 100, 9);
    expect(new Fmt('vi', 'UTC').pct(a.onlinePct)).toBe('99,72 %');
    expect(a.outages.map((o) => (o.end - o.start) / 60_000)).toEqual([90, 30]);
  });

  it('an agent disconnected before the month starts the month offline, until it reconnects', () => {
    const q = empty();
    q.agent_first.push({ time: r.start - 86_400_000, host: 'x', first: 0 });
    q.agent_state_before.push({ time: r.start - 3_600_000, host: 'x', online: 0 });
    q.agent_states.push({ time: at(2), host: 'x', online: 1 });
    const a = computeReport('a', r, q, at(45)).agents[0]!;
    expect(a.offlineMs).toBe(86_400_000);
    expect(a.disconnects).toBe(0);
  });

  it('pairs alert changes per rule and host, and ignores a resolve without a firing', () => {
    const q = empty();
    q.alert_changes.push(
      { time: at(2), rule: 'x', host: 'h', severity: 'high', state: 'resolved' },
      { time: at(3), rule: 'x', host: 'h', severity: 'high', state: 'firing' },
      { time: at(3, 0, 30), rule: 'y', host: 'h', severity: 'low', state: 'firing' },
      { time: at(3, 1), rule: 'x', host: 'h', severity: 'high', state: 'resolved' },
    );
    const a = computeReport('a', r, q, at(45)).alerts;
    expect(a.fired).toBe(2);
    expect(a.resolved).toBe(1);
    expect(a.mttrMinutes).toBe(60);
    expect(a.selfResolved).toBe(1);
    expect(a.handled).toBe(0);
    expect(a.episodes.find((e) => e.rule === 'y')!.resolvedAt).toBeNull();
  });

  it('pairs alert changes per alert instance: two ports of one rule and host are two episodes', () => {
    const q = empty();
    q.alert_changes.push(
      { time: at(3), rule: 'service_unreachable', host: 'h', server: 's', port: '25', severity: 'medium', state: 'firing' },
      { time: at(3, 0, 10), rule: 'service_unreachable', host: 'h', server: 's', port: '443', severity: 'medium', state: 'firing' },
      { time: at(3, 0, 20), rule: 'service_unreachable', host: 'h', server: 's', port: '25', severity: 'medium', state: 'resolved' },
      { time: at(3, 2), rule: 'service_unreachable', host: 'h', server: 's', port: '443', severity: 'medium', state: 'resolved' },
    );
    const a = computeReport('a', r, q, at(45)).alerts;
    expect(a.fired).toBe(2);
    expect(a.resolved).toBe(2);
    expect(a.episodes.map((e) => e.minutes)).toEqual([20, 110]);
  });

  it('splits incidents at an up sample and measures them in check intervals', () => {
    const q = empty();
    const codes = [0, 2, 2, 0, 2, 0, 0];
    codes.forEach((c, i) => q.ping_series.push({ time: at(1) + i * 60_000, host: 'h', url: 'u', result_code: c, percent_packet_loss: c ? 100 : 0 }));
    q.ping_samples.push({ time: at(1), host: 'h', url: 'u', samples: codes.length });
    q.ping_down.push({ time: at(1), host: 'h', url: 'u', down: 3 });
    const c = computeReport('a', r, q, at(45)).checks[0]!;
    expect(c.incidents.map((i) => [i.start, i.minutes])).toEqual([
      [at(1, 0, 1), 2],
      [at(1, 0, 4), 1],
    ]);
    expect(c.minutesDown).toBe(3);
  });
});

describe('handled (acknowledged) and resolved by itself are kept apart', () => {
  const r = monthRange('2026-11', 'UTC');
  const at = (day: number, h = 0, m = 0): number => Date.UTC(2026, 10, day, h, m);
  it('an episode acknowledged before it ended is handled; one that ended with nobody’s word resolved by itself', () => {
    const q = empty();
    const base = { host: 'h', severity: 'high' };
    q.alert_changes.push(
      { ...base, time: at(2), rule: 'disk_full', state: 'firing' },
      { ...base, time: at(2, 0, 5), rule: 'disk_full', state: 'acknowledged', acknowledged_by: 'Trần Thị Bình' },
      { ...base, time: at(2, 1), rule: 'disk_full', state: 'resolved' },
      { ...base, time: at(3), rule: 'ping_loss', state: 'firing' },
      { ...base, time: at(3, 0, 10), rule: 'ping_loss', state: 'resolved' },
      { ...base, time: at(4), rule: 'cert_expiry', state: 'firing' },
      { ...base, time: at(4, 2), rule: 'cert_expiry', state: 'acknowledged', acknowledged_by: 'an' },
    );
    q.alert_last_state.push({ ...base, time: at(4, 2), rule: 'cert_expiry', state: 'acknowledged' });
    const a = computeReport('a', r, q, at(45)).alerts;
    expect(a.fired).toBe(3);
    expect(a.resolved).toBe(2);
    expect(a.handled).toBe(1);
    expect(a.selfResolved).toBe(1);
    expect(a.episodes.find((e) => e.rule === 'disk_full')).toMatchObject({ acknowledgedBy: 'Trần Thị Bình', acknowledgedAt: at(2, 0, 5), minutes: 60 });
    // Acknowledged but not ended: still firing at the month's end, since it fired.
    expect(a.stillFiring).toEqual([{ rule: 'cert_expiry', host: 'h', since: at(4), acknowledged: true }]);
  });
});

describe('Fmt', () => {
  it('never shows downtime as 100 % and uses each language’s separators', () => {
    expect(new Fmt('vi', 'UTC').pct(99.999)).toBe('99,99 %');
    expect(new Fmt('en', 'UTC').pct(99.999)).toBe('99.99 %');
    expect(new Fmt('vi', 'UTC').bps(950e6)).toBe('950,0 Mbit/s');
    expect(new Fmt('vi', 'UTC').duration(1439.5)).toBe('24 giờ 0 phút'); // not "23 giờ 60 phút"
    expect(new Fmt('en', 'Asia/Ho_Chi_Minh').dateTime(Date.UTC(2026, 10, 2, 20, 5))).toBe('03/11/2026 03:05');
  });
});
