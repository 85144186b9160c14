// Pure reading of a received SNMP notification (v1 trap, v2c/v3 trap or inform): which
// trap it is, and what it becomes — an availability/security event for the standard
// generic traps, a bounded `snmp_trap` point for everything else.
import type { FieldValue, Severity } from '@canh/protocol';
import { fieldValue, normalizeOid, octetString, suffixOf, T, toBigInt, type Varbind } from '../snmp-shared/varbind.ts';

export const SNMP_TRAP_OID = '1.3.6.1.6.3.1.1.4.1.0';
export const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
const SNMP_TRAPS = '1.3.6.1.6.3.1.1.5';
const IF_INDEX = '1.3.6.1.2.1.2.2.1.1';
const IF_DESCR = '1.3.6.1.2.1.2.2.1.2';
const IF_ADMIN = '1.3.6.1.2.1.2.2.1.7';
const IF_OPER = '1.3.6.1.2.1.2.2.1.8';
const IF_NAME = '1.3.6.1.2.1.31.1.1.1.1';

interface Generic {
  type: string;
  severity: Severity;
  what: string;
  mitre?: string;
}

/** The generic traps of SNMPv2-MIB (RFC 3418), by the last arc of their OID (= v1 generic-trap + 1). */
const GENERIC: Record<string, Generic> = {
  [`${SNMP_TRAPS}.1`]: { type: 'snmp_cold_start', severity: 'medium', what: 'restarted (cold start: power loss or crash)' },
  [`${SNMP_TRAPS}.2`]: { type: 'snmp_warm_start', severity: 'low', what: 'reinitialised (warm start)' },
  [`${SNMP_TRAPS}.3`]: { type: 'snmp_link_down', severity: 'medium', what: 'reports a link down' },
  [`${SNMP_TRAPS}.4`]: { type: 'snmp_link_up', severity: 'info', what: 'reports a link up' },
  // Someone asked the device with a wrong community or user: a scan or a guessing attempt.
  [`${SNMP_TRAPS}.5`]: { type: 'snmp_auth_failure', severity: 'medium', what: 'refused an SNMP request with wrong credentials', mitre: 'T1110' },
};

export interface ReceivedTrap {
  /** Sender's UDP address. */
  source: string;
  version: string;
  pduType: number;
  varbinds: readonly Varbind[];
  /** SNMPv1 trap header. */
  enterprise?: string;
  agentAddr?: string;
  generic?: number;
  specific?: number;
}

export type TrapOutput =
  | { kind: 'event'; type: string; severity: Severity; message: string; evidence: Record<string, FieldValue>; mitre?: string }
  | { kind: 'point'; tags: Record<string, string>; fields: Record<string, FieldValue>; int: string[] };

/** The notification's OID: snmpTrapOID.0 (v2c/v3) or derived from the v1 header (RFC 3584 §3.1). */
export function trapOid(t: ReceivedTrap): string | undefined {
  const vb = t.varbinds.find((v) => normalizeOid(v.oid) === SNMP_TRAP_OID);
  if (vb && vb.type === T.OID) return normalizeOid(String(vb.value));
  if (t.generic !== undefined && t.generic >= 0 && t.generic < 6) return `${SNMP_TRAPS}.${t.generic + 1}`;
  if (t.generic === 6 && t.enterprise) {
    const e = normalizeOid(t.enterprise);
    if (e) return `${e}.0.${t.specific ?? 0}`;
  }
  return undefined;
}

/** A varbind value as evidence (strings bounded). */
function evidenceValue(vb: Varbind): FieldValue | undefined {
  const v = fieldValue(vb);
  return typeof v === 'string' ? v.slice(0, 256) : v;
}

export interface Limits {
  maxVarbinds: number;
  maxValueLength: number;
}

export function interpret(t: ReceivedTrap, limits: Limits): TrapOutput {
  const oid = trapOid(t) ?? 'unknown';
  const generic = GENERIC[oid];
  const payload = t.varbinds.filter((v) => {
    const o = normalizeOid(v.oid);
    return o !== SNMP_TRAP_OID && o !== SYS_UPTIME;
  });

  if (generic) {
    const evidence: Record<string, FieldValue> = { source: t.source, trap_oid: oid, version: t.version };
    if (t.agentAddr && t.agentAddr !== '0.0.0.0') evidence.agent_address = t.agentAddr;
    for (const vb of payload) {
      const o = normalizeOid(vb.oid) ?? '';
      const indexOf = (base: string) => suffixOf(o, base);
      if (indexOf(IF_INDEX) !== undefined) {
        const v = fieldValue(vb);
        if (typeof v === 'number') evidence.ifIndex = v;
      } else if (indexOf(IF_NAME) !== undefined) {
        evidence.ifName = octetString(vb.value, 256);
        evidence.ifIndex ??= Number(indexOf(IF_NAME));
      } else if (indexOf(IF_DESCR) !== undefined) {
        evidence.ifDescr = octetString(vb.value, 256);
        evidence.ifIndex ??= Number(indexOf(IF_DESCR));
      } else if (indexOf(IF_ADMIN) !== undefined || indexOf(IF_OPER) !== undefined) {
        const v = evidenceValue(vb);
        if (v !== undefined) evidence[indexOf(IF_ADMIN) !== undefined ? 'ifAdminStatus' : 'ifOperStatus'] = v;
        evidence.ifIndex ??= Number(indexOf(IF_ADMIN) ?? indexOf(IF_OPER));
      }
    }
    const port = evidence.ifName ?? evidence.ifDescr ?? (evidence.ifIndex !== undefined ? `ifIndex ${String(evidence.ifIndex)}` : undefined);
    const where = port !== undefined && generic.type.startsWith('snmp_link') ? ` on ${String(port)}` : '';
    return {
      kind: 'event',
      type: generic.type,
      severity: generic.severity,
      message: `SNMP device ${t.source} ${generic.what}${where}`,
      evidence,
      ...(generic.mitre ? { mitre: generic.mitre } : {}),
    };
  }

  const fields: Record<string, FieldValue> = {};
  const int: string[] = [];
  const up = t.varbinds.find((v) => normalizeOid(v.oid) === SYS_UPTIME);
  const upValue = up ? fieldValue(up) : undefined;
  if (typeof upValue === 'number') {
    fields.sysUpTimeInstance = upValue;
    int.push('sysUpTimeInstance');
  }
  // Field names are the varbind OIDs, as Telegraf's snmp_trap names them without MIBs.
  for (const vb of payload.slice(0, limits.maxVarbinds)) {
    const key = normalizeOid(vb.oid);
    // Counter64 as its exact decimal string: a trap value is read, not derived, so it
    // must not wrap at 2^53 as the polled counters do (JSON numbers are exact below it).
    const v = vb.type === T.Counter64 ? toBigInt(vb.value)?.toString() : fieldValue(vb);
    if (!key || v === undefined) continue;
    fields[key] = typeof v === 'string' ? v.slice(0, limits.maxValueLength) : v;
    if (typeof v === 'number' && Number.isInteger(v) && vb.type !== T.Boolean) int.push(key);
  }
  if (payload.length > limits.maxVarbinds) fields.varbinds_dropped = payload.length - limits.maxVarbinds;
  if (payload.length > limits.maxVarbinds) int.push('varbinds_dropped');
  fields.varbinds = payload.length;
  int.push('varbinds');
  return { kind: 'point', tags: { source: t.source, oid, version: t.version }, fields, int };
}
