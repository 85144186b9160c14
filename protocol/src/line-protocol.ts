// InfluxDB line protocol encoding. Every tag and field value that reaches InfluxDB
// passes through here, so escaping is what stops a value from injecting extra fields,
// tags or whole lines (a user name with a space and "x=1", a path with a newline...).
import type { FieldValue, Point, Row, Series } from './messages.ts';

// Measurement: escape comma and space. Tag keys/values and field keys: comma, equals, space.
// Newlines cannot be escaped in names or tag values, so they are replaced by spaces there.
// InfluxDB 1.x reads a backslash as escaping whatever follows and unescapes only "\,",
// "\=" and "\ ", so a plain backslash needs no escaping, but one at the end of a value
// or before , = or space has no faithful form: it would swallow the separator after it.
// Those few backslashes are dropped (as Telegraf drops trailing ones).
function unsafeBackslashes(s: string): string {
  return s.replace(/[\r\n]/g, ' ').replace(/\\+(?=[ ,=]|$)/g, '');
}

// Almost every name and tag value needs no escaping at all; one test of the characters
// that matter skips three regex replacements per key (the collector's hottest path).
const MEASUREMENT_SPECIAL = /[\r\n\\, ]/;
const TAG_SPECIAL = /[\r\n\\,= ]/;

export function escapeMeasurement(s: string): string {
  if (!MEASUREMENT_SPECIAL.test(s)) return s;
  return unsafeBackslashes(s).replace(/[, ]/g, (c) => `\\${c}`);
}

export function escapeTag(s: string): string {
  if (!TAG_SPECIAL.test(s)) return s;
  return unsafeBackslashes(s).replace(/[,= ]/g, (c) => `\\${c}`);
}

// Inside a quoted string field InfluxDB 1.x unescapes only \\ and \"; a raw newline there
// is part of the string (its parser tracks quotes), so newlines are kept as they are.
export function escapeFieldString(s: string): string {
  if (!/[\\"]/.test(s)) return `"${s}"`;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function fieldValue(v: FieldValue, isInt: boolean): string | undefined {
  if (typeof v === 'string') return escapeFieldString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (!Number.isFinite(v)) return undefined; // NaN/Infinity have no line-protocol form
  if (isInt) return `${Math.trunc(v)}i`;
  // Always write floats with a decimal point or exponent so InfluxDB never sees an int.
  // String(v) has neither exactly when v is a whole number below 1e21.
  const s = String(v);
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? `${s}.0` : s;
}

/** "measurement,tag=value,..." with `extraTags` winning over the point's tags, sorted by key. */
function seriesPrefix(name: string, pointTags: Readonly<Record<string, string>> | undefined, extraTags: Readonly<Record<string, string>> | undefined): string {
  const tags: Record<string, string> = { ...pointTags, ...extraTags };
  let line = escapeMeasurement(name);
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k];
    if (v === undefined || v === '') continue; // empty tag values are not allowed by InfluxDB
    line += `,${escapeTag(k)}=${escapeTag(v)}`;
  }
  return line;
}

/** "field=value,..." of a point, or '' when no field can be written. */
function fieldSet(p: Point): string {
  // A short `int` list is searched directly: a Set per point costs more than it saves.
  const int = p.int && p.int.length ? (p.int.length > 8 ? new Set(p.int) : p.int) : undefined;
  let fields = '';
  for (const k of Object.keys(p.fields)) {
    const v = p.fields[k]!;
    const enc = fieldValue(v, int === undefined ? false : Array.isArray(int) ? int.includes(k) : int.has(k));
    if (enc === undefined) continue;
    fields += `${fields ? ',' : ''}${escapeTag(k)}=${enc}`;
  }
  return fields;
}

/**
 * Encode one point. Tags in `extraTags` win over the point's own tags (the collector
 * passes the registry's host/agency/site there). Returns undefined when no field can be
 * written (e.g. all NaN) so the caller can count the point as refused instead of
 * sending a line InfluxDB would reject with a 400 for the whole batch.
 * Time is in milliseconds: write with precision=ms.
 */
export function encodePoint(p: Point, extraTags?: Readonly<Record<string, string>>): string | undefined {
  const fields = fieldSet(p);
  if (!fields) return undefined;
  return `${seriesPrefix(p.name, p.tags, extraTags)} ${fields} ${p.time}`;
}

/**
 * encodePoint for one source whose extra tags never change (one agent's connection):
 * the escaped, merged and sorted "measurement,tags" part is computed once per series
 * and reused, since an agent sends the same series every cycle. Output is identical to
 * encodePoint's. The cache holds the first `maxSeries` series an agent sends (the ones it
 * sends every cycle); further series are encoded without it, so an agent with many
 * series costs a bounded amount of memory and the hot ones stay cached.
 */
