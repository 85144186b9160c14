// Charts of the monthly report as inline SVG strings, drawn on the server: the report is
// one self-contained file that prints the same in a mail client, a browser or a PDF, with
// no chart library and no script.
import type { CheckTarget, Uplink } from './compute.ts';
import { SEVERITIES } from './compute.ts';
import type { Fmt } from './i18n.ts';

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const SEVERITY_COLORS: Record<string, string> = { critical: '#7f1d1d', high: '#dc2626', medium: '#f59e0b', low: '#3b82f6', info: '#9ca3af' };

function availabilityColor(p: number | null): string {
  if (p === null) return '#e5e7eb';
  if (p >= 99.9) return '#16a34a';
  if (p >= 99) return '#84cc16';
  if (p >= 95) return '#f59e0b';
  return '#dc2626';
}

function short(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** One row per target: a cell per day coloured by that day's availability, then the month's figure. */
export function availabilityChart(checks: CheckTarget[], fmt: Fmt): string {
  const days = checks[0]?.daily.length ?? 30;
  const labelW = 230;
  const cell = 13;
  const rowH = 18;
  const w = labelW + days * cell + 80;
  const h = 22 + checks.length * rowH + 24;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(fmt.t.availability)}">`,
  ];
  for (let d = 0; d < days; d++)
    if (d % 5 === 0 || d === days - 1) parts.push(`<text x="${labelW + d * cell + cell / 2}" y="14" class="axis" text-anchor="middle">${d + 1}</text>`);
  checks.forEach((c, i) => {
    const y = 22 + i * rowH;
    parts.push(`<text x="${labelW - 6}" y="${y + 12}" text-anchor="end" class="label">${esc(short(`${fmt.t.kinds[c.kind]} ${c.target}`, 34))}</text>`);
    c.daily.forEach((d, j) => {
      const p = d.samples ? ((d.samples - d.down) / d.samples) * 100 : null;
      const title = `${j + 1}: ${fmt.pct(p)}`;
      parts.push(
        `<rect x="${labelW + j * cell}" y="${y + 2}" width="${cell - 2}" height="${rowH - 4}" rx="2" fill="${availabilityColor(p)}"><title>${esc(title)}</title></rect>`,
      );
    });
    parts.push(`<text x="${labelW + days * cell + 6}" y="${y + 12}" class="value">${esc(fmt.pct(c.availability))}</text>`);
  });
  const ly = h - 8;
  const legend: [string, string][] = [
    [`≥ ${fmt.pct(99.9)}`, '#16a34a'],
    [`≥ ${fmt.pct(99)}`, '#84cc16'],
    [`≥ ${fmt.pct(95)}`, '#f59e0b'],
    [`< ${fmt.pct(95)}`, '#dc2626'],
  ];
  legend.forEach(([label, color], i) => {
    const x = labelW + i * 85;
    parts.push(`<rect x="${x}" y="${ly - 9}" width="10" height="10" fill="${color}"/><text x="${x + 14}" y="${ly}" class="axis">${esc(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Top of the axis: four equal steps of 1, 2, 2.5 or 5 × 10^k (no 2.5 for counts). */
function niceMax(v: number, counts = false): number {
  if (v <= 0) return 4;
  const raw = v / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of counts ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]) if (m * p >= raw && (!counts || m * p >= 1)) return 4 * m * p;
  return 40 * p;
}

interface Plot {
  x0: number;
  y0: number;
  w: number;
  h: number;
  max: number;
  days: number;
}

function axes(p: Plot, label: (v: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (p.max * i) / 4;
    const y = p.y0 + p.h - (p.h * i) / 4;
    out.push(
      `<line x1="${p.x0}" x2="${p.x0 + p.w}" y1="${y}" y2="${y}" class="grid"/><text x="${p.x0 - 4}" y="${y + 3}" text-anchor="end" class="axis">${esc(label(v))}</text>`,
    );
  }
  const step = p.w / p.days;
  for (let d = 0; d < p.days; d++)
    if (d % 5 === 0 || d === p.days - 1)
      out.push(`<text x="${p.x0 + d * step + step / 2}" y="${p.y0 + p.h + 12}" text-anchor="middle" class="axis">${d + 1}</text>`);
  return out;
}

/** Daily peak in/out as bars, daily mean in/out as lines, for one uplink. */
export function bandwidthChart(u: Uplink, fmt: Fmt): string {
  const p: Plot = { x0: 70, y0: 10, w: 560, h: 150, max: 0, days: u.daily.length };
  p.max = niceMax(Math.max(1, ...u.daily.flatMap((d) => [d.peakIn ?? 0, d.peakOut ?? 0])));
  const w = p.x0 + p.w + 10;
  const h = p.y0 + p.h + 36;
  const step = p.w / p.days;
  const y = (v: number): number => p.y0 + p.h - (p.h * v) / p.max;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(`${u.device} ${u.iface}`)}">`,
    ...axes(p, (v) => fmt.bps(v)),
  ];
  u.daily.forEach((d, i) => {
    const bw = step / 2 - 1;
    if (d.peakIn !== null)
      parts.push(
        `<rect x="${p.x0 + i * step + 1}" y="${y(d.peakIn)}" width="${bw}" height="${p.y0 + p.h - y(d.peakIn)}" fill="#60a5fa"><title>${esc(`${i + 1}: ${fmt.t.peakIn} ${fmt.bps(d.peakIn)}`)}</title></rect>`,
      );
    if (d.peakOut !== null)
      parts.push(
        `<rect x="${p.x0 + i * step + 1 + bw}" y="${y(d.peakOut)}" width="${bw}" height="${p.y0 + p.h - y(d.peakOut)}" fill="#f97316"><title>${esc(`${i + 1}: ${fmt.t.peakOut} ${fmt.bps(d.peakOut)}`)}</title></rect>`,
      );
  });
  for (const [key, color] of [
    ['meanIn', '#1d4ed8'],
    ['meanOut', '#9a3412'],
  ] as const) {
    const pts = u.daily
      .map((d, i) => (d[key] === null ? null : `${(p.x0 + i * step + step / 2).toFixed(1)},${y(d[key]).toFixed(1)}`))
      .filter((s) => s !== null);
    if (pts.length) parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
  }
  const legend: [string, string][] = [
    [fmt.t.peakIn, '#60a5fa'],
    [fmt.t.peakOut, '#f97316'],
    [fmt.t.meanIn, '#1d4ed8'],
    [fmt.t.meanOut, '#9a3412'],
  ];
  legend.forEach(([label, color], i) =>
    parts.push(
      `<rect x="${p.x0 + i * 110}" y="${h - 11}" width="10" height="10" fill="${color}"/><text x="${p.x0 + i * 110 + 14}" y="${h - 2}" class="axis">${esc(label)}</text>`,
    ),
  );
  parts.push('</svg>');
  return parts.join('');
}

/** Security events per day, stacked by severity. */
export function eventsChart(daily: Record<string, number>[], fmt: Fmt): string {
  const p: Plot = { x0: 50, y0: 10, w: 580, h: 150, max: 0, days: daily.length };
  p.max = niceMax(Math.max(1, ...daily.map((d) => Object.values(d).reduce((a, v) => a + v, 0))), true);
  const w = p.x0 + p.w + 10;
  const h = p.y0 + p.h + 36;
  const step = p.w / p.days;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(fmt.t.perDay)}">`,
    ...axes(p, (v) => fmt.num(v)),
  ];
  daily.forEach((d, i) => {
    let base = p.y0 + p.h;
    for (const sev of [...SEVERITIES].reverse()) {
      const v = d[sev] ?? 0;
      if (!v) continue;
      const bh = (p.h * v) / p.max;
      base -= bh;
      parts.push(
        `<rect x="${p.x0 + i * step + 1}" y="${base.toFixed(1)}" width="${step - 2}" height="${bh.toFixed(1)}" fill="${SEVERITY_COLORS[sev]}"><title>${esc(`${i + 1}: ${fmt.t.sev[sev]} ${fmt.num(v)}`)}</title></rect>`,
      );
    }
  });
  SEVERITIES.forEach((sev, i) =>
    parts.push(
      `<rect x="${p.x0 + i * 100}" y="${h - 11}" width="10" height="10" fill="${SEVERITY_COLORS[sev]}"/><text x="${p.x0 + i * 100 + 14}" y="${h - 2}" class="axis">${esc(fmt.t.sev[sev]!)}</text>`,
    ),
  );
  parts.push('</svg>');
  return parts.join('');
}
