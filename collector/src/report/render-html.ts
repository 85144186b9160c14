// The monthly report as one self-contained HTML document (inline CSS and SVG, no script,
// no external resource), rendered from the document model (document.ts): the official
// header, one part per agency, the signature block, the appendix when asked for. The
// same HTML is printed to PDF by pdf.ts. Headings are kept with what follows them on a
// printed page (break-after: avoid), so none is left alone at a page foot.
import { buildDocument, type Block, type Cell, type DocumentInput } from './document.ts';
import { Fmt } from './i18n.ts';
import { esc } from './svg.ts';

export type RenderInput = DocumentInput;

const CSS = `
@page { size: A4; margin: 20mm 15mm 20mm 25mm; }
body { font-family: "Times New Roman", "Liberation Serif", "DejaVu Serif", serif; font-size: 12pt; color: #111827; margin: 0 auto; max-width: 170mm; }
.doc-head { width: 100%; border-collapse: collapse; margin: 0 0 6mm; font-size: 12pt; }
.doc-head td { border: none; text-align: center; vertical-align: top; padding: 0; }
.doc-head td.left { width: 45%; } .doc-head td.right { width: 55%; }
.doc-head .b { font-weight: bold; } .doc-head .rule { display: block; margin: 0.5mm auto 1.5mm; border-top: 1px solid #111; width: 30%; }
.doc-head .motto { font-weight: bold; font-size: 13pt; } .doc-head .date { font-style: italic; margin-top: 2mm; } .doc-head .number { margin-top: 1mm; }
.doc-title { text-align: center; font-weight: bold; font-size: 14pt; margin: 4mm 0 0; } .doc-subject { text-align: center; font-weight: bold; margin: 0 0 5mm; }
h1, h2, h3 { break-after: avoid; page-break-after: avoid; font-family: inherit; }
h1 { font-size: 13pt; margin: 6mm 0 2mm; text-transform: none; } h2 { font-size: 12pt; margin: 5mm 0 1.5mm; } h3 { font-size: 12pt; font-style: italic; font-weight: normal; margin: 3mm 0 1mm; }
h1.break { break-before: page; }
p { margin: 0 0 2mm; text-align: justify; } p.how { color: #374151; font-size: 10.5pt; break-after: avoid; page-break-after: avoid; }
table.data { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; font-size: 10pt; }
table.data th, table.data td { border: 1px solid #9ca3af; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
table.data th { background: #f3f4f6; } table.data td.n, table.data th.n { text-align: right; white-space: nowrap; } table.data tr { break-inside: avoid; }
table.data thead { display: table-header-group; }
.cards { display: flex; flex-wrap: wrap; gap: 2mm; margin: 1mm 0 3mm; break-inside: avoid; }
.card { border: 1px solid #9ca3af; border-radius: 1.5mm; padding: 1.5mm 2.5mm; min-width: 36mm; }
.card b { display: block; font-size: 13pt; } .card span { color: #374151; font-size: 9.5pt; }
.bad { color: #b91c1c; } small { color: #4b5563; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 1mm 0 3mm; break-inside: avoid; }
svg .axis { font-size: 9px; fill: #4b5563; } svg .label, svg .value { font-size: 10px; fill: #111827; } svg .grid { stroke: #e5e7eb; }
.sign { width: 100%; border-collapse: collapse; margin-top: 8mm; break-inside: avoid; page-break-inside: avoid; }
.sign td { border: none; vertical-align: top; padding: 0; } .sign td.left { width: 50%; font-size: 11pt; } .sign td.right { width: 50%; text-align: center; }
.sign .space { height: 22mm; }
.keep { break-inside: avoid; page-break-inside: avoid; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 8pt; background: #f9fafb; border: 1px solid #e5e7eb; padding: 1.5mm; margin: 0 0 2mm; }
`;

function cell(x: Cell, numeric: boolean, figure?: string): string {
  let inner = esc(x.text);
  if (x.bold) inner = `<b>${inner}</b>`;
  if (x.bad) inner = `<span class="bad">${inner}</span>`;
  if (figure) inner = `<span data-figure="${figure}">${inner}</span>`;
  if (x.note) inner += `<br><small>${esc(x.note)}</small>`;
  return `<td${numeric ? ' class="n"' : ''}>${inner}</td>`;
}

function block(b: Block): string {
  switch (b.kind) {
    case 'header': {
      const body = b.issuingBody.map((l, i) => `<div class="${i === b.issuingBody.length - 1 ? 'b' : ''}">${esc(l)}</div>`).join('');
      return `<table class="doc-head"><tr><td class="left">${body}${b.issuingBody.length ? '<span class="rule"></span>' : ''}<div class="number">${esc(b.number)}</div></td><td class="right"><div class="b">${esc(b.nationalName)}</div><div class="motto">${esc(b.motto)}</div><span class="rule" style="width:55%"></span><div class="date">${esc(b.dateLine)}</div></td></tr></table>`;
    }
    case 'title':
      return `<div class="doc-title">${esc(b.title)}</div><div class="doc-subject">${esc(b.subject)}</div>`;
    case 'heading':
      return `<h${b.level}${b.pageBreak ? ' class="break"' : ''}>${esc(b.text)}</h${b.level}>`;
    case 'para':
      return `<p${b.how ? ' class="how"' : ''}>${esc(b.text)}</p>`;
    case 'cards':
      return `<div class="cards">${b.items.map((i) => `<div class="card"><b${i.bad ? ' class="bad"' : ''}>${esc(i.value)}</b><span>${esc(i.label)}</span></div>`).join('')}</div>`;
    case 'table': {
      const figCol = b.figure ? (b.head.length > 5 && b.figure === 'availability' ? 5 : b.figure === 'agents' ? 1 : -1) : -1;
      const th = b.head.map((h, i) => `<th${b.numeric.includes(i) ? ' class="n"' : ''}>${esc(h)}</th>`).join('');
      const rows = b.rows.map((r) => `<tr>${r.map((x, i) => cell(x, b.numeric.includes(i), i === figCol ? b.figure : undefined)).join('')}</tr>`).join('');
      return `<table class="data"><thead><tr>${th}</tr></thead><tbody>${rows}</tbody></table>`;
    }
    case 'chart':
      return b.title ? `<div class="keep"><h3>${esc(b.title)}</h3>${b.svg}</div>` : b.svg;
    case 'signature':
      return `<table class="sign"><tr><td class="left">${b.recipients.length ? `<b><i>${esc(b.recipientsLabel)}</i></b><br>${b.recipients.map((r) => `- ${esc(r)}`).join('<br>')}` : ''}</td><td class="right"><b>${esc(b.title)}</b><div class="space"></div><b>${esc(b.name)}</b></td></tr></table>`;
    case 'code':
      return `<pre><b>${esc(b.title)}</b>\n${esc(b.text)}</pre>`;
  }
}

export function renderHtml(input: RenderInput): string {
  const f = new Fmt(input.lang, input.range.timeZone);
  const blocks = buildDocument(input, f);
  const head = `<!doctype html><html lang="${input.lang}"><head><meta charset="utf-8"><title>${esc(`${f.t.title} ${input.range.month}`)}</title><style>${CSS}</style></head><body>`;
  return `${head}${blocks.map(block).join('\n')}</body></html>\n`;
}
