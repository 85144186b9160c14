// A revoked agent on the SQLite store (one collector): what its host caused resolves, and
// nothing of it stays in collector.db — every `alert_series` row of the host, including
// those of a rule no longer in the config (not loaded, so unknown to the engine's memory),
// and its liveness row. PostgreSQL's side is in state/state.test.ts and test/ha-host-state.test.ts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../../../test/helpers/smtp.ts';
import { SqliteAlertStore } from './store.ts';
import { batch, event, hanoi, harness, HOST_MEMORY_RULES, HOUR, hue, MIN, SEC, smtpSection } from './test-kit.ts';

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp.stop());

const feed = (t: number) => ({ name: 'feed', time: t, tags: {}, fields: { n: 1 } });

it('a revoked host leaves no alert_series or alert_agents row behind, whichever rule recorded it', async () => {
  const revoked = new Set<string>();
  const h = harness(
    {
      rules: [{ name: 'feed_silent', type: 'absence', measurement: 'feed', for: '5m', group_by: ['host'], severity: 'medium', title: 'Feed silent' }],
      recipients: [{ email: 'noc@tinh.gov.vn', language: 'en' }],
      smtp: smtpSection(smtp),
    },
    { isRevoked: (host) => revoked.has(host) },
  );
  try {
    const rows = () => {
      const s = new SqliteAlertStore(h.dbFile);
      try {
        return {
          series: s
            .series()
            .map((x) => `${x.labels.host}/${x.labels.rule}`)
            .sort(),
          agents: s
            .agents()
            .map((a) => a.host)
            .sort(),
        };
      } finally {
        s.close();
      }
    };
    h.engine.onAgentState(hanoi, true, h.now());
    h.engine.onAgentState(hue, true, h.now());
    await h.advance(1 * MIN, (t) => {
      h.engine.onBatch(hanoi, batch([feed(t)]));
      h.engine.onBatch(hue, batch([feed(t)]));
    });
    // A row of a rule an earlier config had (the engine does not load it, so never knew it).
    const older = new SqliteAlertStore(h.dbFile);
    older.saveSeries([{ key: 'old', labels: { rule: 'old_rule', agency: hanoi.agency, host: hanoi.host }, lastSeen: h.now() }]);
    older.close();
    expect(rows().series).toEqual([`${hanoi.host}/feed_silent`, `${hanoi.host}/old_rule`, `${hue.host}/feed_silent`]);

    revoked.add(hanoi.host);
    h.engine.onAgentState(hanoi, false, h.now());
    await h.advance(2 * MIN + 10 * SEC, (t) => h.engine.onBatch(hue, batch([feed(t)])));
    expect(rows()).toEqual({ series: [`${hue.host}/feed_silent`], agents: [hue.host] });
    // Nothing of hanoi fires afterwards: it is no longer expected.
    await h.advance(10 * MIN, (t) => h.engine.onBatch(hue, batch([feed(t)])));
    expect([...h.engine.tracker.alerts.values()].filter((a) => a.labels.host === hanoi.host && a.state !== 'resolved')).toEqual([]);
  } finally {
    await h.stop();
  }
});

it('a revoked host leaves nothing in memory at once; a host that left keeps its flap history flap.window at most, its windows 2 h, its counts 24 h', async () => {
  const revoked = new Set<string>();
  const h = harness(
    {
      default_rules: false,
      flap: { transitions: 4, window: '10m', hold: '2m' },
      rules: [
        ...HOST_MEMORY_RULES,
        { name: 'ssh_campaign', type: 'event', event_types: ['auth_failure'], distinct_hosts: 3, correlate_by: 'src_ip', severity: 'high' },
        { name: 'feed_silent', type: 'absence', measurement: 'feed', for: '5m', group_by: ['host'], severity: 'medium' },
      ],
      recipients: [],
    },
    { isRevoked: (host) => revoked.has(host), revokedHosts: () => revoked },
  );
  const cpu = (t: number, usage: number) => ({ name: 'cpu', time: t, tags: {}, fields: { usage } });
  const failure = (t: number) => event(t, 'auth_failure', 'medium', 'failed password', { src_ip: '203.0.113.9', user: 'root' });
  try {
    for (const id of [hanoi, hue]) h.engine.onAgentState(id, true, h.now());
    // Flapping CPU, a window, a count under min_count, a sighting, a sample set aside as late.
    await h.advance(3 * MIN, (t) => {
      for (const id of [hanoi, hue]) {
        const usage = Math.floor(t / 10_000) % 2 ? 95 : 50;
        h.engine.onBatch(id, batch([cpu(t, usage), feed(t)], [failure(t)]));
        h.engine.onBatch(id, batch([cpu(t - 20 * MIN, 10)]));
      }
    });
    // The last sample clears: nothing of the two stays firing.
    for (const id of [hanoi, hue]) h.engine.onBatch(id, batch([cpu(h.now(), 10)]));
    const held = { absence: 2, windows: 1, events: 2, flaps: 1, late: 1 };
    for (const id of [hanoi, hue]) expect(h.engine.memoryOf(id.host)).toEqual(held);

    // hanoi revoked; hue's agent leaves (offline here: its series are not judged silent).
    revoked.add(hanoi.host);
    h.engine.onAgentState(hue, false, h.now());
    await h.advance(MIN);
    expect(h.engine.memoryOf(hanoi.host)).toEqual({ absence: 0, windows: 0, events: 0, flaps: 0, late: 0 });
    expect(h.engine.memoryOf(hue.host)).toEqual(held);

    // hue: its flap history goes flap.window after
    // its last transition (the flap hold's resolution), its sightings `within` (10 min), its
    // window 2 h after its last sample, its min_count count 24 h after its last event.
    await h.advance(12 * MIN);
    expect(h.engine.memoryOf(hue.host)).toMatchObject({ flaps: 0, windows: 1, events: 1 });
    h.jump(2 * HOUR);
    await h.advance(10 * SEC);
    expect(h.engine.memoryOf(hue.host)).toMatchObject({ flaps: 0, windows: 0, events: 1 });
    h.jump(22 * HOUR);
    await h.advance(10 * SEC);
    expect(h.engine.memoryOf(hue.host)).toMatchObject({ flaps: 0, windows: 0, events: 0 });
  } finally {
    await h.stop();
  }
});
