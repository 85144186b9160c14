// What a 5-minute roll-up keeps of each measurement, and the InfluxQL that makes it.
// Pure: the field list comes from `SHOW FIELD KEYS` on the raw policy, this module turns
// it into SELECT clauses, continuous queries and back-fill statements.
//
// Field names are kept: a gauge's mean is stored under its own name (with `<f>_min` and
// `<f>_max` beside it), a counter's or a state's last value under its own name. So a
// dashboard query such as `mean("usage_user")` or
// `non_negative_derivative(mean("bytes_recv"), 1s)` reads either resolution unchanged;
// only the retention policy in its FROM differs.

/** The roll-up's bucket: one point per series every 5 minutes. */
export const ROLLUP_INTERVAL = '5m';
export const ROLLUP_INTERVAL_MS = 300_000;

/** Measurements kept raw in the events policy instead of being rolled up. */
export const EVENT_MEASUREMENTS = ['security_event', 'alert'] as const;

/** Measurements of Canh's own bookkeeping, never rolled up. */
export const META_MEASUREMENTS = ['rp_select', 'storage_backfill'] as const;

/** A name safe to write unquoted into generated statement and CQ names. */
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export type FieldType = 'float' | 'integer' | 'string' | 'boolean' | 'unsigned';
export type RollupKind = 'gauge' | 'last';

/**
 * Counters (cumulative since boot or since the interface appeared) and states: their
 * last value in the bucket is what they mean; a mean of a counter is not a counter.
 * From the inputs' READMEs (net, diskio, kernel, swap, snmp interface, system, checks).
 */
const LAST_FIELDS: RegExp[] = [
  /^(bytes|packets)_(recv|sent)$/,
  /^(err|drop)_(in|out)$/,
  /^(tcp|udp|udplite|ip|icmp|icmpmsg)_[a-z0-9_]+$/,
  /^(reads|writes|read_bytes|write_bytes|read_time|write_time|io_time|weighted_io_time|merged_reads|merged_writes)$/,
  /^(boot_time|previous_boot_time|context_switches|interrupts|processes_forked|disk_pages_in|disk_pages_out)$/,
  /^(in|out)$/,
  /^time_[a-z_]+$/,
  /^(in|out)_(octets|ucast_pkts|mcast_pkts|bcast_pkts|errors|discards)$/,
  /^if(HC)?(In|Out)[A-Za-z]+$/,
  /^(expiry|age|tls_expiry_days|uptime|uptime_format|online|version|result_code|result_type|http_response_code|response_status_code_match|response_string_match|verification_code|oper_status|admin_status|status|startdate|enddate|spool_batches|dropped_points|n_cpus|n_users)$/,
];

export function rollupKind(name: string, type: FieldType): RollupKind {
  if (type === 'string' || type === 'boolean') return 'last';
  return LAST_FIELDS.some((r) => r.test(name)) ? 'last' : 'gauge';
}

/**
 * Uptime checks keep how many samples each bucket had and how many were down (the
 * report's availability), the agent how many of its points said offline (disconnects).
 */
export const DOWN_CONDITIONS: Record<string, { field: string; where: string }> = {
  ping: { field: 'result_code', where: `("result_code" <> 0 OR "percent_packet_loss" >= 100)` },
  http_response: { field: 'result_code', where: `"result_code" <> 0` },
  net_response: { field: 'result_code', where: `"result_code" <> 0` },
  agent: { field: 'online', where: `"online" = 0` },
};

/** The field counted as `samples` per bucket: the one every point of the measurement carries. */
const COUNT_FIELD: Record<string, string> = {
  ping: 'result_code',
  http_response: 'result_code',
  net_response: 'result_code',
  agent: 'online',
};

