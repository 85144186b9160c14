// One poll of one device: the system scalars, the IF-MIB interface table, and the
// configured extra fields and tables. Whatever happens, the device gets its `snmp`
// point with a result, so a dead device is a visible error and never a gap.
import type { FieldValue } from '@canh/protocol';
import type { Accumulator } from '../types.ts';
import { columnOf, fieldValue, isIntegerType, tableOf, type Varbind } from '../snmp-shared/varbind.ts';
import { IF_COLUMNS, IFX_COLUMNS, interfacePoints, type Columns, type ColumnName, type InterfaceCounters } from './interfaces.ts';
import { restarted } from './rates.ts';
import { classify, RESULT_CODES, SnmpPollError, type SnmpClient, type Result } from './session.ts';

export const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
export const SYS_NAME = '1.3.6.1.2.1.1.5.0';

export interface PollSpec {
  /** The agent_host tag: the device's address as configured. */
  agentHost: string;
  /** The device tag: its name (index.ts deviceName), unique within the input. */
  device: string;
  tags: Record<string, string>;
  ifMib: boolean;
  fields: readonly { name: string; oid: string }[];
  tables: readonly { name: string; oid: string; index_tag: string }[];
  /** Walk size cap per table: a bound on what a misbehaving device can make us hold. */
  maxRows: number;
}

/** What a device's previous polls leave for the next one. */
export interface DeviceState {
  uptimeTicks?: number;
  /** When (by the monotonic clock) uptimeTicks was read. */
  uptimeAt?: number;
  /** When the device last answered a whole poll (ms). */
  lastSuccessAt?: number;
  interfaces: Map<string, InterfaceCounters>;
}

/** Tags of every point of a device: its configured tags, then its identity (which they cannot override). */
export function deviceTags(spec: Pick<PollSpec, 'agentHost' | 'device' | 'tags'>): Record<string, string> {
  return { ...spec.tags, agent_host: spec.agentHost, device: spec.device };
}

/** The availability fields of the `snmp` point: up (1/0) and when the device last answered. */
export function availability(fields: Record<string, FieldValue>, state: DeviceState): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = { ...fields, up: fields.result === 'success' ? 1 : 0 };
  if (state.lastSuccessAt !== undefined) out.last_success = state.lastSuccessAt;
  return out;
}

export interface PollOutcome {
  result: Result;
  message?: string;
  state: DeviceState;
}

/** Walk several columns with at most `concurrency` requests in flight (small switch CPUs drop bursts). */
async function walkColumns<K extends string>(
  client: SnmpClient,
  columns: Record<K, string>,
  maxRows: number,
  concurrency = 4,
): Promise<Partial<Record<K, Varbind[]>>> {
  const entries = Object.entries(columns) as [K, string][];
  const out: Partial<Record<K, Varbind[]>> = {};
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const [name, oid] = entries[next++]!;
      out[name] = await client.walk(oid, maxRows);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
  return out;
}

/**
 * `now` stamps the points; `mono` measures the time between polls,
 * so a step of the wall clock forward is not read as a device that restarted meanwhile.
 */
export async function pollDevice(
  client: SnmpClient,
  spec: PollSpec,
  state: DeviceState,
  acc: Accumulator,
  now: () => number,
  mono: () => number = now,
): Promise<PollOutcome> {
  const startedMono = mono();
  const started = now();
  const base = deviceTags(spec);
  const snmpFields: Record<string, FieldValue> = {};
  const snmpInt: string[] = [];
  let next: DeviceState = state;
  let result: Result = 'success';
  let message: string | undefined;
  try {
    const uptime = await readScalars(client, spec, snmpFields, snmpInt);
    const reboot = state.uptimeTicks !== undefined && state.uptimeAt !== undefined && restarted(state.uptimeTicks, uptime, startedMono - state.uptimeAt);
    if (reboot) reportReboot(acc, spec, state, uptime, snmpFields, started);
    next = { uptimeTicks: uptime, uptimeAt: startedMono, interfaces: state.interfaces };

    if (spec.ifMib) next = { ...next, interfaces: await pollInterfaces(client, spec, state, acc, { base, started, mono, reboot }) };

    await pollTables(client, spec, acc, base, started);
  } catch (err) {
    ({ result, message } = classify(err));
  }
  if (result === 'success') next = { ...next, lastSuccessAt: started };
  snmpFields.result = result;
  snmpFields.result_code = RESULT_CODES[result];
  snmpFields.response_time_ms = now() - started;
  snmpInt.push('result_code', 'response_time_ms', 'up', 'last_success');
  acc.addPoint('snmp', base, availability(snmpFields, next), { int: snmpInt, time: started });
  return { result, message, state: next };
}

