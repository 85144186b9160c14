// A revoked agent on the SQLite store (one collector): what its host caused resolves, and
// nothing of it stays in collector.db — every `alert_series` row of the host, including
// those of a rule no longer in the config (not loaded, so unknown to the engine's memory),
// and its liveness row. PostgreSQL's side is in state/state.test.ts and test/ha-host-state.test.ts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../../../test/helpers/smtp.ts';
import { SqliteAlertStore } from './store.ts';
import { batch, hanoi, harness, hue, MIN, SEC, smtpSection } from './test-kit.ts';

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
