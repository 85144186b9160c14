// The monthly report as a document model: the official header, the title, one part per
// agency (headings, explanations, figure cards, tables, charts), the signature block and
// the optional appendix. HTML (render-html.ts, printed to PDF) and DOCX (render-docx.ts)
// are two renderings of the same blocks, so both say the same thing. Names are the
// agencies' and hosts' display names; ids only where no name is configured.
import { eventMessage, eventTypeName } from '@canh/core';
import type { AgencyReport } from './compute.ts';
import type { Fmt, Lang } from './i18n.ts';
import type { MonthRange } from './month.ts';
import { QUERY_IDS, type QueryId } from './queries.ts';
import { availabilityChart, bandwidthChart, eventsChart } from './svg.ts';

/** The `report.header` section of the collector config. */
export interface ReportHeader {
  issuing_body: string[];
  national_name: string;
  motto: string;
  document_number: string;
  place: string;
  recipients: string[];
  signer_title: string;
  signer_name: string;
}

export const DEFAULT_HEADER: ReportHeader = {
  issuing_body: [],
  national_name: 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM',
  motto: 'Độc lập - Tự do - Hạnh phúc',
  document_number: '',
  place: '',
  recipients: [],
  signer_title: '',
  signer_name: '',
};

export interface Names {
  agencies: Record<string, string>;
  hosts: Record<string, string>;
  /** Rule titles in the report's language ("Ổ đĩa sắp đầy" for disk_full). */
  rules: Record<string, string>;
}

export interface Cell {
  text: string;
  bad?: boolean;
  /** A second, smaller line (the time of a peak). */
  note?: string;
  bold?: boolean;
}

export type Block =
  | { kind: 'header'; issuingBody: string[]; number: string; nationalName: string; motto: string; dateLine: string }
  | { kind: 'title'; title: string; subject: string }
  | { kind: 'heading'; level: 1 | 2 | 3; text: string; pageBreak?: boolean }
  | { kind: 'para'; text: string; how?: boolean }
  | { kind: 'cards'; items: { value: string; label: string; bad?: boolean }[] }
  | { kind: 'table'; head: string[]; rows: Cell[][]; numeric: number[]; figure?: string }
  /** Drawn in the HTML/PDF; its title goes with it (the DOCX carries the figures in tables). */
  | { kind: 'chart'; svg: string; title?: string }
  | { kind: 'signature'; recipientsLabel: string; recipients: string[]; title: string; name: string }
  | { kind: 'code'; title: string; text: string };

export interface DocumentInput {
  range: MonthRange;
  lang: Lang;
  generatedAt: number;
  database: string;
  agencies: { report: AgencyReport; queries: Record<QueryId, string> }[];
  header: ReportHeader;
  names: Names;
  appendix: boolean;
}

const c = (text: string, extra: Omit<Cell, 'text'> = {}): Cell => ({ text, ...extra });

/** What every part of an agency's section needs: words, formats, and names for ids. */
interface Ctx {
  r: AgencyReport;
  f: Fmt;
  t: Fmt['t'];
  lang: Lang;
  host: (h: string) => string;
  rule: (id: string) => string;
}

function agencyBlocks(r: AgencyReport, f: Fmt, input: DocumentInput, index: number): Block[] {
  const x: Ctx = {
    r,
    f,
    t: f.t,
    lang: input.lang,
    host: (h) => input.names.hosts[h] ?? h,
    rule: (id) => input.names.rules[id] ?? id,
  };
  const name = input.names.agencies[r.agency] ?? r.agency;
  const roman = ['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X'][index] ?? String(index + 1);
  return [
    { kind: 'heading', level: 1, text: `${roman}. ${f.t.agency}: ${name}`, pageBreak: index > 0 },
    ...summaryBlocks(x),
    ...serviceBlocks(x),
    ...bandwidthBlocks(x),
    ...agentBlocks(x),
    ...eventBlocks(x),
    ...alertBlocks(x),
    ...attentionBlocks(x),
  ];
}

