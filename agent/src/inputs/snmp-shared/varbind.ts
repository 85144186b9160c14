// Pure decoding of what an SNMP device answers: varbind values (Counter64 arrives as a
// big-endian Buffer of any length, strings as raw octets), OID arithmetic, and turning
// walked table columns into rows keyed by their index. No sockets here. Shared by the
// snmp poller and the snmp_trap listener.
import type { FieldValue } from '@canh/protocol';

/** A variable binding the way net-snmp hands it over. */
export interface Varbind {
  oid: string;
  type: number;
  value: unknown;
}

/** ASN.1 / SMI type tags (net-snmp's ObjectType numbers). */
export const T = {
  Boolean: 1,
  Integer: 2,
  OctetString: 4,
  Null: 5,
  OID: 6,
  IpAddress: 64,
  Counter32: 65,
  Gauge32: 66,
  TimeTicks: 67,
  Opaque: 68,
  Counter64: 70,
  NoSuchObject: 128,
  NoSuchInstance: 129,
  EndOfMibView: 130,
} as const;

/** Largest integer a JSON number carries exactly (2^53). */
export const EXACT_LIMIT = 2n ** 53n;

/** "no such object/instance" and "end of MIB view": the device has no value here. */
export function isMissing(vb: Varbind): boolean {
  return vb.type === T.NoSuchObject || vb.type === T.NoSuchInstance || vb.type === T.EndOfMibView || vb.type === T.Null;
}

/**
 * A Counter64 (or any unsigned integer) as an exact bigint. net-snmp gives Counter64 as
 * a big-endian Buffer, sometimes with a leading 0x00 and sometimes shorter than 8 bytes;
 * a device answering nonsense (more than 8 significant bytes) gives undefined.
 */
export function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n ? value : undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  if (value instanceof Uint8Array) {
    let n = 0n;
    let significant = 0;
    for (const byte of value) {
      if (significant > 0 || byte !== 0) significant++;
      n = (n << 8n) | BigInt(byte);
    }
    return significant <= 8 ? n : undefined;
  }
  return undefined;
}

/**
 * A counter as an InfluxDB int field. JSON numbers (the wire protocol) are exact only
 * below 2^53 and InfluxDB 1.6 has no unsigned type, so values from 2^53 up are sent
 * modulo 2^53: the field then behaves like a counter that wraps at 2^53, which
 * non_negative_derivative handles. Rates computed by the agent use the exact value.
 */
export function counterField(n: bigint): number {
  return Number(n % EXACT_LIMIT);
}

/** Octet strings: printable text as text (trailing NULs dropped), anything else as hex. */
export function octetString(value: unknown, maxLength = 1024): string {
  if (typeof value === 'string') return value.slice(0, maxLength);
  if (!(value instanceof Uint8Array)) return String(value).slice(0, maxLength);
  let end = value.length;
  while (end > 0 && value[end - 1] === 0) end--;
  const bytes = value.subarray(0, end);
  const text = Buffer.from(bytes).toString('utf8');
  // U+FFFD means invalid UTF-8 (a MAC address, binary); control characters would break tags.
  if (!text.includes('\uFFFD') && !/[\u0000-\u0008\u000B-\u001F\u007F]/.test(text)) return text.slice(0, maxLength);
  return Buffer.from(bytes)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1:')
    .slice(0, maxLength);
}

/** Any varbind value as a field value; undefined when the device had none. */
export function fieldValue(vb: Varbind): FieldValue | undefined {
  if (isMissing(vb)) return undefined;
  switch (vb.type) {
    case T.Counter64: {
      const n = toBigInt(vb.value);
      return n === undefined ? undefined : counterField(n);
    }
    case T.Integer:
    case T.Counter32:
    case T.Gauge32:
    case T.TimeTicks:
      return typeof vb.value === 'number' && Number.isFinite(vb.value) ? vb.value : undefined;
    case T.Boolean:
      return Boolean(vb.value);
    case T.OctetString:
    case T.Opaque:
      return octetString(vb.value);
    case T.OID:
    case T.IpAddress:
      return String(vb.value);
    default:
      return undefined;
  }
}

/** Whether the value is stored as an InfluxDB integer. */
export function isIntegerType(type: number): boolean {
  return type === T.Integer || type === T.Counter32 || type === T.Gauge32 || type === T.TimeTicks || type === T.Counter64;
}

/** "1.3.6.1" with no leading dot, and validated: digits separated by dots. */
export function normalizeOid(oid: string): string | undefined {
  const s = oid.trim().replace(/^\./, '');
  return /^\d+(\.\d+)+$/.test(s) ? s : undefined;
}

/** The part of `oid` after `base.`, or undefined when `oid` is not under `base`. */
export function suffixOf(oid: string, base: string): string | undefined {
  const o = oid.replace(/^\./, '');
  return o.startsWith(`${base}.`) ? o.slice(base.length + 1) : undefined;
}

/** One column, walked: row index ("3", or "1.4.10.0.0.1" for composite indexes) → varbind. */
export type Column = Map<string, Varbind>;

/** Varbinds of a column walk keyed by the row index under `columnOid`; others are ignored. */
export function columnOf(varbinds: readonly Varbind[], columnOid: string): Column {
  const col: Column = new Map();
  for (const vb of varbinds) {
    const index = suffixOf(vb.oid, columnOid);
    if (index !== undefined && !isMissing(vb)) col.set(index, vb);
  }
  return col;
}

/**
 * A whole table walked under its table OID (as Telegraf's `oid` of a table, e.g. ifTable
 * 1.3.6.1.2.1.2.2): rows live under <table>.1.<column>.<index>. Column number → column.
 */
export function tableOf(varbinds: readonly Varbind[], tableOid: string): Map<number, Column> {
  const out = new Map<number, Column>();
  for (const vb of varbinds) {
    const rest = suffixOf(vb.oid, `${tableOid}.1`);
    if (rest === undefined || isMissing(vb)) continue;
    const dot = rest.indexOf('.');
    if (dot < 0) continue;
    const column = Number(rest.slice(0, dot));
    const index = rest.slice(dot + 1);
    let col = out.get(column);
    if (!col) out.set(column, (col = new Map()));
    col.set(index, vb);
  }
  return out;
}
