// A host's input falling silent, judged on the collector its agent is connected to: a
// series is expected once seen (and recorded for the next collector once), silence counts
// from the agent's arrival, and a host that left is no longer judged here.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AlertTracker } from '../alerts/tracker.ts';
import type { AlertEpisodes } from '../alerts/store.ts';
import { RuleSchema, type AbsenceRule } from '../alerts/rules.ts';
import { HostSilence } from './host-silence.ts';

const rule = RuleSchema.parse({ name: 'feed_silent', type: 'absence', measurement: 'feed', for: '10s', group_by: ['host'] }) as AbsenceRule;
const id = { host: 'web-1', agency: 'so-tttt', site: 'dc' };
const feed = (time: number) => ({ name: 'feed', time, tags: {}, fields: { n: 1 } });

function setup(): { s: HostSilence; t: AlertTracker; recorded: string[]; transitions: string[] } {
  let next = 1;
  const store: AlertEpisodes = { openAlerts: () => [], insertAlert: (a) => ({ ...a, id: next++ }), updateAlert: () => {}, deleteAlert: () => {} };
  const t = new AlertTracker(store, { flap: { transitions: 4, window: 1_800_000, hold: 900_000 }, log: pino({ level: 'silent' }) });
  const transitions: string[] = [];
  t.onTransition = (a) => transitions.push(`${a.state} ${a.activeAt}`);
  const recorded: string[] = [];
  const s = new HostSilence([rule], t, (host, _key, labels) => recorded.push(`${host} ${labels.rule}`));
  return { s, t, recorded, transitions };
}

describe('a host’s input falling silent, on its agent’s collector', () => {
  it('records a series once, fires after `for` of silence while the host is here, resolves when data comes', () => {
    const { s, recorded, transitions } = setup();
    s.onPoints(id, [feed(1000)], 1000);
    s.onPoints(id, [feed(2000)], 2000);
    expect(recorded).toEqual(['web-1 feed_silent']);
    s.tick(12_000, () => true);
    expect(transitions).toEqual([]);
    // Not judged while the host is not here (its agent elsewhere or offline).
    s.tick(13_000, () => false);
    expect(transitions).toEqual([]);
    s.tick(13_000, () => true);
    expect(transitions).toEqual(['firing 2000']);
    s.onPoints(id, [feed(14_000)], 14_000);
    expect(transitions).toEqual(['firing 2000', 'resolved 2000']);
  });

  it('a host arriving from another collector: its recorded series are expected from the arrival; one that left is forgotten', () => {
    const { s, transitions } = setup();
    s.load('web-1', [{ key: 'k', labels: { rule: 'feed_silent', agency: 'so-tttt', host: 'web-1' } }], 50_000);
    // Rows of another host or another rule are not this host's series.
    s.load('web-1', [{ key: 'x', labels: { rule: 'other', agency: 'so-tttt', host: 'web-1' } }], 50_000);
    s.tick(60_000, () => true);
    expect(transitions).toEqual([]);
    s.tick(60_001, () => true);
    expect(transitions).toEqual(['firing 50000']);
    const { s: s2, transitions: t2 } = setup();
    s2.load('web-1', [{ key: 'k', labels: { rule: 'feed_silent', agency: 'so-tttt', host: 'web-1' } }], 50_000);
    s2.forget('web-1');
    s2.tick(90_000, () => true);
    expect(t2).toEqual([]);
  });
});
