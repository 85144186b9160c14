// The monthly report as a Word document (DOCX), from the same document model as the HTML
// (document.ts), with the `docx` library: A4, Times New Roman 13 pt as administrative
// documents are written (Nghị định 30/2020/NĐ-CP), the header in a borderless two-column
// table, headings kept with the next paragraph (keepNext) so none is left at a page foot,
// table rows that do not split, the table head repeated on each page. Charts are drawn in
// the HTML/PDF only; the DOCX carries the same figures in its tables.
import {
  AlignmentType,
  BorderStyle,
  Document,
  HeadingLevel,
  Packer,
  Paragraph,
  ShadingType,
  Table,
  TableBorders,
  TableCell,
  TableRow,
  TextRun,
  WidthType,
  TableLayoutType,
} from 'docx';
import { buildDocument, type Block } from './document.ts';
import { Fmt } from './i18n.ts';
import type { RenderInput } from './render-html.ts';

const FONT = 'Times New Roman';
const PT = (n: number): number => n * 2; // docx sizes are half-points
const HEAD_COLUMNS: [number, number] = [4082, 5272];

function para(
  text: string,
  o: {
    bold?: boolean;
    italics?: boolean;
    size?: number;
    align?: (typeof AlignmentType)[keyof typeof AlignmentType];
    keepNext?: boolean;
    color?: string;
    after?: number;
  } = {},
): Paragraph {
  return new Paragraph({
    alignment: o.align,
    keepNext: o.keepNext,
    spacing: { after: o.after ?? 80 },
    children: [new TextRun({ text, bold: o.bold, italics: o.italics, size: o.size ? PT(o.size) : undefined, color: o.color, font: FONT })],
  });
}

function headerTable(b: Extract<Block, { kind: 'header' }>): Table {
  const centre = AlignmentType.CENTER;
  const left = [
    ...b.issuingBody.map((l, i) => para(l, { bold: i === b.issuingBody.length - 1, size: 12, align: centre, after: 0 })),
    ...(b.issuingBody.length ? [para('————', { align: centre, size: 8, after: 40 })] : []),
    para(b.number, { size: 13, align: centre }),
  ];
  const right = [
    para(b.nationalName, { bold: true, size: 12, align: centre, after: 0 }),
    para(b.motto, { bold: true, size: 13, align: centre, after: 0 }),
    para('———————————', { align: centre, size: 8, after: 40 }),
    para(b.dateLine, { italics: true, size: 13, align: centre }),
  ];
  // Fixed widths (twips) over the 165 mm between the margins: 72 mm for the issuing body,
  // 93 mm for the national name, which must stay on one line at 12 pt; no cell padding.
  const none = { top: 0, bottom: 0, left: 0, right: 0 };
  return new Table({
    width: { size: HEAD_COLUMNS[0] + HEAD_COLUMNS[1], type: WidthType.DXA },
    columnWidths: HEAD_COLUMNS,
    borders: TableBorders.NONE,
    rows: [
      new TableRow({
        children: [
          new TableCell({ width: { size: HEAD_COLUMNS[0], type: WidthType.DXA }, margins: none, children: left }),
          new TableCell({ width: { size: HEAD_COLUMNS[1], type: WidthType.DXA }, margins: none, children: right }),
        ],
      }),
    ],
  });
}

const thin = { style: BorderStyle.SINGLE, size: 4, color: '9CA3AF' };

/** Twips between the margins (165 mm). */
const TEXT_WIDTH = HEAD_COLUMNS[0] + HEAD_COLUMNS[1];

/**
 * Column widths from what the columns hold: the longest word of a heading and the longest
 * value (up to 40 characters) of a cell, so an address or a date range is not broken in
 * the middle while a column of small numbers stays narrow.
 */
function columnWidths(b: Extract<Block, { kind: 'table' }>, noHead: boolean): number[] {
  const n = Math.max(b.head.length, ...b.rows.map((r) => r.length));
  const want = Array.from({ length: n }, (_, i) => {
    const head = noHead ? 0 : Math.max(0, ...(b.head[i] ?? '').split(/\s+/).map((w) => w.length));
    const cells = Math.max(0, ...b.rows.map((r) => Math.min(40, (r[i]?.text ?? '').length)));
    return Math.max(6, head, cells);
  });
  const sum = want.reduce((a, x) => a + x, 0);
  return want.map((w) => Math.floor((w / sum) * TEXT_WIDTH));
}

