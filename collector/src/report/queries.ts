// The InfluxQL statements behind every figure of the monthly report, built as plain text
// so that the report's appendix can show them verbatim and anyone can run them again in
// the `influx` shell or Grafana's explore view and get the same numbers.
import { CanhError } from '@canh/core';
import type { MonthRange } from './month.ts';

/** What a check is: down when it failed or lost every packet (docs/report.md). */
export const PING_DOWN = `("result_code" <> 0 OR "percent_packet_loss" >= 100)`;
export const HTTP_DOWN = `"result_code" <> 0`;

export const QUERY_IDS = [
  'ping_samples',
  'ping_down',
  'ping_series',
  'http_samples',
  'http_down',
  'http_series',
  'snmp_month',
  'snmp_peak_in',
  'snmp_peak_out',
  'snmp_daily',
  'net_month',
  'net_peak_in',
  'net_peak_out',
  'net_daily',
  'agent_states',
  'agent_state_before',
  'agent_first',
  'events_by_type',
  'events_daily',
  'events_sources',
  'events_web',
  'events_critical',
  'alert_changes',
  'alert_last_state',
  'cert_x509',
  'cert_http',
] as const;
export type QueryId = (typeof QUERY_IDS)[number];

/** One row of an answer: the series' tags, `time` (ms) and the columns. */
export type Row = Record<string, unknown> & { time: number };

export interface QueryClient {
  query(q: string, db?: string): Promise<unknown>;
}

