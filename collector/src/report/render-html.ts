// The monthly report as one self-contained HTML document (inline CSS and SVG, no script,
// no external resource), one section per agency and an appendix of the InfluxQL behind
// every figure. The same HTML is printed to PDF by pdf.ts.
import type { AgencyReport } from './compute.ts';
import { Fmt, type Lang } from './i18n.ts';
import type { MonthRange } from './month.ts';
import { QUERY_IDS, type QueryId } from './queries.ts';
import { availabilityChart, bandwidthChart, esc, eventsChart, SEVERITY_COLORS } from './svg.ts';

export interface RenderInput {
  range: MonthRange;
  lang: Lang;
  generatedAt: number;
  database: string;
  agencies: { report: AgencyReport; queries: Record<QueryId, string> }[];
}

const CSS = `
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "DejaVu Sans", "Noto Sans", "Segoe UI", Arial, sans-serif; font-size: 10pt; color: #111827; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 18pt; margin: 0 0 2mm; } h2 { font-size: 13pt; margin: 7mm 0 2mm; border-bottom: 1px solid #d1d5db; padding-bottom: 1mm; }
h3 { font-size: 11pt; margin: 4mm 0 1mm; } .meta { color: #4b5563; margin-bottom: 4mm; }
.agency { break-before: page; } .agency:first-of-type { break-before: auto; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; font-size: 9pt; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 1.2mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.n, th.n { text-align: right; white-space: nowrap; } tr { break-inside: avoid; }
.how { color: #4b5563; font-size: 8.5pt; margin: 0 0 2mm; }
.cards { display: flex; flex-wrap: wrap; gap: 2mm; } .card { border: 1px solid #d1d5db; border-radius: 2mm; padding: 2mm 3mm; min-width: 38mm; }
.card b { display: block; font-size: 14pt; } .card span { color: #4b5563; font-size: 8.5pt; }
.bad { color: #b91c1c; } svg.chart { max-width: 100%; height: auto; display: block; margin: 1mm 0 3mm; break-inside: avoid; }
svg .axis { font-size: 9px; fill: #4b5563; } svg .label, svg .value { font-size: 10px; fill: #111827; } svg .grid { stroke: #e5e7eb; }
.sev { display: inline-block; width: 8px; height: 8px; border-radius: 2px; margin-right: 4px; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 7.5pt; background: #f9fafb; border: 1px solid #e5e7eb; padding: 1.5mm; margin: 0 0 2mm; }
.appendix { break-before: page; }
`;

function table(head: string[], rows: string[][], numeric: number[] = []): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="n"' : ''}>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function card(value: string, label: string, bad = false): string {
  return `<div class="card"><b${bad ? ' class="bad"' : ''}>${esc(value)}</b><span>${esc(label)}</span></div>`;
}