function summaryBlocks({ r, f, t }: Ctx): Block[] {
  const monitored = r.agents.reduce((a, x) => a + x.monitoredMs, 0);
  const offline = r.agents.reduce((a, x) => a + x.offlineMs, 0);
  const attention = r.certs.length + r.alerts.stillFiring.length + r.events.critical.length;
  const out: Block[] = [];
  out.push({ kind: 'heading', level: 2, text: t.summary });
  out.push({
    kind: 'cards',
    items: [
      { value: f.pct(r.overall.availability), label: t.availability, bad: (r.overall.availability ?? 100) < 99 },
      { value: f.minutes(r.overall.minutesDown), label: t.minutesDown },
      { value: f.pct(monitored ? ((monitored - offline) / monitored) * 100 : null), label: t.agents },
      { value: f.num(r.events.total), label: t.events, bad: (r.events.bySeverity.critical ?? 0) > 0 },
      { value: f.num(r.alerts.fired), label: t.fired },
      { value: f.num(r.alerts.handled), label: t.handled },
      { value: f.num(r.alerts.selfResolved), label: t.selfResolved },
      { value: f.num(attention), label: t.attention, bad: attention > 0 },
    ],
  });

  return out;
}

function serviceBlocks({ r, f, t, host }: Ctx): Block[] {
  const out: Block[] = [];
  out.push({ kind: 'heading', level: 2, text: `1. ${t.services}` }, { kind: 'para', text: t.servicesHow, how: true });
  if (!r.checks.length) out.push({ kind: 'para', text: t.noData });
  else {
    out.push({
      kind: 'table',
      head: [t.kind, t.target, t.from, t.samples, t.down, t.availability, t.minutesDown, t.interval],
      rows: r.checks.map((k) => [
        c(t.kinds[k.kind]!),
        c(k.target),
        c(host(k.host)),
        c(f.num(k.samples)),
        c(f.num(k.down)),
        c(f.pct(k.availability), { bad: (k.availability ?? 100) < 99 }),
        c(f.minutes(k.minutesDown)),
        c(`${f.num(k.intervalS)} s`),
      ]),
      numeric: [3, 4, 5, 6, 7],
      figure: 'availability',
    });
    out.push({ kind: 'chart', svg: availabilityChart(r.checks, f) });
    const inc = r.checks
      .flatMap((k) => k.incidents.map((i) => ({ k, i })))
      .sort((a, b) => b.i.minutes - a.i.minutes)
      .slice(0, 10);
    out.push({ kind: 'heading', level: 3, text: t.incidents }, { kind: 'para', text: t.incidentsHow, how: true });
    if (inc.length) {
      out.push({
        kind: 'table',
        head: [t.target, t.from, t.start, t.end, t.duration],
        rows: inc.map(({ k, i }) => [
          c(`${t.kinds[k.kind]} ${k.target}`),
          c(host(k.host)),
          c(f.dateTime(i.start)),
          c(f.dateTime(i.end)),
          c(f.duration(i.minutes)),
        ]),
        numeric: [4],
      });
    } else out.push({ kind: 'para', text: t.nothing });
  }

  return out;
}

function bandwidthBlocks({ r, f, t, host }: Ctx): Block[] {
  const out: Block[] = [];
  out.push({ kind: 'heading', level: 2, text: `2. ${t.bandwidth}` }, { kind: 'para', text: t.bandwidthHow, how: true });
  if (!r.uplinks.length) out.push({ kind: 'para', text: t.noData });
  else {
    out.push({
      kind: 'table',
      head: [t.device, t.iface, t.meanIn, t.meanOut, t.peakIn, t.peakOut],
      rows: r.uplinks.map((u) => [
        c(host(u.device)),
        c(u.iface),
        c(f.bps(u.meanIn)),
        c(f.bps(u.meanOut)),
        c(f.bps(u.peakIn), { note: u.peakInAt ? f.dateTime(u.peakInAt) : '' }),
        c(f.bps(u.peakOut), { note: u.peakOutAt ? f.dateTime(u.peakOutAt) : '' }),
      ]),
      numeric: [2, 3, 4, 5],
    });
    for (const u of r.uplinks.slice(0, 3)) out.push({ kind: 'chart', title: `${host(u.device)} ${u.iface}`, svg: bandwidthChart(u, f) });
  }

  return out;
}

