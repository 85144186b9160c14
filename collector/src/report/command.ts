// canh-collector report: the monthly report per agency, as HTML or PDF, from InfluxDB.
//   canh-collector report --month 2026-11 [--agency A] [--lang vi|en] [--format html|pdf|docx]
//                         [--out FILE] [--tz Asia/Ho_Chi_Minh] [--appendix] [--config FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CanhError, createLogger } from '@canh/core';
import { loadCollectorConfig } from '../config.ts';
import { InfluxWriter } from '../influx/writer.ts';
import { checkZone, monthRange, zoneOffset } from './month.ts';
import { htmlToPdf } from './pdf.ts';
import { buildReport, ruleTitles } from './report.ts';
import { buildYearReport } from './year.ts';
import { renderDocx } from './render-docx.ts';
import { defaultRules, effectiveRules } from '../alerts/rules.ts';
import type { Lang } from './i18n.ts';

export const REPORT_USAGE = `usage: canh-collector report [--month YYYY-MM | --year YYYY] [--agency A] [--lang vi|en] [--format html|pdf|docx] [--out FILE] [--tz ZONE] [--appendix] [--config FILE]
  --month   the month to report (default: the previous month)
  --year    a yearly report instead: one line per month per agency (YYYY)
  --agency  one agency (default: every agency with data, one section each)
  --lang    vi or en (default: report.language of the config, vi)
  --format  html (default, or from --out's extension), pdf (needs Debian's chromium) or docx (Word)
  --appendix  add the InfluxQL statements behind every figure (default: report.appendix of the config, off)
  --out     output file (default canh-report-MONTH[-AGENCY].FORMAT)
  --tz      time zone of the month's boundaries (default: report.time_zone of the config, Asia/Ho_Chi_Minh)`;

function previousMonth(now: number, timeZone: string): string {
  const local = new Date(now + zoneOffset(now, timeZone));
  const d = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() - 1, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

function parseReportArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        month: { type: 'string' },
        year: { type: 'string' },
        agency: { type: 'string' },
        lang: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string', short: 'o' },
        tz: { type: 'string' },
        appendix: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new CanhError('CANH_ERR_CLI_USAGE', `report: ${(err as Error).message}\n${REPORT_USAGE}`);
  }
}

type ReportValues = ReturnType<typeof parseReportArgs>;
type Config = ReturnType<typeof loadCollectorConfig>;
type Format = 'html' | 'pdf' | 'docx';

/** The output format: --format, else --out's extension, else HTML. */
function reportFormat(values: ReportValues): Format {
  if (values.lang !== undefined && values.lang !== 'vi' && values.lang !== 'en')
    throw new CanhError('CANH_ERR_REPORT_BAD_OPTION', `--lang must be vi or en, not "${values.lang}"`);
  const ext = /\.(pdf|docx|html?)$/i.exec(values.out ?? '')?.[1]?.toLowerCase();
  const format = values.format ?? (ext === 'pdf' || ext === 'docx' ? ext : 'html');
  if (format !== 'html' && format !== 'pdf' && format !== 'docx')
    throw new CanhError('CANH_ERR_REPORT_BAD_OPTION', `--format must be html, pdf or docx, not "${format}"`);
  return format;
}

/** InfluxDB to read from: with several targets (influx.targets), the first that answers. */
function reportClient(config: Config) {
  const log = createLogger({ name: 'canh-collector', level: config.log_level === 'info' ? 'warn' : config.log_level });
  const targets = config.influxTargets ?? [{ name: 'default', url: config.influx.url, username: config.influx.username, password: config.influxPassword }];
  const clients = targets.map(
    (t) =>
      new InfluxWriter(
        {
          url: t.url,
          database: config.influx.database,
          username: t.username,
          password: t.password,
          retention: config.influx.retention_policy,
          batchSize: 1,
          flushIntervalMs: 1000,
          // A month of raw samples takes InfluxDB longer than a write does.
          timeoutMs: Math.max(config.influx.timeout, 120_000),
          maxQueuedLines: 1000,
          concurrency: 1,
        },
        log.child({ component: 'report' }),
      ),
  );
  return {
    async query(q: string, db?: string): Promise<unknown> {
      let last: unknown;
      for (const c of clients) {
        try {
          return await c.query(q, db);
        } catch (err) {
          last = err;
        }
      }
      throw last instanceof Error ? last : new Error(String(last));
    },
  };
}

