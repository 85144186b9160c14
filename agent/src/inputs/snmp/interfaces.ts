// The IF-MIB interface table as Telegraf's snmp IF-MIB example stores it (measurement
// `interface`): 64-bit counters from ifXTable when the device has them, the 32-bit
// ifTable otherwise, plus the rates and utilization computed from the previous poll.
import type { FieldValue } from '@canh/protocol';
import { counterField, fieldValue, octetString, toBigInt, type Column } from '../snmp-shared/varbind.ts';
import { bitsPerSecond, utilization, type Width } from './rates.ts';

const IF_ENTRY = '1.3.6.1.2.1.2.2.1';
const IFX_ENTRY = '1.3.6.1.2.1.31.1.1.1';

/** The columns we walk, by the IF-MIB name they are stored under. */
export const IF_COLUMNS = {
  ifDescr: `${IF_ENTRY}.2`,
  ifType: `${IF_ENTRY}.3`,
  ifSpeed: `${IF_ENTRY}.5`,
  ifAdminStatus: `${IF_ENTRY}.7`,
  ifOperStatus: `${IF_ENTRY}.8`,
  ifInOctets: `${IF_ENTRY}.10`,
  ifInDiscards: `${IF_ENTRY}.13`,
  ifInErrors: `${IF_ENTRY}.14`,
  ifOutOctets: `${IF_ENTRY}.16`,
  ifOutDiscards: `${IF_ENTRY}.19`,
  ifOutErrors: `${IF_ENTRY}.20`,
} as const;

export const IFX_COLUMNS = {
  ifName: `${IFX_ENTRY}.1`,
  ifHCInOctets: `${IFX_ENTRY}.6`,
  ifHCOutOctets: `${IFX_ENTRY}.10`,
  ifHighSpeed: `${IFX_ENTRY}.15`,
  ifAlias: `${IFX_ENTRY}.18`,
} as const;

export type ColumnName = keyof typeof IF_COLUMNS | keyof typeof IFX_COLUMNS;
export type Columns = Partial<Record<ColumnName, Column>>;

/** What we keep of an interface between polls to compute rates. */
export interface InterfaceCounters {
  in?: bigint;
  out?: bigint;
  width: Width;
  time: number;
}

export interface InterfacePoint {
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  int: string[];
}

const INT_COLUMNS: readonly ColumnName[] = [
  'ifType',
  'ifSpeed',
  'ifHighSpeed',
  'ifAdminStatus',
  'ifOperStatus',
  'ifInDiscards',
  'ifInErrors',
  'ifOutDiscards',
  'ifOutErrors',
];

const IF_SPEED_MAX = 4_294_967_295;

/** Link speed in bit/s: ifSpeed while it is exact, ifHighSpeed (Mbit/s) once ifSpeed saturates. */
function speedOf(ifSpeed: FieldValue | undefined, ifHighSpeed: FieldValue | undefined): number | undefined {
  if (typeof ifSpeed === 'number' && ifSpeed > 0 && ifSpeed < IF_SPEED_MAX) return ifSpeed;
  if (typeof ifHighSpeed === 'number' && ifHighSpeed > 0) return ifHighSpeed * 1_000_000;
  if (typeof ifSpeed === 'number' && ifSpeed > 0) return ifSpeed;
  return undefined;
}

/**
 * One point per interface, and the counters to keep for the next poll. `prev` holds the
 * previous poll's counters; pass an empty map (or skipRates) after a device restart.
 */
export function interfacePoints(
  cols: Columns,
  prev: ReadonlyMap<string, InterfaceCounters>,
  now: number,
  opts: { skipRates?: boolean } = {},
): { points: InterfacePoint[]; counters: Map<string, InterfaceCounters> } {
  const indexes = new Set<string>();
  for (const c of [cols.ifDescr, cols.ifName, cols.ifInOctets, cols.ifHCInOctets, cols.ifOperStatus]) for (const i of c?.keys() ?? []) indexes.add(i);
  const sorted = [...indexes].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const points: InterfacePoint[] = [];
  const counters = new Map<string, InterfaceCounters>();

  for (const index of sorted) {
    const get = (c: ColumnName) => {
      const vb = cols[c]?.get(index);
      return vb ? fieldValue(vb) : undefined;
    };
    const raw = (c: ColumnName) => cols[c]?.get(index)?.value;
    const fields: Record<string, FieldValue> = {};
    const int: string[] = [];
    const setInt = (k: string, v: FieldValue | undefined) => {
      if (typeof v === 'number' && Number.isFinite(v)) {
        fields[k] = Math.trunc(v);
        int.push(k);
      }
    };
    for (const c of INT_COLUMNS) setInt(c, get(c));

    const descr = cols.ifDescr?.get(index) ? octetString(raw('ifDescr'), 256) : undefined;
    const name = cols.ifName?.get(index) ? octetString(raw('ifName'), 256) : undefined;
    const alias = cols.ifAlias?.get(index) ? octetString(raw('ifAlias'), 256) : undefined;
    if (descr !== undefined) fields.ifDescr = descr;
    if (alias !== undefined) fields.ifAlias = alias;

    // 64-bit counters where the row has them; a row of ifXTable without them (some
    // devices leave HC counters out on slow ports) falls back to the 32-bit ones.
    const hcIn = toBigInt(raw('ifHCInOctets'));
    const hcOut = toBigInt(raw('ifHCOutOctets'));
    const width: Width = hcIn !== undefined || hcOut !== undefined ? 64 : 32;
    const inOctets = width === 64 ? hcIn : toBigInt(raw('ifInOctets'));
    const outOctets = width === 64 ? hcOut : toBigInt(raw('ifOutOctets'));
    const inName = width === 64 ? 'ifHCInOctets' : 'ifInOctets';
    const outName = width === 64 ? 'ifHCOutOctets' : 'ifOutOctets';
    if (inOctets !== undefined) setInt(inName, counterField(inOctets));
    if (outOctets !== undefined) setInt(outName, counterField(outOctets));

    const speed = speedOf(get('ifSpeed'), get('ifHighSpeed'));
    const last = prev.get(index);
    if (last && !opts.skipRates && last.width === width) {
      const elapsed = now - last.time;
      const inBps = last.in !== undefined && inOctets !== undefined ? bitsPerSecond(last.in, inOctets, elapsed, width) : undefined;
      const outBps = last.out !== undefined && outOctets !== undefined ? bitsPerSecond(last.out, outOctets, elapsed, width) : undefined;
      if (inBps !== undefined) {
        fields.in_bps = inBps;
        const u = utilization(inBps, speed);
        if (u !== undefined) fields.in_utilization = u;
      }
      if (outBps !== undefined) {
        fields.out_bps = outBps;
        const u = utilization(outBps, speed);
        if (u !== undefined) fields.out_utilization = u;
      }
    }
    counters.set(index, { in: inOctets, out: outOctets, width, time: now });

    if (Object.keys(fields).length === 0) continue;
    const tags: Record<string, string> = { ifIndex: index };
    // Telegraf's IF-MIB example tags by ifName; devices without ifXTable only have ifDescr.
    const tagName = name || descr;
    if (tagName) tags.ifName = tagName;
    points.push({ tags, fields, int });
  }
  return { points, counters };
}