function str(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function iso(t: number): string {
  return new Date(t).toISOString().replace('.000Z', 'Z');
}

/**
 * Where the figures come from: raw data (the default policy), or for a month that starts
 * before the raw period, the 5-minute roll-ups and the events policy
 * (collector/src/influx/retention.ts).
 */
export interface ReportSource {
  rollup: boolean;
  /** Policy of the roll-ups, and of security events and alerts. */
  rollupPolicy: string;
  eventsPolicy: string;
}

/** The statements for one agency and month, in a stable order. */
export function buildQueries(agency: string, range: MonthRange, source?: ReportSource): Record<QueryId, string> {
  const raw = buildRawQueries(agency, range);
  return source?.rollup ? rollupQueries(raw, agency, range, source) : raw;
}

/**
 * The same figures from roll-ups: sums of the buckets' `samples` and `down` instead of
 * counting samples, the buckets' `_max` for peaks, the means of the means (equal when the
 * buckets hold the same number of samples), events and alerts from the events policy.
 * The series of the checks come back as buckets (`samples`, `down`); report.ts spreads
 * them into samples again (bucketSeries) for the incidents.
 */
function rollupQueries(raw: Record<QueryId, string>, agency: string, range: MonthRange, src: ReportSource): Record<QueryId, string> {
  const a = `"agency" = ${str(agency)}`;
  const inMonth = `${a} AND time >= '${iso(range.start)}' AND time < '${iso(range.end)}'`;
  const tz = `tz(${str(range.timeZone)})`;
  const daily = (tags: string, fill: string): string => `GROUP BY time(1d), ${tags} fill(${fill}) ${tz}`;
  const r = `"${src.rollupPolicy}"`;
  const ev = `"${src.eventsPolicy}"`;
  const bw = (m: string, inF: string, outF: string, tags: string, extra = ''): Record<string, string> => ({
    month: `SELECT mean("${inF}") AS "mean_in", mean("${outF}") AS "mean_out", max("${inF}_max") AS "peak_in", max("${outF}_max") AS "peak_out" FROM ${r}."${m}" WHERE ${inMonth}${extra} GROUP BY ${tags}`,
    peak_in: `SELECT max("${inF}_max") AS "peak_in" FROM ${r}."${m}" WHERE ${inMonth}${extra} GROUP BY ${tags}`,
    peak_out: `SELECT max("${outF}_max") AS "peak_out" FROM ${r}."${m}" WHERE ${inMonth}${extra} GROUP BY ${tags}`,
    daily: `SELECT max("${inF}_max") AS "peak_in", max("${outF}_max") AS "peak_out", mean("${inF}") AS "mean_in", mean("${outF}") AS "mean_out" FROM ${r}."${m}" WHERE ${inMonth}${extra} ${daily(tags, 'none')}`,
  });
  const snmp = bw('interface', 'in_bps', 'out_bps', '"agent_host", "ifName"');
  const net = bw('net', 'bytes_recv_rate', 'bytes_sent_rate', '"host", "interface"', ` AND "interface" <> 'lo'`);
  const events = (q: string): string => q.replace(/FROM "(security_event|alert)"/g, `FROM ${ev}."$1"`);
  return {
    ...raw,
    ping_samples: `SELECT sum("samples") AS "samples" FROM ${r}."ping" WHERE ${inMonth} ${daily('"host", "url"', '0')}`,
    ping_down: `SELECT sum("down") AS "down" FROM ${r}."ping" WHERE ${inMonth} AND "down" > 0 ${daily('"host", "url"', '0')}`,
    ping_series: `SELECT "samples", "down" FROM ${r}."ping" WHERE ${inMonth} GROUP BY "host", "url"`,
    http_samples: `SELECT sum("samples") AS "samples" FROM ${r}."http_response" WHERE ${inMonth} ${daily('"host", "server"', '0')}`,
    http_down: `SELECT sum("down") AS "down" FROM ${r}."http_response" WHERE ${inMonth} AND "down" > 0 ${daily('"host", "server"', '0')}`,
    http_series: `SELECT "samples", "down" FROM ${r}."http_response" WHERE ${inMonth} GROUP BY "host", "server"`,
    snmp_month: snmp.month!,
    snmp_peak_in: snmp.peak_in!,
    snmp_peak_out: snmp.peak_out!,
    snmp_daily: snmp.daily!,
    net_month: net.month!,
    net_peak_in: net.peak_in!,
    net_peak_out: net.peak_out!,
    net_daily: net.daily!,
    // The roll-ups keep the last `online` state of each 5-minute bucket: disconnection
    // intervals from them are known to the bucket.
    agent_states: raw.agent_states.replace('FROM "agent"', `FROM ${r}."agent"`),
    agent_state_before: raw.agent_state_before.replace('FROM "agent"', `FROM ${r}."agent"`),
    agent_first: raw.agent_first.replace('FROM "agent"', `FROM ${r}."agent"`),
    events_by_type: events(raw.events_by_type),
    events_daily: events(raw.events_daily),
    events_sources: events(raw.events_sources),
    events_web: events(raw.events_web),
    events_critical: events(raw.events_critical),
    alert_changes: events(raw.alert_changes),
    alert_last_state: events(raw.alert_last_state),
    cert_x509: raw.cert_x509.replace('FROM "x509_cert"', `FROM ${r}."x509_cert"`),
    cert_http: raw.cert_http.replace('FROM "http_response"', `FROM ${r}."http_response"`),
  };
}

/**
 * A check's 5-minute buckets as the samples they summarise: `samples` rows spread evenly
 * over the bucket, the `down` ones first when the bucket before was down too (an outage
 * going on) and last otherwise (one starting). An outage is then placed to within one
 * sample interval of where the raw samples had it.
 */
export function bucketSeries(rows: Row[], key: (r: Row) => string, bucketMs: number, down: Record<string, unknown>, up: Record<string, unknown>): Row[] {
  const out: Row[] = [];
  const by = new Map<string, Row[]>();
  for (const r of rows) {
    const k = key(r);
    const list = by.get(k) ?? [];
    list.push(r);
    by.set(k, list);
  }
  for (const list of by.values()) {
    list.sort((a, b) => a.time - b.time);
    let prevDownAt = -Infinity;
    for (const b of list) {
      const k = typeof b.samples === 'number' ? b.samples : 0;
      const d = Math.min(k, typeof b.down === 'number' ? b.down : 0);
      const continues = prevDownAt === b.time - bucketMs;
      for (let i = 0; i < k; i++) {
        const isDown = continues ? i < d : i >= k - d;
        const { samples: _s, down: _d, ...tags } = b;
        out.push({ ...tags, ...(isDown ? down : up), time: b.time + Math.round((i * bucketMs) / k) });
      }
      if (d > 0) prevDownAt = b.time;
    }
  }
  return out;
}

function buildRawQueries(agency: string, range: MonthRange): Record<QueryId, string> {
  const a = `"agency" = ${str(agency)}`;
  const inMonth = `${a} AND time >= '${iso(range.start)}' AND time < '${iso(range.end)}'`;
  const tz = `tz(${str(range.timeZone)})`;
  const daily = (tags: string, fill: string): string => `GROUP BY time(1d), ${tags} fill(${fill}) ${tz}`;
  const bw = (m: string, inF: string, outF: string, tags: string, extra = ''): Record<string, string> => ({
    month: `SELECT mean("${inF}") AS "mean_in", mean("${outF}") AS "mean_out", max("${inF}") AS "peak_in", max("${outF}") AS "peak_out" FROM "${m}" WHERE ${inMonth}${extra} GROUP BY ${tags}`,
    peak_in: `SELECT max("${inF}") AS "peak_in" FROM "${m}" WHERE ${inMonth}${extra} GROUP BY ${tags}`,
    peak_out: `SELECT max("${outF}") AS "peak_out" FROM "${m}" WHERE ${inMonth}${extra} GROUP BY ${tags}`,
    daily: `SELECT max("${inF}") AS "peak_in", max("${outF}") AS "peak_out", mean("${inF}") AS "mean_in", mean("${outF}") AS "mean_out" FROM "${m}" WHERE ${inMonth}${extra} ${daily(tags, 'none')}`,
  });
  const snmp = bw('interface', 'in_bps', 'out_bps', '"agent_host", "ifName"');
  const net = bw('net', 'bytes_recv_rate', 'bytes_sent_rate', '"host", "interface"', ` AND "interface" <> 'lo'`);
  return {
    ping_samples: `SELECT count("result_code") AS "samples" FROM "ping" WHERE ${inMonth} ${daily('"host", "url"', '0')}`,
    ping_down: `SELECT count("result_code") AS "down" FROM "ping" WHERE ${inMonth} AND ${PING_DOWN} ${daily('"host", "url"', '0')}`,
    ping_series: `SELECT "result_code", "percent_packet_loss" FROM "ping" WHERE ${inMonth} GROUP BY "host", "url"`,
    http_samples: `SELECT count("result_code") AS "samples" FROM "http_response" WHERE ${inMonth} ${daily('"host", "server"', '0')}`,
    http_down: `SELECT count("result_code") AS "down" FROM "http_response" WHERE ${inMonth} AND ${HTTP_DOWN} ${daily('"host", "server"', '0')}`,
    http_series: `SELECT "result_code" FROM "http_response" WHERE ${inMonth} GROUP BY "host", "server"`,
    snmp_month: snmp.month!,
    snmp_peak_in: snmp.peak_in!,
    snmp_peak_out: snmp.peak_out!,
    snmp_daily: snmp.daily!,
    net_month: net.month!,
    net_peak_in: net.peak_in!,
    net_peak_out: net.peak_out!,
    net_daily: net.daily!,
    // The collector's own points: online=1 when an agent connects, 0 when it goes.
    agent_states: `SELECT "online" FROM "agent" WHERE ${inMonth} GROUP BY "host"`,
    agent_state_before: `SELECT last("online") AS "online" FROM "agent" WHERE ${a} AND time < '${iso(range.start)}' GROUP BY "host"`,
    agent_first: `SELECT first("spool_batches") AS "first" FROM "agent" WHERE ${a} AND time < '${iso(range.end)}' GROUP BY "host"`,
    events_by_type: `SELECT count("message") AS "records", sum("count") AS "occurrences" FROM "security_event" WHERE ${inMonth} GROUP BY "type", "severity"`,
    events_daily: `SELECT sum("count") AS "occurrences" FROM "security_event" WHERE ${inMonth} ${daily('"severity"', '0')}`,
    events_sources: `SELECT "src_ip", "count" FROM "security_event" WHERE ${inMonth} AND "src_ip" <> ''`,
    events_web: `SELECT "type", "site", "src_ip", "count" FROM "security_event" WHERE ${inMonth} AND "detector" = 'web_access'`,
    // Every field: the evidence a Vietnamese sentence is rebuilt from (the agents' own are English).
    events_critical: `SELECT * FROM "security_event" WHERE ${inMonth} AND "severity" = 'critical' GROUP BY "host", "type"`,
    // GROUP BY *: every alert instance (rule and its labels: url, port...) is its own series.
    alert_changes: `SELECT "state", "value", "summary", "acknowledged_by" FROM "alert" WHERE ${inMonth} GROUP BY *`,
    alert_last_state: `SELECT last("state") AS "state" FROM "alert" WHERE ${a} AND time < '${iso(range.end)}' GROUP BY *`,
    cert_x509: `SELECT last("expiry") AS "expiry" FROM "x509_cert" WHERE ${inMonth} GROUP BY "host", "source", "common_name"`,
    cert_http: `SELECT last("tls_expiry_days") AS "days" FROM "http_response" WHERE ${inMonth} GROUP BY "host", "server"`,
  };
}

interface Answer {
  error?: string;
  results?: { statement_id: number; error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
}

/** Rows of one statement's answer, with the series' tags on each row. */
export function answerRows(answer: unknown): Row[] {
  const a = answer as Answer;
  if (a.error) throw new CanhError('CANH_ERR_INFLUX_QUERY', `InfluxDB query failed: ${a.error}`);
  const rows: Row[] = [];
  for (const r of a.results ?? []) {
    if (r.error) throw new CanhError('CANH_ERR_INFLUX_QUERY', `InfluxDB query failed: ${r.error}`);
    for (const s of r.series ?? []) {
      for (const v of s.values) {
        const row: Record<string, unknown> = { ...s.tags };
        s.columns.forEach((c, i) => (row[c] = v[i]));
        rows.push(row as Row);
      }
    }
  }
  return rows;
}

export async function runQueries(client: QueryClient, database: string, queries: Record<QueryId, string>): Promise<Record<QueryId, Row[]>> {
  const out = {} as Record<QueryId, Row[]>;
  // One at a time: a month of raw samples is heavy for InfluxDB, and the report is not urgent.
  for (const id of QUERY_IDS) out[id] = answerRows(await client.query(queries[id], database));
  return out;
}

export async function listAgencies(client: QueryClient, database: string): Promise<string[]> {
  const rows = answerRows(
    await client.query(`SHOW TAG VALUES FROM "ping", "http_response", "agent", "security_event", "interface", "net" WITH KEY = "agency"`, database),
  );
  return [...new Set(rows.map((r) => String(r.value)))].sort();
}
