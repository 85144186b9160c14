// A host's history read back after its agent moved to another collector (state/host-rules.ts),
// the pure parts: the name a live event gets is the one the receiver stores it under, a
// min_count window counts each stored event once and nothing spent by an earlier episode,
// an open episode's last-seen time comes up to date, and the `alert` points give the flap
// history (a change of severity is not a transition). The whole, on real collectors, is
// test/ha-host-state.test.ts.
import { afterEach, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { SecurityEvent } from '@canh/protocol';
import { batchUids, EventTimes } from '../event-times.ts';
import { alertHistory, storedEvents } from '../state/host-rules.ts';
import { SqliteAlertStore } from './store.ts';
import { AlertTracker } from './tracker.ts';
import { EventEvaluator, storedEventId } from './evaluate/event.ts';
import { fingerprint, type EventRule } from './rules.ts';
import { hanoi, T0 } from './test-kit.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tracker(): AlertTracker {
  const d = mkdtempSync(join(tmpdir(), 'canh-seed-'));
  dirs.push(d);
  return new AlertTracker(new SqliteAlertStore(join(d, 'collector.db')), {
    flap: { transitions: 4, window: 600_000, hold: 600_000 },
    log: pino({ level: 'silent' }),
  });
}

const fail = (src: string, time: number): SecurityEvent => ({
  time,
  detector: 'test',
  type: 'login_fail',
  severity: 'high',
  message: `failed login from ${src}`,
  evidence: { src_ip: src },
  count: 1,
});

const rule = (over: Partial<EventRule> = {}): EventRule =>
  ({
    name: 'brute',
    type: 'event',
    event_types: ['login_fail'],
    min_severity: 'info',
    min_count: 3,
    within: 600_000,
    resolve_after: 600_000,
    group_by: ['host'],
    ...over,
  }) as EventRule;

it('a batch’s events are named as the receiver stores them, identical ones by their occurrence', () => {
  const e = fail('198.51.100.1', T0 + 250);
  const events = [e, { ...e }, fail('198.51.100.2', T0 + 250), { ...e }];
  const times = new EventTimes();
  times.beginBatch();
  const placed = events.map((x) => times.placeWithUid(hanoi, x).uid);
  expect(batchUids(hanoi.host, events)).toEqual(placed);
  expect(new Set(placed).size).toBe(4);
});

it('min_count: events read back fill the window once each, not what an earlier episode spent; a window they complete fires', () => {
  const t = tracker();
  const ev = new EventEvaluator([rule()], t, { maxSampleAge: 900_000 });
  const now = T0 + 60_000;
  const [spent, a, b] = [fail('198.51.100.9', T0), fail('198.51.100.1', T0 + 10_000), fail('198.51.100.2', T0 + 20_000)];
  const stored = (e: SecurityEvent) => storedEventId(e.time, batchUids(hanoi.host, [e])[0]!);
  const lastTransition = T0 + 5_000;
  const fp = fingerprint({ rule: 'brute', agency: hanoi.agency, host: hanoi.host });
  const spentUntil = (f: string) => (f === fp ? lastTransition : -Infinity);
  // b arrived live here first (a resent batch), then the read-back answers with all three.
  ev.onEvents(hanoi, [b], now, [stored(b)]);
  expect(
    ev.seed(
      hanoi,
      [spent, a, b].map((e) => ({ e, id: stored(e) })),
      spentUntil,
      now,
    ),
  ).toBe(1);
  expect(t.get({ rule: 'brute', agency: hanoi.agency, host: hanoi.host })).toBeUndefined();
  // A third occurrence: fires.
  const c = fail('198.51.100.3', now);
  ev.onEvents(hanoi, [c], now, [stored(c)]);
  expect(t.get({ rule: 'brute', agency: hanoi.agency, host: hanoi.host })?.state).toBe('firing');

  // Read back alone, they complete a window: it fires with the newest.
  const t2 = tracker();
  const ev2 = new EventEvaluator([rule()], t2, { maxSampleAge: 900_000 });
  ev2.seed(
    hanoi,
    [a, b, c].map((e) => ({ e, id: stored(e) })),
    () => -Infinity,
    now + 1_000,
  );
  const fired = t2.get({ rule: 'brute', agency: hanoi.agency, host: hanoi.host });
  expect(fired?.lastSampleAt).toBe(c.time);
  expect(fired?.events?.list.map((x) => x.evidence.src_ip)).toEqual(['198.51.100.3']);
});

