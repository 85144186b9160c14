// Pure comparison of two account snapshots into findings (events without time), so every
// rule can be tested with plain objects.
import type { Accumulator } from '../../inputs/types.ts';
import { isLoginShell } from './parse.ts';

export type EventInput = Parameters<Accumulator['addEvent']>[0];

export interface AccountFacts {
  users: Record<string, { uid: number; gid: number; shell: string; home: string }>;
  privileged: Record<string, string[]>;
}

export interface Rules {
  systemUidMax: number;
  allowLoginShell: readonly string[];
  /** First run: only standing dangers (a second uid 0) are reported. */
  firstRun: boolean;
}

export function compareAccounts(before: AccountFacts, after: AccountFacts, rules: Rules): EventInput[] {
  const out: EventInput[] = [];
  for (const [name, u] of Object.entries(after.users)) {
    const old = before.users[name];
    const ev = { user: name, uid: u.uid, gid: u.gid, shell: u.shell, home: u.home };
    if (u.uid === 0 && name !== 'root' && (rules.firstRun || !old || old.uid !== 0)) {
      out.push({
        type: 'uid0_account',
        severity: 'critical',
        mitre: 'T1078.003',
        message: `account "${name}" has uid 0 (a second root account)${old && old.uid !== 0 ? `; its uid was ${old.uid}` : ''}`,
        evidence: { ...ev, ...(old ? { old_uid: old.uid } : {}) },
      });
    }
    if (rules.firstRun) continue;
    if (!old) {
      out.push({
        type: 'account_created',
        severity: 'medium',
        mitre: 'T1136.001',
        message: `account "${name}" created (uid ${u.uid}, shell ${u.shell})`,
        evidence: ev,
      });
    }
    const system = u.uid > 0 && u.uid <= rules.systemUidMax && !rules.allowLoginShell.includes(name);
    if (system && isLoginShell(u.shell) && (!old || !isLoginShell(old.shell))) {
      out.push({
        type: 'system_account_login_shell',
        severity: 'high',
        mitre: 'T1098',
        message: `system account "${name}" (uid ${u.uid}) ${old ? `was given the login shell ${u.shell} (was ${old.shell})` : `created with the login shell ${u.shell}`}`,
        evidence: { ...ev, ...(old ? { old_shell: old.shell } : {}) },
      });
    }
  }
  if (rules.firstRun) return out;
  for (const [name, u] of Object.entries(before.users)) {
    if (!(name in after.users)) {
      out.push({ type: 'account_deleted', severity: 'low', message: `account "${name}" (uid ${u.uid}) deleted`, evidence: { user: name, uid: u.uid } });
    }
  }
  for (const [group, members] of Object.entries(after.privileged)) {
    const was = new Set(before.privileged[group] ?? []);
    for (const m of members) {
      if (was.has(m)) continue;
      out.push({
        type: 'privileged_group_member_added',
        severity: 'high',
        mitre: 'T1098',
        message: `"${m}" added to privileged group "${group}"`,
        evidence: { user: m, group },
      });
    }
    const now = new Set(members);
    for (const m of was) {
      if (!now.has(m))
        out.push({
          type: 'privileged_group_member_removed',
          severity: 'info',
          message: `"${m}" removed from privileged group "${group}"`,
          evidence: { user: m, group },
        });
    }
  }
  return out;
}
