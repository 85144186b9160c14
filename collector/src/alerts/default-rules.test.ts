// No rule, no mail: every event type a detector documents with severity medium or higher
// has a default rule that catches it at that severity, with a title and a summary in
// Vietnamese and English. The event types come from the detectors' READMEs (the table
// with a `type` and a `severity` column), so a new detector or type is checked as soon as
// it is documented.
import { describe, expect, it } from 'vitest';
import { SEVERITIES } from '@canh/protocol';
import { allDocumented as allSeriousDocumented, documentedEvents } from '../../../test/helpers/detector-docs.ts';
import { defaultRules, severityRank, type EventRule } from './rules.ts';

const allDocumented = () => allSeriousDocumented({ serious: true });

describe('the default rule pack covers the detectors', () => {
  it('reads the event tables: types, suffix shorthand and the lowest serious severity', () => {
    const md = [
      '| type | severity | mitre | when |',
      '|---|---|---|---|',
      '| `a_added` / `_removed` | `medium`; `low` on loopback; `high` on a backdoor | — | x |',
      '| `quiet` | info | — | y |',
    ].join('\n');
    expect(documentedEvents('d', md, { serious: true })).toEqual([
      { detector: 'd', type: 'a_added', severity: 'medium' },
      { detector: 'd', type: 'a_removed', severity: 'medium' },
    ]);
    const found = allDocumented();
    // The walk finds what the issue named, so an empty parse cannot pass the test below.
    for (const t of [
      'arp_spoofing',
      'suspicious_process',
      'new_listening_port',
      'account_created',
      'uid0_account',
      'brute_force_success',
      'log_cleared',
      'firewall_rule_modified',
    ]) {
      expect(found.map((d) => d.type)).toContain(t);
    }
    expect(found.find((d) => d.type === 'new_listening_port')?.severity).toBe('medium');
  });

  it('every documented event type of severity medium or higher has a default rule that mails it', () => {
    const rules = defaultRules().filter((r): r is EventRule => r.type === 'event' && !r.distinct_hosts);
    const missing = allDocumented()
      .filter((d) => !rules.some((r) => r.event_types.includes(d.type) && severityRank(r.min_severity) <= severityRank(d.severity)))
      .map((d) => `${d.detector}: ${d.type} (${d.severity})`);
    expect(missing, 'event types without a default rule').toEqual([]);
  });

  it('every default rule has a title and a summary in Vietnamese and English; event rules name documented types', () => {
    const types = new Set(allDocumented().map((d) => d.type));
    for (const r of defaultRules()) {
      expect(r.title, `${r.name}: title`).toMatchObject({ vi: expect.any(String), en: expect.any(String) });
      expect(r.summary, `${r.name}: summary`).toMatchObject({ vi: expect.any(String), en: expect.any(String) });
      if (r.type === 'event')
        for (const t of r.event_types) expect(types.has(t) || t === 'brute_force', `${r.name}: ${t} is no documented medium+ type`).toBe(true);
    }
    expect(SEVERITIES).toContain('medium');
  });

  it('an SNMP device that stops answering has a rule', () => {
    expect(defaultRules().find((r) => r.name === 'snmp_device_down')).toMatchObject({
      type: 'threshold',
      measurement: 'snmp',
      field: 'result_code',
      op: '==',
      value: 1,
    });
  });
});