it('an open episode’s last-seen time comes up to date from the events read back, never back', () => {
  const t = tracker();
  const ev = new EventEvaluator([rule({ min_count: 1 })], t, { maxSampleAge: 900_000 });
  const first = fail('203.0.113.9', T0);
  ev.onEvents(hanoi, [first], T0);
  const a = t.get({ rule: 'brute', agency: hanoi.agency, host: hanoi.host })!;
  const again = [T0 + 4_000, T0 + 8_000, T0 + 2_000].map((time) => ({ e: { ...first, time }, id: `${time}/x` }));
  ev.seed(hanoi, again, () => -Infinity, T0 + 9_000);
  expect(a.lastSampleAt).toBe(T0 + 8_000);
  // Held back from resolving as quiet while the host is not ready; resolved from the new time once it is.
  ev.tick(T0 + 8_000 + 600_000, () => false);
  expect(a.state).not.toBe('resolved');
  ev.tick(T0 + 8_000 + 599_000);
  expect(a.state).not.toBe('resolved');
  ev.tick(T0 + 8_000 + 600_000);
  expect(a.state).toBe('resolved');
});

it('the alert points give each label set’s transitions and last one; a severity change is none', () => {
  const series = (severity: string, values: [number, string][]) => ({
    name: 'alert',
    tags: { agency: 'so-tttt', host: 'hm', rule: 'cpu', severity, label_value: 'v1', url: '' },
    columns: ['time', 'state'],
    values,
  });
  const { flaps, last } = alertHistory({
    series: [
      series('medium', [
        [1_000, 'firing'],
        [2_000, 'resolved'],
        [3_000, 'firing'],
        [4_000, 'superseded'],
      ]),
      series('high', [
        [4_000, 'firing'],
        [5_000, 'acknowledged'],
        [6_000, 'resolved'],
      ]),
    ],
  });
  const fp = fingerprint({ agency: 'so-tttt', host: 'hm', rule: 'cpu', value: 'v1' });
  expect([...flaps.keys()]).toEqual([fp]);
  expect(flaps.get(fp)).toEqual([1_000, 2_000, 3_000, 6_000]);
  expect(last.get(fp)).toBe(6_000);
  expect(() => alertHistory({ error: 'database not found: canh' })).toThrow(/database not found/);
});

it('security_event rows read back as events with their stored name; rows without event_uid are left out', () => {
  const got = storedEvents({
    series: [
      {
        name: 'security_event',
        columns: ['time', 'agency', 'count', 'detector', 'event_uid', 'evidence_count', 'host', 'message', 'severity', 'src_ip', 'type', 'user'],
        values: [
          [T0 + 1_234, 'so-tttt', 2, 'auth_log', '0123456789ab', 7, 'hm', 'failed login', 'high', '198.51.100.1', 'login_fail', null],
          [T0 + 2_000, 'so-tttt', 1, 'auth_log', null, null, 'hm', 'old point', 'high', '198.51.100.2', 'login_fail', 'root'],
        ],
      },
    ],
  });
  expect(got).toEqual([
    {
      e: {
        time: T0 + 1_000,
        detector: 'auth_log',
        type: 'login_fail',
        severity: 'high',
        message: 'failed login',
        evidence: { count: 7, src_ip: '198.51.100.1' },
        count: 2,
      },
      id: `${T0 + 1_000}/0123456789ab`,
    },
  ]);
});
