// Builds the monthly report: which agencies, which statements, the figures, the HTML.
// The command line (command.ts) and the tests call buildReport; it does no file I/O.
import { computeReport, type AgencyReport } from './compute.ts';
import type { Lang } from './i18n.ts';
import { monthRange, type MonthRange } from './month.ts';
import { buildQueries, listAgencies, runQueries, type QueryClient, type QueryId } from './queries.ts';
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
  /** The official header and signature block (config `report.header`). */
  header?: Partial<ReportHeader>;
  /** Display names; rule titles default to the shipped rules'. */
  names?: Partial<Names>;
  /** The appendix of InfluxQL statements (off unless asked for). */
  appendix?: boolean;
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
  const agencies: BuiltReport['agencies'] = [];
  for (const agency of names) {
    const queries = buildQueries(agency, range);
    const rows = await runQueries(client, opts.database, queries);
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