export function quoteIdent(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface MeasurementFields {
  measurement: string;
  fields: { name: string; type: FieldType }[];
}

export interface RollupPlan {
  measurement: string;
  /** The SELECT list of the main roll-up statement. */
  select: string;
  /** The uptime checks' second statement (down samples per bucket), if any. */
  downSelect?: { select: string; where: string };
  /** Fields left out (a name that would clash with a roll-up column). */
  skipped: string[];
}

/** Whether a measurement is rolled up at all (events and bookkeeping are not; odd names are skipped). */
export function isRolledUp(measurement: string): boolean {
  return (
    SAFE_NAME.test(measurement) &&
    !(EVENT_MEASUREMENTS as readonly string[]).includes(measurement) &&
    !(META_MEASUREMENTS as readonly string[]).includes(measurement)
  );
}

export function planRollup(m: MeasurementFields): RollupPlan | undefined {
  if (!isRolledUp(m.measurement)) return undefined;
  // One type per name: the first InfluxDB lists (a field written with two types in two shards).
  const fields = [...new Map(m.fields.map((f) => [f.name, f])).values()].sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set(fields.map((f) => f.name));
  const parts: string[] = [];
  const skipped: string[] = [];
  const taken = new Set<string>();
  const add = (expr: string, as: string): void => {
    taken.add(as);
    parts.push(`${expr} AS ${quoteIdent(as)}`);
  };
  for (const f of fields) {
    // `x_min` of the raw data would collide with the roll-up of `x`: keep the roll-up's.
    if (/_(min|max)$/.test(f.name) && names.has(f.name.slice(0, -4))) {
      skipped.push(f.name);
      continue;
    }
    if (f.name === 'samples' || f.name === 'down') {
      skipped.push(f.name);
      continue;
    }
    const q = quoteIdent(f.name);
    if (rollupKind(f.name, f.type) === 'last') add(`last(${q})`, f.name);
    else {
      add(`mean(${q})`, f.name);
      add(`min(${q})`, `${f.name}_min`);
      add(`max(${q})`, `${f.name}_max`);
    }
  }
  if (!parts.length) return undefined;
  const countField = COUNT_FIELD[m.measurement] && names.has(COUNT_FIELD[m.measurement]!) ? COUNT_FIELD[m.measurement]! : fields[0]!.name;
  add(`count(${quoteIdent(countField)})`, 'samples');
  const cond = DOWN_CONDITIONS[m.measurement];
  const downSelect = cond && names.has(cond.field) ? { select: `count(${quoteIdent(cond.field)}) AS "down"`, where: cond.where } : undefined;
  return { measurement: m.measurement, select: parts.join(', '), downSelect, skipped };
}

export interface Target {
  database: string;
  raw: string;
  rollup: string;
}

function from(t: Target, policy: string, m: string): string {
  return `${quoteIdent(t.database)}.${quoteIdent(policy)}.${quoteIdent(m)}`;
}

/** The statements that (re)compute the roll-up of [start, end) — back-fill and catch-up. */
export function backfillStatements(p: RollupPlan, t: Target, start: number, end: number): string[] {
  const range = `time >= ${start}ms AND time < ${end}ms`;
  const into = from(t, t.rollup, p.measurement);
  const src = from(t, t.raw, p.measurement);
  const out = [`SELECT ${p.select} INTO ${into} FROM ${src} WHERE ${range} GROUP BY time(${ROLLUP_INTERVAL}), * fill(none)`];
  if (p.downSelect)
    out.push(`SELECT ${p.downSelect.select} INTO ${into} FROM ${src} WHERE ${p.downSelect.where} AND ${range} GROUP BY time(${ROLLUP_INTERVAL}), * fill(none)`);
  return out;
}

/** A short stable hash of a text (FNV-1a), to name a CQ after its definition. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

export interface ContinuousQuery {
  name: string;
  /** The CREATE statement. */
  create: string;
}

/**
 * The CQs of one measurement. RESAMPLE FOR 15m: each run recomputes the last three
 * buckets, so points that arrive up to ~10 minutes late (an agent's short reconnect) are
 * still rolled up; later arrivals are caught by the collector's daily catch-up. The CQ's
 * name ends with a hash of its definition: a changed field list is a new name, and the
 * collector drops the old one.
 */
export function continuousQueries(p: RollupPlan, t: Target): ContinuousQuery[] {
  const into = from(t, t.rollup, p.measurement);
  const src = from(t, t.raw, p.measurement);
  const mk = (suffix: string, select: string, where?: string): ContinuousQuery => {
    const body = `SELECT ${select} INTO ${into} FROM ${src}${where ? ` WHERE ${where}` : ''} GROUP BY time(${ROLLUP_INTERVAL}), *`;
    const name = `canh_rollup_${p.measurement}${suffix}_${shortHash(`${t.raw}|${t.rollup}|${body}`)}`;
    return {
      name,
      create: `CREATE CONTINUOUS QUERY ${quoteIdent(name)} ON ${quoteIdent(t.database)} RESAMPLE EVERY ${ROLLUP_INTERVAL} FOR 15m BEGIN ${body} END`,
    };
  };
  const out = [mk('', p.select)];
  if (p.downSelect) out.push(mk('_down', p.downSelect.select, p.downSelect.where));
  return out;
}

/** The measurement a Canh roll-up CQ belongs to, from its name; undefined for other CQs. */
export function cqMeasurement(name: string): string | undefined {
  const m = /^canh_rollup_(.+?)(_down)?_[0-9a-f]{8}$/.exec(name);
  return m?.[1];
}