/** sysUpTime, sysName and the configured scalar fields into the `snmp` point's fields; returns sysUpTime. */
async function readScalars(client: SnmpClient, spec: PollSpec, snmpFields: Record<string, FieldValue>, snmpInt: string[]): Promise<number> {
  const scalars = await client.get([SYS_UPTIME, SYS_NAME, ...spec.fields.map((f) => f.oid)]);
  const [up, name, ...extra] = scalars;
  const uptime = up ? fieldValue(up) : undefined;
  if (typeof uptime !== 'number') throw new SnmpPollError('error', 'the device has no sysUpTime.0 (1.3.6.1.2.1.1.3.0): is this an SNMP agent with SNMPv2-MIB?');
  snmpFields.sysUpTime = uptime;
  snmpInt.push('sysUpTime');
  if (name) {
    const v = fieldValue(name);
    if (typeof v === 'string') snmpFields.sysName = v;
  }
  spec.fields.forEach((f, i) => {
    const vb = extra[i];
    const v = vb ? fieldValue(vb) : undefined;
    if (v === undefined || !vb) return;
    snmpFields[f.name] = v;
    if (isIntegerType(vb.type)) snmpInt.push(f.name);
  });
  return uptime;
}

function reportReboot(acc: Accumulator, spec: PollSpec, state: DeviceState, uptime: number, snmpFields: Record<string, FieldValue>, started: number): void {
  acc.addEvent({
    type: 'device_reboot',
    severity: 'medium',
    message: `SNMP device ${spec.device} restarted: up ${Math.round(uptime / 100)} s, was up ${Math.round(state.uptimeTicks! / 100)} s at the previous poll; rates skipped for this poll`,
    evidence: {
      agent_host: spec.agentHost,
      device: spec.device,
      sysUpTime: uptime,
      previous_sysUpTime: state.uptimeTicks!,
      ...(typeof snmpFields.sysName === 'string' ? { sysName: snmpFields.sysName } : {}),
    },
    time: started,
  });
}

/** The IF-MIB walk as `interface` points; returns the counters kept for the next poll's rates. */
async function pollInterfaces(
  client: SnmpClient,
  spec: PollSpec,
  state: DeviceState,
  acc: Accumulator,
  at: { base: Record<string, string>; started: number; mono: () => number; reboot: boolean },
): Promise<DeviceState['interfaces']> {
  const { base, started, mono, reboot } = at;
  const walked = await walkColumns<ColumnName>(client, { ...IF_COLUMNS, ...IFX_COLUMNS }, spec.maxRows);
  const counterTime = mono();
  const cols: Columns = {};
  for (const [k, vbs] of Object.entries(walked) as [ColumnName, Varbind[]][]) {
    const oid = k in IF_COLUMNS ? IF_COLUMNS[k as keyof typeof IF_COLUMNS] : IFX_COLUMNS[k as keyof typeof IFX_COLUMNS];
    cols[k] = columnOf(vbs, oid);
  }
  const { points, counters } = interfacePoints(cols, state.interfaces, counterTime, { skipRates: reboot });
  for (const p of points) acc.addPoint('interface', { ...base, ...p.tags }, p.fields, { int: p.int, time: started });
  return counters;
}

/** Each configured table walked, one point per row, columns named by their number. */
async function pollTables(client: SnmpClient, spec: PollSpec, acc: Accumulator, base: Record<string, string>, started: number): Promise<void> {
  for (const t of spec.tables) {
    const table = tableOf(await client.walk(t.oid, spec.maxRows), t.oid);
    const rows = new Map<string, { fields: Record<string, FieldValue>; int: string[] }>();
    for (const [column, col] of table) {
      for (const [index, vb] of col) {
        const v = fieldValue(vb);
        if (v === undefined) continue;
        let row = rows.get(index);
        if (!row) rows.set(index, (row = { fields: {}, int: [] }));
        // Without MIB files a column has no name; its number under the entry keeps it stable.
        const key = `c${column}`;
        row.fields[key] = v;
        if (isIntegerType(vb.type)) row.int.push(key);
      }
    }
    for (const [index, row] of rows) acc.addPoint(t.name, { ...base, [t.index_tag]: index }, row.fields, { int: row.int, time: started });
  }
}
