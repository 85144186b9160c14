// Security events for Windows Security log records that need no counting: account and group
// changes, lockouts, audit policy and firewall changes, a cleared log. Logons go through the
// shared brute-force aggregator instead (see index.ts).
import type { Severity } from '@canh/protocol';
import type { AuthEvent } from '../auth/aggregate.ts';
import type { WinRecord } from './parse.ts';

const SPEC: Record<string, { severity: Severity; mitre?: string; what: string }> = {
  account_locked: { severity: 'medium', mitre: 'T1110', what: 'was locked out after failed logons' },
  account_created: { severity: 'medium', mitre: 'T1136.001', what: 'was created' },
  account_enabled: { severity: 'low', mitre: 'T1098', what: 'was enabled' },
  account_disabled: { severity: 'low', mitre: 'T1531', what: 'was disabled' },
  account_deleted: { severity: 'medium', mitre: 'T1531', what: 'was deleted' },
  account_changed: { severity: 'low', mitre: 'T1098', what: 'was changed' },
  log_cleared: { severity: 'critical', mitre: 'T1070.001', what: 'cleared the Security log' },
  audit_policy_changed: { severity: 'high', mitre: 'T1562.002', what: 'changed the audit policy' },
  firewall_rule_added: { severity: 'medium', mitre: 'T1562.004', what: 'added a Windows Firewall rule' },
  firewall_rule_modified: { severity: 'medium', mitre: 'T1562.004', what: 'modified a Windows Firewall rule' },
  firewall_rule_deleted: { severity: 'medium', mitre: 'T1562.004', what: 'deleted a Windows Firewall rule' },
  firewall_reset: { severity: 'medium', mitre: 'T1562.004', what: 'restored the Windows Firewall defaults' },
  firewall_setting_changed: { severity: 'medium', mitre: 'T1562.004', what: 'changed a Windows Firewall setting' },
};

export function windowsEvent(r: WinRecord, privilegedGroups: readonly string[], now: number): AuthEvent | undefined {
  const time = r.time ?? now;
  const who = r.user ?? 'unknown account';
  const evidence: Record<string, string | number> = {
    event_id: r.eventId,
    record_id: r.recordId,
    ...(r.computer ? { computer: r.computer } : {}),
    ...(r.user ? { user: r.user } : {}),
  };
  if (r.kind === 'group_member_added') {
    const group = r.detail ?? '?';
    const priv = privilegedGroups.some((g) => g.toLowerCase() === group.toLowerCase());
    return {
      time,
      type: 'group_changed',
      severity: priv ? 'high' : 'medium',
      message: `${who} was added to group "${group}"${r.data.changed_by ? ` by ${r.data.changed_by}` : ''}${priv ? ': a privileged group' : ''}`,
      evidence: { ...evidence, group, changed_by: r.data.changed_by ?? '' },
      count: 1,
      mitre: 'T1098',
    };
  }
  const spec = SPEC[r.kind];
  if (!spec) return undefined;
  const actor = r.kind.startsWith('account_') ? `Account "${who}"` : who;
  if (r.detail) evidence.detail = r.detail;
  return {
    time,
    type: r.kind,
    severity: spec.severity,
    message: `${actor} ${spec.what}${r.detail && r.kind.startsWith('firewall_') ? `: "${r.detail}"` : ''} (event ${r.eventId})`,
    evidence,
    count: 1,
    ...(spec.mitre ? { mitre: spec.mitre } : {}),
  };
}