function agencySection(r: AgencyReport, f: Fmt, range: MonthRange, meta: string): string {
  const t = f.t;
  const agentsPresent = r.agents.reduce((a, x) => a + x.present, 0);
  const agentsExpected = r.agents.reduce((a, x) => a + x.expected, 0);
  const attention = r.certs.length + r.alerts.stillFiring.length + r.events.critical.length;
  const out: string[] = [`<section class="agency" data-agency="${esc(r.agency)}">`];
  out.push(`<h1>${esc(t.title)} ${esc(range.month.slice(5))}/${esc(range.month.slice(0, 4))} — ${esc(t.agency)}: ${esc(r.agency)}</h1>`);
  out.push(meta);
  out.push(`<h2>${esc(t.summary)}</h2><div class="cards">`);
  out.push(card(f.pct(r.overall.availability), t.availability, (r.overall.availability ?? 100) < 99));
  out.push(card(f.minutes(r.overall.minutesDown), t.minutesDown));
  out.push(card(f.pct(agentsExpected ? (agentsPresent / agentsExpected) * 100 : null), t.agents));
  out.push(card(f.num(r.events.total), t.events, (r.events.bySeverity.critical ?? 0) > 0));
  out.push(card(f.num(r.alerts.fired), t.fired));
  out.push(card(r.alerts.mttrMinutes === null ? '–' : f.duration(r.alerts.mttrMinutes), t.mttr));
  out.push(card(f.num(attention), t.attention, attention > 0));
  out.push('</div>');

  out.push(`<h2>1. ${esc(t.services)}</h2><p class="how">${esc(t.servicesHow)}</p>`);
  if (!r.checks.length) out.push(`<p>${esc(t.noData)}</p>`);
  else {
    out.push(availabilityChart(r.checks, f));
    out.push(
      table(
        [t.kind, t.target, t.from, t.samples, t.down, t.availability, t.minutesDown, t.interval],
        r.checks.map((c) => [esc(t.kinds[c.kind]!), esc(c.target), esc(c.host), f.num(c.samples), f.num(c.down), `<span data-figure="availability">${esc(f.pct(c.availability))}</span>`, esc(f.minutes(c.minutesDown)), `${f.num(c.intervalS)} s`]),
        [3, 4, 5, 6, 7],
      ),
    );
    const inc = r.checks.flatMap((c) => c.incidents.map((i) => ({ c, i }))).sort((a, b) => b.i.minutes - a.i.minutes).slice(0, 10);
    out.push(`<h3>${esc(t.incidents)}</h3><p class="how">${esc(t.incidentsHow)}</p>`);
    out.push(inc.length ? table([t.target, t.from, t.start, t.end, t.duration], inc.map(({ c, i }) => [esc(`${t.kinds[c.kind]} ${c.target}`), esc(c.host), esc(f.dateTime(i.start)), esc(f.dateTime(i.end)), esc(f.duration(i.minutes))]), [4]) : `<p>${esc(t.nothing)}</p>`);
  }

  out.push(`<h2>2. ${esc(t.bandwidth)}</h2><p class="how">${esc(t.bandwidthHow)}</p>`);
  if (!r.uplinks.length) out.push(`<p>${esc(t.noData)}</p>`);
  else {
    out.push(
      table(
        [t.device, t.iface, t.meanIn, t.meanOut, t.peakIn, t.peakOut],
        r.uplinks.map((u) => [esc(u.device), esc(u.iface), esc(f.bps(u.meanIn)), esc(f.bps(u.meanOut)), `${esc(f.bps(u.peakIn))}<br><small>${u.peakInAt ? esc(f.dateTime(u.peakInAt)) : ''}</small>`, `${esc(f.bps(u.peakOut))}<br><small>${u.peakOutAt ? esc(f.dateTime(u.peakOutAt)) : ''}</small>`]),
        [2, 3, 4, 5],
      ),
    );
    for (const u of r.uplinks.slice(0, 3)) out.push(`<h3>${esc(u.device)} ${esc(u.iface)}</h3>${bandwidthChart(u, f)}`);
  }

  out.push(`<h2>3. ${esc(t.agents)}</h2><p class="how">${esc(t.agentsHow)}</p>`);
  out.push(r.agents.length ? table([t.host, t.online, t.disconnects], r.agents.map((a) => [esc(a.host), esc(f.pct(a.onlinePct)), f.num(a.disconnects)]), [1, 2]) : `<p>${esc(t.noData)}</p>`);

  out.push(`<h2>4. ${esc(t.events)}</h2><p class="how">${esc(t.eventsHow)}</p>`);
  if (!r.events.byType.length) out.push(`<p>${esc(t.noData)}</p>`);
  else {
    out.push(`<h3>${esc(t.perDay)}</h3>${eventsChart(r.events.daily, f)}`);
    const rows = r.events.byType.map((e) => [esc(e.type), `<span class="sev" style="background:${SEVERITY_COLORS[e.severity] ?? '#999'}"></span>${esc(t.sev[e.severity] ?? e.severity)}`, f.num(e.records), f.num(e.occurrences)]);
    rows.push([`<b>${esc(t.total)}</b>`, '', f.num(r.events.byType.reduce((a, e) => a + e.records, 0)), `<b>${f.num(r.events.total)}</b>`]);
    out.push(table([t.type, t.severity, t.records, t.occurrences], rows, [2, 3]));
    out.push(`<h3>${esc(t.topSources)}</h3>`);
    out.push(r.events.topSources.length ? table([t.source, t.records, t.occurrences], r.events.topSources.map((s) => [esc(s.ip), f.num(s.records), f.num(s.occurrences)]), [1, 2]) : `<p>${esc(t.nothing)}</p>`);
  }
  out.push(`<h3>${esc(t.webAttacks)}</h3><p class="how">${esc(t.webAttacksHow)}</p>`);
  out.push(
    r.events.web.sites.length
      ? table([t.webSite, t.webRequests, t.webSources, t.webExploits], r.events.web.sites.map((w) => [esc(w.site), f.num(w.occurrences), f.num(w.sources), w.exploits ? `<span class="bad">${f.num(w.exploits)}</span>` : '0']), [1, 2, 3])
      : `<p>${esc(t.nothing)}</p>`,
  );

  out.push(`<h2>5. ${esc(t.alerts)}</h2><p class="how">${esc(t.alertsHow)}</p>`);
  out.push(`<div class="cards">${card(f.num(r.alerts.fired), t.fired)}${card(f.num(r.alerts.resolved), t.resolved)}${card(r.alerts.mttrMinutes === null ? '–' : f.duration(r.alerts.mttrMinutes), t.mttr)}</div>`);
  if (r.alerts.episodes.length) {
    out.push(table([t.rule, t.host, t.severity, t.firedAt, t.resolvedAt, t.duration], r.alerts.episodes.map((e) => [esc(e.rule), esc(e.host), esc(t.sev[e.severity] ?? e.severity), esc(f.dateTime(e.firedAt)), e.resolvedAt ? esc(f.dateTime(e.resolvedAt)) : `<span class="bad">${esc(t.unresolved)}</span>`, e.minutes === null ? '' : esc(f.duration(e.minutes))]), [5]));
  }

  out.push(`<h2>6. ${esc(t.attention)}</h2><h3>${esc(t.certs)}</h3>`);
  out.push(r.certs.length ? table([t.target, t.host, t.expires, t.daysLeft], r.certs.map((c) => [esc(c.name ? `${c.source} (${c.name})` : c.source), esc(c.host), esc(f.date(c.expiresAt)), `<span class="${c.daysLeft < 7 ? 'bad' : ''}">${f.num(Math.floor(c.daysLeft))}</span>`]), [3]) : `<p>${esc(t.nothing)}</p>`);
  out.push(`<h3>${esc(t.stillFiring)}</h3>`);
  out.push(r.alerts.stillFiring.length ? table([t.rule, t.host, t.since], r.alerts.stillFiring.map((a) => [esc(a.rule), esc(a.host), esc(f.dateTime(a.since))])) : `<p>${esc(t.nothing)}</p>`);
  out.push(`<h3>${esc(t.critical)}</h3>`);
  out.push(r.events.critical.length ? table([t.time, t.host, t.type, t.message, t.source], r.events.critical.slice(0, 10).map((e) => [esc(f.dateTime(e.time)), esc(e.host), esc(e.type), esc(e.message), esc(e.srcIp)])) : `<p>${esc(t.nothing)}</p>`);
  out.push('</section>');
  return out.join('\n');
}

