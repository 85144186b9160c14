// The tracker's side of host rules judged on other collectors (state/host-rules.ts): the
// leader takes episodes as another collector wrote them (applyRemote), a collector takes a
// host's open episodes when its agent arrives (adopt) and lets them go when it leaves
// (release), writing nothing for either.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AlertTracker } from './tracker.ts';
import type { AlertEpisodes } from './store.ts';
import type { Alert } from './types.ts';
import { fingerprint } from './rules.ts';

function memoryEpisodes(): AlertEpisodes & { writes: string[] } {
  let next = 1;
  const writes: string[] = [];
  return {
    writes,
    openAlerts: () => [],
    insertAlert: (a) => {
      writes.push('insert');
      return { ...a, id: next++ };
    },
    updateAlert: () => void writes.push('update'),
    deleteAlert: () => void writes.push('delete'),
  };
}

const labels = { rule: 'disk_full', agency: 'so-tttt', host: 'web-1' };

function episode(id: number, state: Alert['state'], at: number): Alert {
  return {
    id,
    fingerprint: fingerprint(labels),
    rule: 'disk_full',
    labels,
    severity: 'high',
    state,
    value: 97,
    summary: 'disk.used_percent = 97 (> 95)',
    activeAt: at,
    firedAt: state === 'pending' ? null : at + 60_000,
    resolvedAt: state === 'resolved' ? at + 120_000 : null,
    lastSampleAt: at,
    clearSince: null,
    details: {},
  };
}

function tracker(): { t: AlertTracker; store: ReturnType<typeof memoryEpisodes>; transitions: string[] } {
  const store = memoryEpisodes();
  const t = new AlertTracker(store, { flap: { transitions: 4, window: 1_800_000, hold: 900_000 }, log: pino({ level: 'silent' }) });
  const transitions: string[] = [];
  t.onTransition = (a) => transitions.push(`${a.id} ${a.state}`);
  return { t, store, transitions };
}

describe('episodes judged elsewhere', () => {
  it('applyRemote: a firing episode is a transition once, its resolution another; pending and deleted ones are let go', () => {
    const { t, store, transitions } = tracker();
    t.applyRemote(7, episode(7, 'pending', 1000));
    expect(t.alerts.size).toBe(0);
    t.applyRemote(7, episode(7, 'firing', 1000));
    t.applyRemote(7, episode(7, 'firing', 1000));
    expect(transitions).toEqual(['7 firing']);
    expect(t.get(labels)?.id).toBe(7);
    t.applyRemote(7, episode(7, 'resolved', 1000));
    expect(transitions).toEqual(['7 firing', '7 resolved']);
    expect(t.get(labels)).toBeUndefined();
    expect(t.alerts.get(7)?.state).toBe('resolved');
    // A late copy of its firing (an input read again) does not bring it back.
    t.applyRemote(7, episode(7, 'firing', 1000));
    expect(t.alerts.get(7)?.state).toBe('resolved');
    expect(transitions.length).toBe(2);
    // A firing episode whose row is gone (the owner dropped it) leaves memory.
    t.applyRemote(8, episode(8, 'firing', 5000));
    t.applyRemote(8, undefined);
    expect(t.alerts.has(8)).toBe(false);
    expect(store.writes).toEqual([]);
  });

  it('adopt continues a pending `for` from its stored start; release forgets without writing', () => {
    const { t, store, transitions } = tracker();
    t.adopt([episode(3, 'pending', 10_000)]);
    // The sample 50 s after the stored start, with for: 60 s: still pending...
    t.observe({ rule: 'disk_full', labels, at: 60_000, holds: true, forMs: 60_000, value: 97 });
    expect(t.alerts.get(3)?.state).toBe('pending');
    // ...and firing at 70 s: the same episode, begun where it began.
    t.observe({ rule: 'disk_full', labels, at: 70_000, holds: true, forMs: 60_000, value: 98 });
    expect(t.alerts.get(3)).toMatchObject({ state: 'firing', activeAt: 10_000, firedAt: 70_000 });
    expect(transitions).toEqual(['3 firing']);
    expect(store.writes).toEqual(['update']);
    expect(t.release((a) => a.labels.host === 'web-1')).toBe(1);
    expect(t.get(labels)).toBeUndefined();
    expect(store.writes).toEqual(['update']);
  });
  it('events of an episode written elsewhere: told ones stay told when its row comes again, only new ones are news; the told keys are recorded apart', () => {
    const store = memoryEpisodes();
    const told: [number, string[]][] = [];
    const withTold: AlertEpisodes = { ...store, eventsTold: (id, keys) => void told.push([id, [...keys]]) };
    const t = new AlertTracker(withTold, { flap: { transitions: 4, window: 1_800_000, hold: 900_000 }, log: pino({ level: 'silent' }) });
    t.remote = () => true;
    const news: string[] = [];
    t.onEventNews = (_a, e) => news.push(e.key);
    const ev = (key: string) => ({ key, at: 1000, seenAt: 1000, severity: 'high' as const, message: key, evidence: {}, late: false, type: 't', news: true });
    // The owner never clears its copy's news flags: every row says news for all.
    const row = (keys: string[]): Alert => ({ ...episode(9, 'firing', 1000), events: { list: keys.map(ev), total: keys.length } });
    t.applyRemote(9, row(['a']));
    t.eventsTold(t.alerts.get(9)!);
    expect(told).toEqual([[9, ['a']]]);
    // Its row with a second event: only that one is news.
    t.applyRemote(9, row(['a', 'b']));
    expect(t.alerts.get(9)!.events!.list.map((e) => [e.key, e.news])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect(news).toEqual(['b']);
    // The same row read again (an input replayed): nothing new.
    t.eventsTold(t.alerts.get(9)!);
    t.applyRemote(9, row(['a', 'b']));
    expect(news).toEqual(['b']);
    expect(t.alerts.get(9)!.events!.list.every((e) => !e.news)).toBe(true);
    // Never a rewrite of the owner's row.
    expect(store.writes).toEqual([]);
  });
});
