// Builds the monthly report: which agencies, which statements, the figures, the HTML.
// The command line (command.ts) and the tests call buildReport; it does no file I/O.
import { computeReport, type AgencyReport } from './compute.ts';
import type { Lang } from './i18n.ts';
import { monthRange, type MonthRange } from './month.ts';
import { buildQueries, listAgencies, runQueries, type QueryClient, type QueryId } from './queries.ts';
import { renderHtml } from './render-html.ts';

export interface ReportOptions {
  month: string;
  timeZone: string;
  database: string;
  /** One agency; all agencies with data when absent. */
  agency?: string;
  lang: Lang;
  now?: number;
}

export interface BuiltReport {
  range: MonthRange;
  agencies: { report: AgencyReport; queries: Record<QueryId, string> }[];
  html: string;
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
  const html = renderHtml({ range, lang: opts.lang, generatedAt: now, database: opts.database, agencies });
  return { range, agencies, html };
}
