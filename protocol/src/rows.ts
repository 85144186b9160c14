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
  const points = wanted ? batch.points.filter((p) => wanted(p.name)) : batch.points;
  const rows = batch.rows;
  if (!rows || rows.length === 0) return points;
  const fromRows = rowsToPoints(batch.series ?? [], rows, wanted);
  return points.length ? [...points, ...fromRows] : fromRows;
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

  /** Key of the series the last add() created (undefined: it used one already there); false: nothing to undo. */
  private lastSeries: string | undefined | false = false;

  /**
   * Add one point; returns the bytes it added to json() (0: skipped, nothing writable).
   * Built from native JSON.stringify calls: the agent runs without V8's optimising
   * compilers, where a loop over fields in JavaScript costs three times as much.
   */
  add(p: Point): number {
    this.lastSeries = false;
    // JSON writes NaN and ±Infinity as null: "no value" in a row.
    const values = JSON.stringify(Object.values(p.fields));
    const n = values.length;
    if (n === 2 || (n % 5 === 1 && values === `[${'null,'.repeat((n - 6) / 5)}null]`)) {
      this.skipped++;
      return 0;
    }
    const fields = Object.keys(p.fields);
    // The series' JSON is its key too: one native call for both.
    const series: Series = p.int ? { name: p.name, tags: p.tags ?? {}, fields, int: p.int } : { name: p.name, tags: p.tags ?? {}, fields };
    const json = JSON.stringify(series);
    let added = 0;
    let idx = this.index.get(json);
    this.lastSeries = undefined;
    if (idx === undefined) {
      this.lastSeries = json;
      idx = this.seriesJson.length;
      this.index.set(json, idx);
      this.seriesJson.push(json);
      added += json.length + 1;
    }
    const row = `[${idx},${p.time},${values.slice(1)}`;
    this.rowsJson.push(row);
    return added + row.length + 1;
  }

  /** Take back the last add() (it made the batch too big: the point goes in the next one). */
  undo(): void {
    if (this.lastSeries === false) return;
    this.rowsJson.pop();
    if (this.lastSeries !== undefined) {
      this.index.delete(this.lastSeries);
      this.seriesJson.pop();
    }
    this.lastSeries = false;
  }

  /** `"series":[...],"rows":[...]` of what was added. */
  json(): string {
    return `"series":[${this.seriesJson.join(',')}],"rows":[${this.rowsJson.join(',')}]`;
  }
}
