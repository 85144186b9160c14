// The `rows` spelling of a batch's points: each distinct series (measurement, tags,
// field names, integer fields) is written once, and each point is a row of values,
// `[series index, time, value per field]`. An agent that sends the same 15 series every
// cycle repeats no name when a batch holds several cycles. RowsWriter builds it on the
// sending side; pointsOf gives the receiving side ordinary points where it needs them.
import type { Batch, FieldValue, Point, Row, Series } from './messages.ts';

/** Points of a `rows` batch as ordinary points, optionally only the measurements `wanted` says yes to. */
export function rowsToPoints(series: readonly Series[], rows: readonly Row[], wanted?: (name: string) => boolean): Point[] {
  const out: Point[] = [];
  const keep = series.map((s) => wanted === undefined || wanted(s.name));
  for (const r of rows) {
    const idx = r[0];
    if (!keep[idx]) continue;
    const s = series[idx]!;
    const fields: Record<string, FieldValue> = {};
    for (let i = 2; i < r.length; i++) {
      const v = r[i];
      if (v !== null && v !== undefined) fields[s.fields[i - 2]!] = v;
    }
    const p: Point = { name: s.name, time: r[1], tags: s.tags, fields };
    if (s.int) p.int = s.int;
    out.push(p);
  }
  return out;
}

/**
 * Every point of a batch, whichever spelling carried it (`points` first, then `rows`).
 * `wanted` skips the rows of measurements nobody looks at without building them.
 */
export function pointsOf(batch: Pick<Batch, 'points'> & Partial<Pick<Batch, 'series' | 'rows'>>, wanted?: (name: string) => boolean): Point[] {
  const rows = batch.rows;
  if (!rows || rows.length === 0) return wanted ? batch.points.filter((p) => wanted(p.name)) : batch.points;
  const fromRows = rowsToPoints(batch.series ?? [], rows, wanted);
  if (batch.points.length === 0) return fromRows;
  return [...(wanted ? batch.points.filter((p) => wanted(p.name)) : batch.points), ...fromRows];
}

const isWritable = (v: FieldValue | undefined): boolean => (typeof v === 'number' ? Number.isFinite(v) : v !== undefined);

/** JSON of one value in a row: a value that JSON cannot carry (NaN, ±Infinity) is "no value". */
function valueJson(v: FieldValue | undefined): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (v === undefined) return 'null';
  return JSON.stringify(v);
}

/**
 * Builds the `"series":[...],"rows":[...]` part of a batch, point by point. add() says
 * how many bytes the point added, so the caller can keep a frame below the collector's
 * size limit; json() is the text to put between the braces of a batch.
 */
export class RowsWriter {
  private readonly index = new Map<string, number>();
  private seriesJson: string[] = [];
  private rowsJson: string[] = [];
  /** Points not added because no field had a value JSON can carry (all NaN, or none). */
  skipped = 0;

  get rows(): number {
    return this.rowsJson.length;
  }

  /** What the last add() did, so undo() can take it back. */
  private last: { series: string | undefined } | undefined;

  /** Add one point; returns the bytes it added to json() (0: skipped, nothing writable). */
  add(p: Point): number {
    this.last = undefined;
    const fields = Object.keys(p.fields);
    if (!fields.some((f) => isWritable(p.fields[f]))) {
      this.skipped++;
      return 0;
    }
    // Names and tag keys cannot hold a newline; lengths keep values apart.
    let key = `${p.name}\n`;
    const tags = p.tags;
    for (const k in tags) key += `${k.length}:${k}${tags[k]!.length}:${tags[k]}`;
    key += `\n${fields.join('\n')}\n${p.int ? p.int.join('\n') : '-'}`;
    let added = 0;
    let idx = this.index.get(key);
    this.last = { series: undefined };
    if (idx === undefined) {
      this.last.series = key;
      idx = this.seriesJson.length;
      this.index.set(key, idx);
      const s: Series = { name: p.name, tags: p.tags ?? {}, fields, ...(p.int ? { int: p.int } : {}) };
      const json = JSON.stringify(s);
      this.seriesJson.push(json);
      added += json.length + 1;
    }
    let row = `[${idx},${p.time}`;
    for (const f of fields) row += `,${valueJson(p.fields[f])}`;
    row += ']';
    this.rowsJson.push(row);
    return added + row.length + 1;
  }

  /** Take back the last add() (it made the batch too big: the point goes in the next one). */
  undo(): void {
    if (!this.last) return;
    this.rowsJson.pop();
    if (this.last.series !== undefined) {
      this.index.delete(this.last.series);
      this.seriesJson.pop();
    }
    this.last = undefined;
  }

  /** `"series":[...],"rows":[...]` of what was added. */
  json(): string {
    return `"series":[${this.seriesJson.join(',')}],"rows":[${this.rowsJson.join(',')}]`;
  }
}