export async function reportCommand(argv: string[]): Promise<number> {
  const values = parseReportArgs(argv);
  if (values.help) {
    process.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  const format = reportFormat(values);
  const config = loadCollectorConfig(values.config ?? process.env.CANH_COLLECTOR_CONFIG ?? '/etc/canh/collector.yaml');
  // The flags win over the config file's report section.
  const lang = (values.lang ?? config.report.language) as Lang;
  const tz = values.tz ?? config.report.time_zone;
  checkZone(tz); // before the default month is worked out in it
  const month = values.month ?? previousMonth(Date.now(), tz);
  monthRange(month, tz); // fail on a bad month or zone before touching InfluxDB
  const influx = reportClient(config);
  if (values.year !== undefined) return yearReport(influx, config, values, { format, lang, tz });
  return monthReport(influx, config, values, { format, lang, tz, month });
}

async function yearReport(
  influx: ReturnType<typeof reportClient>,
  config: Config,
  values: ReportValues,
  o: { format: Format; lang: Lang; tz: string },
): Promise<number> {
  const year = values.year!;
  if (!/^\d{4}$/.test(year)) throw new CanhError('CANH_ERR_REPORT_BAD_OPTION', `--year must be YYYY, not "${year}"`);
  const y = await buildYearReport(influx, { year: Number(year), timeZone: o.tz, database: config.influx.database, agency: values.agency, lang: o.lang });
  const out = values.out ?? `canh-report-${year}${values.agency ? `-${values.agency}` : ''}.${o.format}`;
  writeFileSync(out, o.format === 'pdf' ? await htmlToPdf(y.html) : y.html);
  const agencies = y.agencies.map((a) => a.agency).join(', ');
  process.stdout.write(
    o.lang === 'vi'
      ? `${out}: báo cáo năm ${year} (${agencies || 'không có cơ quan nào'})\n`
      : `${out}: yearly report for ${year} (${agencies || 'no agencies'})\n`,
  );
  return 0;
}

async function monthReport(
  influx: ReturnType<typeof reportClient>,
  config: Config,
  values: ReportValues,
  o: { format: Format; lang: Lang; tz: string; month: string },
): Promise<number> {
  const { month, lang } = o;
  const rules = config.alerting ? effectiveRules(config.alerting) : defaultRules();
  const built = await buildReport(influx, {
    month,
    timeZone: o.tz,
    database: config.influx.database,
    agency: values.agency,
    lang,
    header: config.report.header,
    names: { agencies: { ...config.alerting?.agencies, ...config.report.agencies }, hosts: config.report.hosts, rules: ruleTitles(rules, lang) },
    appendix: values.appendix ?? config.report.appendix,
    resolution: 'auto',
  });
  if (values.agency && built.agencies.every((a) => !a.report.checks.length && !a.report.agents.length && !a.report.events.total)) {
    process.stderr.write(
      `canh-collector report: warning: no data for agency "${values.agency}" in ${month} (check the name: agency tags are case-sensitive)\n`,
    );
  }
  const out = values.out ?? `canh-report-${month}${values.agency ? `-${values.agency}` : ''}.${o.format}`;
  if (o.format === 'pdf') writeFileSync(out, await htmlToPdf(built.html));
  else if (o.format === 'docx') writeFileSync(out, await renderDocx(built.input));
  else writeFileSync(out, built.html);
  const agencies = built.agencies.map((a) => a.report.agency).join(', ');
  process.stdout.write(
    lang === 'vi'
      ? `${out}: báo cáo tháng ${month.slice(5)}/${month.slice(0, 4)} (${agencies || 'không có cơ quan nào'})\n`
      : `${out}: report for ${month} (${agencies || 'no agencies'})\n`,
  );
  return 0;
}