export function renderHtml(input: RenderInput): string {
  const f = new Fmt(input.lang, input.range.timeZone);
  const t = f.t;
  const head = `<!doctype html><html lang="${input.lang}"><head><meta charset="utf-8"><title>${esc(`${t.title} ${input.range.month}`)}</title><style>${CSS}</style></head><body>`;
  const meta = `<p class="meta">${esc(t.month)}: ${esc(input.range.month)} · ${esc(t.timeZone)}: ${esc(input.range.timeZone)} (${esc(f.dateTime(input.range.start))} – ${esc(f.dateTime(input.range.end))}) · ${esc(t.generated)}: ${esc(f.dateTime(input.generatedAt))}</p>`;
  const sections = input.agencies.length ? input.agencies.map((a) => agencySection(a.report, f, input.range, meta)).join('\n') : `<h1>${esc(t.title)} ${esc(input.range.month)}</h1><p>${esc(t.noAgencies)}</p>`;
  const appendix = input.agencies
    .map((a) => `<h3>${esc(t.agency)}: ${esc(a.report.agency)}</h3>${QUERY_IDS.map((id) => `<pre><b>${id}</b>\n${esc(a.queries[id])}</pre>`).join('')}`)
    .join('');
  return `${head}${sections}<section class="appendix"><h2>${esc(t.appendix)}</h2><p class="how">${esc(t.appendixHow)} <code>${esc(input.database)}</code>, epoch=ms).</p>${appendix}</section></body></html>\n`;
}