export class PointEncoder {
  private readonly extraTags: Readonly<Record<string, string>>;
  private readonly maxSeries: number;
  private readonly series = new Map<string, SeriesLayout>();

  constructor(extraTags: Readonly<Record<string, string>>, maxSeries = 1024) {
    this.extraTags = { ...extraTags };
    this.maxSeries = maxSeries;
  }

  get cachedSeries(): number {
    return this.series.size;
  }

  /**
   * The series' layout for these field names, from the cache when it has been seen.
   * A layout's arrays are replaced, never changed, when a series' fields change, so a
   * caller may hold on to them.
   */
  private layout(name: string, tags: Readonly<Record<string, string>> | undefined, keys: string[], int: readonly string[] | undefined): SeriesLayout {
    // Names cannot hold a newline, so the name ends at the first one; each tag key and
    // value is length-prefixed, so no two different tag sets can share a cache key.
    let key = `${name}\n`;
    if (tags) for (const k of Object.keys(tags)) key += `${k.length}:${k}${tags[k]!.length}:${tags[k]}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = { prefix: seriesPrefix(name, tags, this.extraTags), keys: [], heads: [], ints: [], int: undefined };
      if (this.series.size < this.maxSeries) this.series.set(key, s);
    }
    // The field names and `int` list usually repeat from the series' previous point:
    // their escaped forms and int flags are then reused as they are.
    if (!sameStrings(keys, s.keys) || !sameStrings(int, s.int)) {
      s.keys = keys;
      s.int = int;
      s.heads = keys.map(fieldHead);
      s.ints = keys.map((k) => int !== undefined && int.includes(k));
    }
    return s;
  }

  encode(p: Point): string | undefined {
    const keys = Object.keys(p.fields);
    const s = this.layout(p.name, p.tags, keys, p.int);
    let fields = '';
    for (let i = 0; i < keys.length; i++) {
      const enc = fieldValue(p.fields[keys[i]!]!, s.ints[i]!);
      if (enc === undefined) continue;
      fields += fields ? `,${s.heads[i]}${enc}` : `${s.heads[i]}${enc}`;
    }
    if (!fields) return undefined;
    return `${s.prefix} ${fields} ${p.time}`;
  }

  /**
   * Line protocol of a batch's `rows` (already validated against `series`), appended to
   * `out`; returns how many rows had nothing writable. Each line is the one encode()
   * gives for the same point: a row is a point whose fields are its series' field
   * names with a value, in the series' order.
   */
  encodeRows(series: readonly Series[], rows: readonly Row[], out: string[]): number {
    const layouts: { prefix: string; heads: string[]; ints: boolean[] }[] = [];
    for (const x of series) {
      const s = this.layout(x.name, x.tags, x.fields, x.int);
      layouts.push({ prefix: `${s.prefix} `, heads: s.heads, ints: s.ints });
    }
    let refused = 0;
    // Rows of one cycle share their time: its text is made once per run of equal times.
    let time = -1;
    let timeText = '';
    for (const r of rows) {
      const l = layouts[r[0]]!;
      if (r[1] !== time) {
        time = r[1];
        timeText = String(time);
      }
      let fields = '';
      for (let i = 2; i < r.length; i++) {
        const v = r[i];
        if (v === null || v === undefined) continue;
        const enc = fieldValue(v, l.ints[i - 2]!);
        if (enc === undefined) continue;
        fields += fields ? `,${l.heads[i - 2]}${enc}` : `${l.heads[i - 2]}${enc}`;
      }
      if (fields) out.push(`${l.prefix}${fields} ${timeText}`);
      else refused++;
    }
    return refused;
  }
}

/**
 * "escaped_name=" of a field, shared by every encoder: 10,000 agents send the same few
 * hundred field names, and one copy each is enough. Bounded; past the bound it starts over.
 */
const heads = new Map<string, string>();
function fieldHead(k: string): string {
  let h = heads.get(k);
  if (h === undefined) {
    if (heads.size >= 65_536) heads.clear();
    h = `${escapeTag(k)}=`;
    heads.set(k, h);
  }
  return h;
}

interface SeriesLayout {
  /** "measurement,tags" as written. */
  prefix: string;
  /** Field names of the series' last point, in order, and what was derived from them. */
  keys: string[];
  /** "escaped_name=" per field. */
  heads: string[];
  /** Whether each field is written as an integer. */
  ints: boolean[];
  /** The `int` list those flags came from. */
  int: readonly string[] | undefined;
}

function sameStrings(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
