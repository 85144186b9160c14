// Pure reading of Windows Security log events (parsed XML) into records: which event, who,
// from where, and what it means for us. Field names follow Microsoft's documentation of each
// event id (EventData/Data[@Name]); 1102 carries its fields in UserData instead.
import { normAddr, type AuthRecord } from '../auth/record.ts';
import { child, type XmlElement } from './xml.ts';

export interface WinRecord {
  recordId: number;
  eventId: number;
  time?: number;
  computer?: string;
  kind: string;
  user?: string;
  src?: string;
  port?: number;
  logonType?: number;
  detail?: string;
  data: Record<string, string>;
}

const KINDS: Record<number, string> = {
  4624: 'logon',
  4625: 'logon_failure',
  4740: 'account_locked',
  4720: 'account_created',
  4722: 'account_enabled',
  4725: 'account_disabled',
  4726: 'account_deleted',
  4738: 'account_changed',
  4728: 'group_member_added',
  4732: 'group_member_added',
  4756: 'group_member_added',
  1102: 'log_cleared',
  4719: 'audit_policy_changed',
  4946: 'firewall_rule_added',
  4947: 'firewall_rule_modified',
  4948: 'firewall_rule_deleted',
  4949: 'firewall_reset',
  4950: 'firewall_setting_changed',
};

export const LOGON_TYPES: Record<number, string> = {
  2: 'interactive',
  3: 'network',
  4: 'batch',
  5: 'service',
  7: 'unlock',
  8: 'network_cleartext',
  9: 'new_credentials',
  10: 'remote_interactive',
  11: 'cached_interactive',
};

const clean = (s: string | undefined) => (s === undefined || s === '-' || s === '' ? undefined : s.slice(0, 512));

function accountName(user: string | undefined, domain: string | undefined): string | undefined {
  const u = clean(user);
  if (!u) return undefined;
  const d = clean(domain);
  return d ? `${d}\\${u}` : u;
}

/** The record an Event element stands for; undefined for event ids we do not use. */
export function readEvent(ev: XmlElement): WinRecord | undefined {
  if (ev.name !== 'Event') return undefined;
  const sys = child(ev, 'System');
  const eventId = Number(child(sys, 'EventID')?.text.trim());
  const recordId = Number(child(sys, 'EventRecordID')?.text.trim());
  if (!Number.isSafeInteger(eventId) || !Number.isSafeInteger(recordId) || recordId < 0) return undefined;
  const kind = KINDS[eventId];
  // SystemTime has 7-9 fractional digits; keep milliseconds so every runtime parses it.
  const t = Date.parse((child(sys, 'TimeCreated')?.attrs.SystemTime ?? '').replace(/(\.\d{3})\d+/, '$1'));
  const data: Record<string, string> = {};
  for (const d of child(ev, 'EventData')?.children ?? []) if (d.name === 'Data' && d.attrs.Name) data[d.attrs.Name] = d.text.trim();
  // UserData holds one provider-specific element whose children are the fields (1102).
  for (const u of child(ev, 'UserData')?.children ?? []) for (const f of u.children) data[f.name] = f.text.trim();
  const base = { recordId, eventId, time: Number.isFinite(t) ? t : undefined, computer: clean(child(sys, 'Computer')?.text.trim()), data };
  if (!kind) return { ...base, kind: 'other' };
  const target = accountName(data.TargetUserName, data.TargetDomainName);
  const subject = accountName(data.SubjectUserName, data.SubjectDomainName);
  switch (eventId) {
    case 4624:
    case 4625: {
      const lt = Number(data.LogonType);
      const ip = clean(data.IpAddress);
      return {
        ...base,
        kind,
        user: target,
        src: ip ? normAddr(ip) : undefined,
        port: Number(data.IpPort) > 0 ? Number(data.IpPort) : undefined,
        logonType: Number.isInteger(lt) ? lt : undefined,
        detail:
          eventId === 4625
            ? [clean(data.Status), clean(data.SubStatus), clean(data.FailureReason)].filter(Boolean).join(' ') || undefined
            : clean(data.WorkstationName),
      };
    }
    case 4728:
    case 4732:
    case 4756:
      // TargetUserName is the group; MemberName a DN, or "-" for local accounts (then MemberSid).
      return {
        ...base,
        kind,
        user: clean(data.MemberName) ?? clean(data.MemberSid),
        detail: clean(data.TargetUserName),
        data: { ...data, changed_by: subject ?? '' },
      };
    case 1102:
      return { ...base, kind, user: accountName(data.SubjectUserName, data.SubjectDomainName) };
    case 4946:
    case 4947:
    case 4948:
      return { ...base, kind, user: subject, detail: clean(data.RuleName) };
    case 4740:
      return { ...base, kind, user: target, detail: clean(data.TargetDomainName) };
    default:
      return { ...base, kind, user: target ?? subject, detail: clean(data.SubcategoryGuid) ?? clean(data.SettingValue) };
  }
}

/** Logons and failed logons as auth records, so the Linux brute-force logic applies as is. */
export function toAuthRecord(r: WinRecord): AuthRecord | undefined {
  if (r.eventId === 4625 && r.src) {
    return {
      kind: 'auth_failure',
      program: 'windows',
      src: r.src,
      user: clean(r.data.TargetUserName) ?? r.user,
      port: r.port,
      method: LOGON_TYPES[r.logonType ?? 0] ?? `type_${r.logonType}`,
      time: r.time,
      counts: true,
      repeat: 1,
    };
  }
  if (r.eventId === 4624 && (r.logonType === 3 || r.logonType === 10) && r.src) {
    return {
      kind: 'login_success',
      program: 'windows',
      src: r.src,
      user: clean(r.data.TargetUserName) ?? r.user,
      port: r.port,
      method: LOGON_TYPES[r.logonType],
      time: r.time,
      counts: false,
      repeat: 1,
    };
  }
  return undefined;
}