function agentBlocks({ r, f, t, host }: Ctx): Block[] {
  const out: Block[] = [];
  out.push({ kind: 'heading', level: 2, text: `3. ${t.agents}` }, { kind: 'para', text: t.agentsHow, how: true });
  if (!r.agents.length) out.push({ kind: 'para', text: t.noData });
  else {
    out.push({
      kind: 'table',
      head: [t.host, t.online, t.disconnects, t.offline, t.longestOutage],
      rows: r.agents.map((a) => {
        const o = a.outages[0];
        return [
          c(host(a.host)),
          c(f.pct(a.onlinePct), { bad: (a.onlinePct ?? 100) < 99 }),
          c(f.num(a.disconnects)),
          c(f.duration(a.offlineMs / 60_000)),
          c(o ? `${f.dateTime(o.start)} – ${f.dateTime(o.end)}` : '–'),
        ];
      }),
      numeric: [1, 2, 3],
      figure: 'agents',
    });
  }

  return out;
}

function eventBlocks({ r, f, t, lang }: Ctx): Block[] {
  const out: Block[] = [];
  out.push({ kind: 'heading', level: 2, text: `4. ${t.events}` }, { kind: 'para', text: t.eventsHow, how: true });
  if (!r.events.byType.length) out.push({ kind: 'para', text: t.noData });
  else {
    out.push({ kind: 'chart', title: t.perDay, svg: eventsChart(r.events.daily, f) });
    const rows = r.events.byType.map((e) => [c(eventTypeName(e.type, lang)), c(t.sev[e.severity] ?? e.severity), c(f.num(e.records)), c(f.num(e.occurrences))]);
    rows.push([c(t.total, { bold: true }), c(''), c(f.num(r.events.byType.reduce((a, e) => a + e.records, 0))), c(f.num(r.events.total), { bold: true })]);
    out.push({ kind: 'table', head: [t.type, t.severity, t.records, t.occurrences], rows, numeric: [2, 3] });
    out.push({ kind: 'heading', level: 3, text: t.topSources });
    out.push(
      r.events.topSources.length
        ? {
            kind: 'table',
            head: [t.source, t.records, t.occurrences],
            rows: r.events.topSources.map((x) => [c(x.ip), c(f.num(x.records)), c(f.num(x.occurrences))]),
            numeric: [1, 2],
          }
        : { kind: 'para', text: t.nothing },
    );
  }
  out.push({ kind: 'heading', level: 3, text: t.webAttacks }, { kind: 'para', text: t.webAttacksHow, how: true });
  out.push(
    r.events.web.sites.length
      ? {
          kind: 'table',
          head: [t.webSite, t.webRequests, t.webSources, t.webExploits],
          rows: r.events.web.sites.map((w) => [c(w.site), c(f.num(w.occurrences)), c(f.num(w.sources)), c(f.num(w.exploits), { bad: w.exploits > 0 })]),
          numeric: [1, 2, 3],
        }
      : { kind: 'para', text: t.nothing },
  );

  return out;
}

function alertBlocks({ r, f, t, host, rule }: Ctx): Block[] {
  const out: Block[] = [];
  out.push({ kind: 'heading', level: 2, text: `5. ${t.alerts}` }, { kind: 'para', text: t.alertsHow, how: true });
  out.push({
    kind: 'cards',
    items: [
      { value: f.num(r.alerts.fired), label: t.fired },
      { value: f.num(r.alerts.handled), label: t.handled },
      { value: f.num(r.alerts.selfResolved), label: t.selfResolved },
      { value: r.alerts.mttrMinutes === null ? '–' : f.duration(r.alerts.mttrMinutes), label: t.mttr },
    ],
  });
  if (r.alerts.episodes.length) {
    out.push({
      kind: 'table',
      head: [t.rule, t.host, t.severity, t.firedAt, t.resolvedAt, t.duration, t.outcome],
      rows: r.alerts.episodes.map((e) => [
        c(rule(e.rule)),
        c(host(e.host)),
        c(t.sev[e.severity] ?? e.severity),
        c(f.dateTime(e.firedAt)),
        e.resolvedAt ? c(f.dateTime(e.resolvedAt)) : c(t.unresolved, { bad: true }),
        c(e.minutes === null ? '' : f.duration(e.minutes)),
        e.resolvedAt === null
          ? c(e.acknowledgedBy ? t.ackedNotResolved : t.unresolved, { bad: !e.acknowledgedBy })
          : e.acknowledgedBy
            ? c(`${t.handledBy}${e.acknowledgedBy}`)
            : c(t.selfResolved),
      ]),
      numeric: [5],
      figure: 'alerts',
    });
  }

  return out;
}

