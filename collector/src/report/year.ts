// The yearly report: one line per month per agency, each month computed exactly as its
// monthly report (buildReport, `auto` resolution: raw data within the raw period, the
// 5-minute roll-ups and the events policy before it — docs/operating/storage.md), so a
// year's figures agree with the twelve monthly reports. Self-contained HTML.
import type { AgencyReport } from './compute.ts';
import type { Lang } from './i18n.ts';
import { monthRange } from './month.ts';
import type { QueryClient } from './queries.ts';
import { buildReport } from './report.ts';
import { esc } from './svg.ts';

export interface YearRow {
  month: string;
  availability: number | null;
  minutesDown: number;
  samples: number;
  events: number;
  criticalEvents: number;
  alertsFired: number;
  mttrMinutes: number | null;
  /** Highest inbound peak of the agency's uplinks, bits/s. */
  peakIn: number;
  /** Whether the month came from roll-ups. */
  rollup: boolean;
}

export interface YearReport {
  year: number;
  agencies: { agency: string; months: YearRow[]; total: Omit<YearRow, 'month' | 'rollup'> }[];
  html: string;
}

const WORDS = {
  en: {
    title: 'Canh — yearly report',
    agency: 'Agency',
    month: 'Month',
    availability: 'Availability',
    down: 'Minutes down',
    events: 'Security events',
    critical: 'critical',
    alerts: 'Alerts fired',
    mttr: 'Mean time to resolve (min)',
    peak: 'Uplink peak in (Mbit/s)',
    year: 'Year',
    source: 'from 5-minute roll-ups',
    none: 'no data',
  },
  vi: {
    title: 'Canh — báo cáo năm',
    agency: 'Cơ quan',
    month: 'Tháng',
    availability: 'Tỷ lệ sẵn sàng',
    down: 'Số phút gián đoạn',
    events: 'Sự kiện an ninh',
    critical: 'nghiêm trọng',
    alerts: 'Cảnh báo phát ra',
    mttr: 'Thời gian khắc phục trung bình (phút)',
    peak: 'Lưu lượng vào cao nhất (Mbit/s)',
    year: 'Cả năm',
    source: 'tính từ dữ liệu tổng hợp 5 phút',
    none: 'không có dữ liệu',
  },
} as const;

function row(month: string, r: AgencyReport | undefined, rollup: boolean): YearRow {
  return {
    month,
    availability: r?.overall.availability ?? null,
    minutesDown: r?.overall.minutesDown ?? 0,
    samples: r?.overall.samples ?? 0,
    events: r?.events.total ?? 0,
    criticalEvents: r?.events.bySeverity.critical ?? 0,
    alertsFired: r?.alerts.fired ?? 0,
    mttrMinutes: r?.alerts.mttrMinutes ?? null,
    peakIn: r ? Math.max(0, ...r.uplinks.map((u) => u.peakIn)) : 0,
    rollup,
  };
}

export async function buildYearReport(
  client: QueryClient,
  opts: { year: number; timeZone: string; database: string; agency?: string; lang: Lang; now?: number; rawPeriodMs?: number },
): Promise<YearReport> {
  const now = opts.now ?? Date.now();
  const by = new Map<string, YearRow[]>();
  const samples = new Map<string, { down: number }>();
  for (let m = 1; m <= 12; m++) {
    const month = `${opts.year}-${String(m).padStart(2, '0')}`;
    const range = monthRange(month, opts.timeZone);
    if (range.start >= now) break;
    const built = await buildReport(client, {
      month,
      timeZone: opts.timeZone,
      database: opts.database,
      agency: opts.agency,
      lang: opts.lang,
      now,
      resolution: 'auto',
      rawPeriodMs: opts.rawPeriodMs,
    });
    const rollup = built.agencies.length > 0 && /"rollup_5m"/.test(built.agencies[0]!.queries.ping_samples);
    for (const a of built.agencies) {
      const list = by.get(a.report.agency) ?? [];
      list.push(row(month, a.report, rollup));
      by.set(a.report.agency, list);
      const s = samples.get(a.report.agency) ?? { down: 0 };
      s.down += a.report.overall.down;
      samples.set(a.report.agency, s);
    }
  }
  const agencies = [...by]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([agency, months]) => {
      const n = months.reduce((a, r) => a + r.samples, 0);
      const down = samples.get(agency)?.down ?? 0;
      const resolved = months.filter((r) => r.mttrMinutes !== null);
      // The year's mean time to resolve weighs each month by the alerts it fired.
      const weight = resolved.reduce((a, r) => a + r.alertsFired, 0);
      return {
        agency,
        months,
        total: {
          availability: n ? ((n - down) / n) * 100 : null,
          minutesDown: months.reduce((a, r) => a + r.minutesDown, 0),
          samples: n,
          events: months.reduce((a, r) => a + r.events, 0),
          criticalEvents: months.reduce((a, r) => a + r.criticalEvents, 0),
          alertsFired: months.reduce((a, r) => a + r.alertsFired, 0),
          mttrMinutes: weight ? resolved.reduce((a, r) => a + r.mttrMinutes! * r.alertsFired, 0) / weight : null,
          peakIn: Math.max(0, ...months.map((r) => r.peakIn)),
        },
      };
    });
  return { year: opts.year, agencies, html: renderYear(opts.year, opts.lang, agencies) };
}

function renderYear(year: number, lang: Lang, agencies: YearReport['agencies']): string {
  const w = WORDS[lang];
  const pct = (v: number | null): string => (v === null ? w.none : `${v.toFixed(3)} %`);
  const num = (v: number, d = 0): string => v.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: d, minimumFractionDigits: d });
  const line = (label: string, r: Omit<YearRow, 'month' | 'rollup'>, rollup = false): string =>
    `<tr><td>${esc(label)}${rollup ? ` <span class="muted">(${esc(w.source)})</span>` : ''}</td><td class="n">${pct(r.availability)}</td><td class="n">${num(r.minutesDown, 1)}</td><td class="n">${num(r.events)} (${num(r.criticalEvents)} ${esc(w.critical)})</td><td class="n">${num(r.alertsFired)}</td><td class="n">${r.mttrMinutes === null ? '—' : num(r.mttrMinutes, 1)}</td><td class="n">${num(r.peakIn / 1e6, 1)}</td></tr>`;
  const sections = agencies
    .map(
      (a) =>
        `<section><h2>${esc(w.agency)}: ${esc(a.agency)}</h2><table><tr><th>${esc(w.month)}</th><th class="n">${esc(w.availability)}</th><th class="n">${esc(w.down)}</th><th class="n">${esc(w.events)}</th><th class="n">${esc(w.alerts)}</th><th class="n">${esc(w.mttr)}</th><th class="n">${esc(w.peak)}</th></tr>${a.months.map((r) => line(r.month, r, r.rollup)).join('')}${line(w.year, a.total)}</table></section>`,
    )
    .join('');
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${esc(w.title)} ${year}</title><style>body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:10pt;max-width:190mm;margin:0 auto}table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e5e7eb;padding:1.2mm 1.5mm;text-align:left}td.n,th.n{text-align:right}.muted{color:#6b7280;font-size:8pt}tr:last-child td{font-weight:bold}</style></head><body><h1>${esc(w.title)} ${year}</h1>${sections}</body></html>`;
}
