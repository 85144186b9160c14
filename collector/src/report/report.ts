// Builds the monthly report: which agencies, which statements, the figures, the HTML.
// The command line (command.ts) and the tests call buildReport; it does no file I/O.
import { computeReport, type AgencyReport } from './compute.ts';
import type { Lang } from './i18n.ts';
import { monthRange, type MonthRange } from './month.ts';
import { goDuration } from '../influx/retention.ts';
import { answerRows, bucketSeries, buildQueries, listAgencies, runQueries, type QueryClient, type QueryId, type ReportSource, type Row } from './queries.ts';
import { renderHtml, type RenderInput } from './render-html.ts';
import { DEFAULT_HEADER, type Names, type ReportHeader } from './document.ts';
import { defaultRules } from '../alerts/rules.ts';

export interface ReportOptions {
  month: string;
  timeZone: string;
  database: string;
  /** One agency; all agencies with data when absent. */
  agency?: string;
  lang: Lang;
  now?: number;
  /**
   * raw: every figure from raw data; rollup: from the 5-minute roll-ups and the events
   * policy; auto (default): roll-ups when the month starts before now − rawPeriodMs.
   */
  resolution?: 'raw' | 'rollup' | 'auto';
  /** The raw period for `auto`; by default the database's default policy's period as InfluxDB has it (infinite: raw). */
  rawPeriodMs?: number;
  rollupPolicy?: string;
  eventsPolicy?: string;
  /** The official header and signature block (config `report.header`). */
  header?: Partial<ReportHeader>;
  /** Display names; rule titles default to the shipped rules'. */
  names?: Partial<Names>;
  /** The appendix of InfluxQL statements (off unless asked for). */
  appendix?: boolean;
}

const BUCKET_MS = 300_000;

/** The default policy's period in ms (0: infinite). */
async function rawPeriod(client: QueryClient, database: string): Promise<number> {
  const rows = answerRows(await client.query(`SHOW RETENTION POLICIES ON "${database.replace(/"/g, '\\"')}"`));
  const d = rows.find((r) => r.default === true);
  return d ? goDuration(String(d.duration)) : 0;
}

/** Turn the roll-up answers of the checks' series back into samples (see bucketSeries). */
function fromBuckets(rows: Record<QueryId, Row[]>): Record<QueryId, Row[]> {
  const host = (tag: string) => (r: Row) => `${String(r.host)}\u0000${String(r[tag])}`;
  return {
    ...rows,
    ping_series: bucketSeries(
      rows.ping_series,
      host('url'),
      BUCKET_MS,
      { result_code: 1, percent_packet_loss: 100 },
      { result_code: 0, percent_packet_loss: 0 },
    ),
    http_series: bucketSeries(rows.http_series, host('server'), BUCKET_MS, { result_code: 1 }, { result_code: 0 }),
  };
}

export interface BuiltReport {
  range: MonthRange;
  agencies: { report: AgencyReport; queries: Record<QueryId, string> }[];
  html: string;
  /** What render-docx.ts needs to write the same document. */
  input: RenderInput;
}

export async function buildReport(client: QueryClient, opts: ReportOptions): Promise<BuiltReport> {
  const range = monthRange(opts.month, opts.timeZone);
  const now = opts.now ?? Date.now();
  const names = opts.agency ? [opts.agency] : await listAgencies(client, opts.database);
  let rollup = opts.resolution === 'rollup';
  if (opts.resolution === 'auto') {
    const period = opts.rawPeriodMs ?? (await rawPeriod(client, opts.database));
    rollup = period > 0 && range.start < now - period;
  }
  const source: ReportSource = { rollup, rollupPolicy: opts.rollupPolicy ?? 'rollup_5m', eventsPolicy: opts.eventsPolicy ?? 'events' };
  const agencies: BuiltReport['agencies'] = [];
  for (const agency of names) {
    const queries = buildQueries(agency, range, source);
    const answers = await runQueries(client, opts.database, queries);
    const rows = rollup ? fromBuckets(answers) : answers;
    agencies.push({ report: computeReport(agency, range, rows, now), queries });
  }
  const input: RenderInput = {
    range,
    lang: opts.lang,
    generatedAt: now,
    database: opts.database,
    agencies,
    header: { ...DEFAULT_HEADER, ...opts.header },
    names: { agencies: opts.names?.agencies ?? {}, hosts: opts.names?.hosts ?? {}, rules: opts.names?.rules ?? ruleTitles(defaultRules(), opts.lang) },
    appendix: opts.appendix ?? false,
  };
  return { range, agencies, html: renderHtml(input), input };
}

/** Rule titles in a language, by rule name: what the report calls an alert. */
export function ruleTitles(rules: readonly { name: string; title?: string | Partial<Record<Lang, string>> }[], lang: Lang): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rules) {
    const title = typeof r.title === 'string' ? r.title : r.title?.[lang];
    if (title) out[r.name] = title;
  }
  return out;
}
