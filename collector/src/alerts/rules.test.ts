// Rule and alerting config schemas: the default pack parses and is documented, errors
// name their path, secrets resolve.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseCollectorConfig } from '../config.ts';
import { defaultRules, effectiveRules } from './rules.ts';

function problems(alerting: unknown): string {
  try {
    parseCollectorConfig({ alerting }, { env: {} });
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

describe('alert rules and the alerting config', () => {
  it('the default rule pack parses with the user-rule schema, and README.md documents every rule', () => {
    const rules = defaultRules();
    expect(rules.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'agent_offline',
        'host_unreachable',
        'portal_down',
        'certificate_expiring',
        'disk_full',
        'link_saturated_in',
        'interface_down',
        'brute_force',
        'possible_defacement',
        'system_file_changed',
        'privileged_account',
      ]),
    );
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    for (const r of rules) expect(readme, `README.md lacks ${r.name}`).toContain(`\`${r.name}\``);
    const x509 = rules.find((r) => r.name === 'certificate_expiring')!;
    expect(x509).toMatchObject({ type: 'threshold', value: 14 * 86_400 });
  });

  it("README.md's example configuration parses", () => {
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const yaml = /## Configuration[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const doc = parseYaml(yaml) as { alerting: Record<string, unknown> };
    // The secrets it names are files on a real host; give them from the environment here.
    const alerting = { ...doc.alerting, admin_token: { env: 'T' }, smtp: { ...(doc.alerting.smtp as object), auth: { user: 'canh', password: { env: 'P' } } } };
    const c = parseCollectorConfig({ alerting: { ...alerting, templates: {} } }, { env: { T: 'x'.repeat(20), P: 'p' } }).alerting!;
    expect(effectiveRules(c).find((r) => r.name === 'disk_full')).toMatchObject({ value: 95 });
    expect(c.maintenance[0]).toMatchObject({ days: ['sun'], start: '22:00', end: '02:00' });
  });

  it('user rules replace same-named defaults; disabled_rules removes them', () => {
    const c = parseCollectorConfig({
      alerting: {
        disabled_rules: ['brute_force'],
        rules: [
          { name: 'disk_full', type: 'threshold', measurement: 'disk', field: 'used_percent', op: '>=', value: 95, for: '10m', group_by: ['host', 'path'] },
        ],
      },
    }).alerting!;
    const rules = effectiveRules(c);
    expect(rules.find((r) => r.name === 'brute_force')).toBeUndefined();
    expect(rules.find((r) => r.name === 'disk_full')).toMatchObject({ value: 95, for: 600_000 });
    expect(c.grouping).toMatchObject({
      group_by: ['agency', 'rule'],
      group_wait: 30_000,
      group_interval: 300_000,
      repeat_interval: 14_400_000,
      send_resolved: true,
    });
  });

  it('errors name their path', () => {
    const m = problems({
      rules: [
        { name: 'Bad Name', type: 'threshold', measurement: 'ping', field: 'x', op: '=>', value: 'soon' },
        { name: 'e', type: 'event', event_types: [] },
      ],
      recipients: [{ email: 'not-an-address', language: 'fr' }],
      maintenance: [{ name: 'w', start: '22:00', end: '2h', timezone: 'Asia/Hanoi_X' }],
      inhibit_rules: [{ source: ['rule~agent_offline'] }],
    });
    expect(m).toContain('alerting.rules[0].name: use lower-case letters');
    expect(m).toContain('alerting.rules[0].op: ');
    expect(m).toContain('alerting.rules[0].value: not a number or a duration: "soon"');
    expect(m).toContain('alerting.rules[1].event_types: ');
    expect(m).toContain('alerting.recipients[0].email: ');
    expect(m).toContain('alerting.recipients[0].language: ');
    expect(m).toContain('alerting.maintenance[0].end: write the time as HH:MM');
    expect(m).toContain('alerting.maintenance[0].timezone: not an IANA time zone');
    expect(m).toContain('alerting.inhibit_rules[0].source[0]: not a matcher: "rule~agent_offline"');
    expect(problems({ recipients: [{ email: 'a@b.vn' }] })).toContain('alerting.smtp: required when recipients are configured');
    expect(problems({ disabled_rules: ['nope'] })).toContain('alerting.disabled_rules[0]: no rule named "nope"');
    expect(problems({ templates: { vi: { html: '/nonexistent/t.html' } } })).toContain('alerting.templates.vi.html: cannot read /nonexistent/t.html (ENOENT)');
    expect(
      problems({
        rules: [
          { name: 'a', type: 'absence', measurement: 'disk', for: '10m' },
          { name: 'a', type: 'absence', measurement: 'mem', for: '10m' },
        ],
      }),
    ).toContain('alerting.rules[1].name: duplicate rule name "a"');
    expect(problems({ admin_token: { value: 'short' } })).toContain('alerting.admin_token: use at least 16 characters');
  });

  it('secrets come from the environment or a file', () => {
    const c = parseCollectorConfig(
      {
        alerting: {
          admin_token: { env: 'ADMIN' },
          smtp: { host: 'smtp.tinh.gov.vn', from: 'canh@tinh.gov.vn', auth: { user: 'canh', password: { env: 'PW' } } },
        },
      },
      { env: { ADMIN: 'x'.repeat(32), PW: 'mật khẩu' } },
    );
    expect(c.alertingSecrets).toEqual({ adminToken: 'x'.repeat(32), smtpPassword: 'mật khẩu' });
    expect(problems({ smtp: { host: 'h', from: 'a@b.vn', auth: { user: 'u', password: { file: '/nonexistent/pw' } } } })).toContain(
      'alerting.smtp.auth.password.file: cannot read (ENOENT)',
    );
  });
});