function attentionBlocks({ r, f, t, host, rule, lang }: Ctx): Block[] {
  const out: Block[] = [];
  out.push({ kind: 'heading', level: 2, text: `6. ${t.attention}` }, { kind: 'heading', level: 3, text: t.certs });
  out.push(
    r.certs.length
      ? {
          kind: 'table',
          head: [t.target, t.host, t.expires, t.daysLeft],
          rows: r.certs.map((k) => [
            c(k.name ? `${k.source} (${k.name})` : k.source),
            c(host(k.host)),
            c(f.date(k.expiresAt)),
            c(f.num(Math.floor(k.daysLeft)), { bad: k.daysLeft < 7 }),
          ]),
          numeric: [3],
        }
      : { kind: 'para', text: t.nothing },
  );
  out.push({ kind: 'heading', level: 3, text: t.stillFiring });
  out.push(
    r.alerts.stillFiring.length
      ? {
          kind: 'table',
          head: [t.rule, t.host, t.since, t.outcome],
          rows: r.alerts.stillFiring.map((a) => [
            c(rule(a.rule)),
            c(host(a.host)),
            c(f.dateTime(a.since)),
            c(a.acknowledged ? t.ackedNotResolved : t.unresolved, { bad: !a.acknowledged }),
          ]),
          numeric: [],
        }
      : { kind: 'para', text: t.nothing },
  );
  out.push({ kind: 'heading', level: 3, text: t.critical });
  out.push(
    r.events.critical.length
      ? {
          kind: 'table',
          head: [t.time, t.host, t.type, t.message, t.source],
          rows: r.events.critical
            .slice(0, 10)
            .map((e) => [c(f.dateTime(e.time)), c(host(e.host)), c(eventTypeName(e.type, lang)), c(eventMessage(e, lang)), c(e.srcIp)]),
          numeric: [],
        }
      : { kind: 'para', text: t.nothing },
  );
  return out;
}

function localDate(t: number, timeZone: string): { dd: string; mm: string; yyyy: string } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(t);
  const p = (type: string): string => parts.find((x) => x.type === type)?.value ?? '';
  return { dd: p('day'), mm: p('month'), yyyy: p('year') };
}

export function buildDocument(input: DocumentInput, f: Fmt): Block[] {
  const t = f.t;
  const h = input.header;
  const d = localDate(input.generatedAt, input.range.timeZone);
  const blocks: Block[] = [
    {
      kind: 'header',
      issuingBody: h.issuing_body,
      number: h.document_number || t.numberLine,
      nationalName: h.national_name,
      motto: h.motto,
      dateLine: t.dateLine(h.place, d.dd, d.mm, d.yyyy),
    },
    { kind: 'title', title: t.docTitle, subject: t.docSubject(input.range.month.slice(5), input.range.month.slice(0, 4)) },
    {
      kind: 'para',
      text: `${t.scope}: ${f.dateTime(input.range.start)} – ${f.dateTime(input.range.end)} (${t.timeZone.toLowerCase()} ${input.range.timeZone}).`,
    },
  ];
  if (!input.agencies.length) blocks.push({ kind: 'para', text: t.noAgencies });
  input.agencies.forEach((a, i) => blocks.push(...agencyBlocks(a.report, f, input, i)));
  blocks.push({ kind: 'signature', recipientsLabel: t.recipients, recipients: h.recipients, title: h.signer_title, name: h.signer_name });
  if (input.appendix) {
    blocks.push(
      { kind: 'heading', level: 1, text: t.appendix, pageBreak: true },
      { kind: 'para', text: `${t.appendixHow} ${input.database}, epoch=ms).`, how: true },
    );
    for (const a of input.agencies) {
      blocks.push({ kind: 'heading', level: 3, text: `${t.agency}: ${input.names.agencies[a.report.agency] ?? a.report.agency}` });
      for (const id of QUERY_IDS) blocks.push({ kind: 'code', title: id, text: a.queries[id] });
    }
  }
  return blocks;
}