function dataTable(b: Extract<Block, { kind: 'table' }>, noHead = false): Table {
  const cell = (text: string, o: { head?: boolean; numeric?: boolean; bold?: boolean; bad?: boolean; note?: string }) =>
    new TableCell({
      shading: o.head ? { type: ShadingType.CLEAR, fill: 'F3F4F6', color: 'auto' } : undefined,
      margins: { top: 30, bottom: 30, left: 60, right: 60 },
      children: [
        new Paragraph({
          alignment: o.numeric ? AlignmentType.RIGHT : AlignmentType.LEFT,
          children: [
            new TextRun({ text, bold: o.head || o.bold, color: o.bad ? 'B91C1C' : undefined, size: PT(10.5), font: FONT }),
            ...(o.note ? [new TextRun({ text: o.note, break: 1, size: PT(9), color: '4B5563', font: FONT })] : []),
          ],
        }),
      ],
    });
  const widths = columnWidths(b, noHead);
  return new Table({
    width: { size: TEXT_WIDTH, type: WidthType.DXA },
    columnWidths: widths,
    layout: TableLayoutType.FIXED,
    borders: { top: thin, bottom: thin, left: thin, right: thin, insideHorizontal: thin, insideVertical: thin },
    rows: [
      ...(noHead
        ? []
        : [new TableRow({ tableHeader: true, cantSplit: true, children: b.head.map((h, i) => cell(h, { head: true, numeric: b.numeric.includes(i) })) })]),
      ...b.rows.map(
        (r) =>
          new TableRow({
            cantSplit: true,
            children: r.map((x, i) => cell(x.text, { numeric: b.numeric.includes(i), bold: x.bold, bad: x.bad, note: x.note })),
          }),
      ),
    ],
  });
}

function blocks(b: Block): (Paragraph | Table)[] {
  switch (b.kind) {
    case 'header':
      return [headerTable(b)];
    case 'title':
      return [
        para('', { after: 120 }),
        para(b.title, { bold: true, size: 14, align: AlignmentType.CENTER, after: 0, keepNext: true }),
        para(b.subject, { bold: true, size: 13, align: AlignmentType.CENTER, after: 240, keepNext: true }),
      ];
    case 'heading': {
      const heading = b.level === 1 ? HeadingLevel.HEADING_1 : b.level === 2 ? HeadingLevel.HEADING_2 : HeadingLevel.HEADING_3;
      return [
        new Paragraph({
          heading,
          keepNext: true,
          keepLines: true,
          pageBreakBefore: b.pageBreak,
          spacing: { before: b.level === 1 ? 240 : 160, after: 80 },
          children: [
            new TextRun({ text: b.text, bold: b.level < 3, italics: b.level === 3, size: PT(b.level === 1 ? 13.5 : 13), color: '111827', font: FONT }),
          ],
        }),
      ];
    }
    case 'para':
      return [para(b.text, { size: b.how ? 11 : 13, color: b.how ? '374151' : undefined, keepNext: b.how, align: AlignmentType.JUSTIFIED })];
    case 'cards':
      // Figure cards as a two-column table of label and value.
      return [
        dataTable({ kind: 'table', head: [], rows: b.items.map((i) => [{ text: i.label }, { text: i.value, bold: true, bad: i.bad }]), numeric: [1] }, true),
        para('', { after: 60 }),
      ];
    case 'table':
      return [dataTable(b), para('', { after: 60 })];
    case 'chart':
      return [];
    case 'signature': {
      const left = b.recipients.length
        ? [para(b.recipientsLabel, { bold: true, italics: true, size: 12, after: 0 }), ...b.recipients.map((r) => para(`- ${r}`, { size: 11, after: 0 }))]
        : [para('')];
      const right = [
        para(b.title, { bold: true, size: 13, align: AlignmentType.CENTER, after: 1400 }),
        para(b.name, { bold: true, size: 13, align: AlignmentType.CENTER }),
      ];
      return [
        para('', { after: 200 }),
        new Table({
          width: { size: 100, type: WidthType.PERCENTAGE },
          borders: TableBorders.NONE,
          rows: [
            new TableRow({
              cantSplit: true,
              children: [
                new TableCell({ width: { size: 50, type: WidthType.PERCENTAGE }, children: left }),
                new TableCell({ width: { size: 50, type: WidthType.PERCENTAGE }, children: right }),
              ],
            }),
          ],
        }),
      ];
    }
    case 'code':
      return [
        para(b.title, { bold: true, size: 9, after: 0, keepNext: true }),
        new Paragraph({ spacing: { after: 100 }, children: [new TextRun({ text: b.text, font: 'DejaVu Sans Mono', size: PT(8) })] }),
      ];
  }
}

export async function renderDocx(input: RenderInput): Promise<Buffer> {
  const f = new Fmt(input.lang, input.range.timeZone);
  const doc = new Document({
    creator: 'canh-collector',
    title: `${f.t.title} ${input.range.month}`,
    styles: { default: { document: { run: { font: FONT, size: PT(13) } } } },
    sections: [
      {
        // A4; margins of administrative documents: top/bottom 20 mm, left 30 mm, right 15 mm.
        properties: { page: { size: { width: 11906, height: 16838 }, margin: { top: 1134, bottom: 1134, left: 1701, right: 851 } } },
        children: buildDocument(input, f).flatMap(blocks),
      },
    ],
  });
  return Packer.toBuffer(doc);
}
