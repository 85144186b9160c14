// A fast path for the message the collector receives most: a `batch` of points, in
// either spelling (`points`, or `series` + `rows`). It accepts only what BatchSchema
// accepts and returns the parsed JSON itself (defaults filled in) instead of zod's copy,
// which at ~100,000 points/s was a third of the collector's CPU with the garbage it
// made. Anything it is not sure of (events, odd keys, any doubt) returns undefined, and
// the caller validates with the schema, which also gives the precise error. The schema
// stays the contract; fast-batch.test.ts checks that both agree.
import { MAX_POINTS_PER_BATCH, MAX_SERIES_FIELDS, rowProblem, type Batch } from './messages.ts';

const LINE_BREAK = /[\n\r]/;
const POINT_KEYS = new Set(['name', 'time', 'tags', 'fields', 'int']);
const SERIES_KEYS = new Set(['name', 'tags', 'fields', 'int']);
const BATCH_KEYS = new Set(['type', 'seq', 'points', 'series', 'rows', 'events']);

function isName(s: unknown): s is string {
  return typeof s === 'string' && s.length >= 1 && s.length <= 256 && s !== '__proto__' && !LINE_BREAK.test(s);
}

function isRecord(o: unknown): o is Record<string, unknown> {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && Object.getPrototypeOf(o) === Object.prototype;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function isTags(tags: unknown): boolean {
  if (tags === undefined) return true;
  if (!isRecord(tags)) return false;
  for (const k in tags) {
    const v = tags[k];
    if (!isName(k) || typeof v !== 'string' || v.length > 1024) return false;
  }
  return true;
}

const isValue = (v: unknown): boolean => (typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string' ? v.length <= 65_536 : typeof v === 'boolean');

function isPoint(p: unknown): boolean {
  if (!isRecord(p)) return false;
  for (const k in p) if (!POINT_KEYS.has(k)) return false;
  if (!isName(p.name) || !isCount(p.time)) return false;
  if (!isTags(p.tags)) return false;
  const fields = p.fields;
  if (!isRecord(fields)) return false;
  let n = 0;
  for (const k in fields) {
    const v = fields[k];
    if (!isName(k) || !isValue(v)) return false;
    n++;
  }
  if (n === 0) return false;
  const int = p.int;
  if (int !== undefined && (!Array.isArray(int) || !int.every(isName))) return false;
  return true;
}

/** No name twice; a series has a handful of fields, so a Set per series would cost more than the loop. */
function distinct(a: readonly string[]): boolean {
  if (a.length > 32) return new Set(a).size === a.length;
  for (let i = 1; i < a.length; i++) for (let j = 0; j < i; j++) if (a[i] === a[j]) return false;
  return true;
}

function isSeries(s: unknown): boolean {
  if (!isRecord(s)) return false;
  for (const k in s) if (!SERIES_KEYS.has(k)) return false;
  if (!isName(s.name) || !isTags(s.tags)) return false;
  const fields = s.fields;
  if (!Array.isArray(fields) || fields.length === 0 || fields.length > MAX_SERIES_FIELDS || !fields.every(isName)) return false;
  if (!distinct(fields as string[])) return false;
  const int = s.int;
  return int === undefined || (Array.isArray(int) && int.every(isName));
}

function isRow(r: unknown, series: readonly { fields: readonly string[] }[]): boolean {
  if (!Array.isArray(r) || r.length < 3 || !isCount(r[0]) || !isCount(r[1])) return false;
  for (let i = 2; i < r.length; i++) if (r[i] !== null && !isValue(r[i])) return false;
  return rowProblem(r, series) === undefined;
}

/** `raw` (parsed JSON) as a Batch when it is certainly a valid batch without events; otherwise undefined. */
export function fastBatch(raw: unknown): Batch | undefined {
  if (!isRecord(raw) || raw.type !== 'batch' || !isCount(raw.seq)) return undefined;
  for (const k in raw) if (!BATCH_KEYS.has(k)) return undefined;
  if (raw.events !== undefined && !(Array.isArray(raw.events) && raw.events.length === 0)) return undefined;
  const points = raw.points;
  if (points !== undefined && (!Array.isArray(points) || points.length > MAX_POINTS_PER_BATCH)) return undefined;
  if (points) for (const p of points) if (!isPoint(p)) return undefined;
  const series = raw.series;
  const rows = raw.rows;
  if (series !== undefined && (!Array.isArray(series) || series.length > MAX_POINTS_PER_BATCH || !series.every(isSeries))) return undefined;
  if (rows !== undefined) {
    if (!Array.isArray(rows) || rows.length + (points?.length ?? 0) > MAX_POINTS_PER_BATCH) return undefined;
    const s = (series ?? []) as { fields: string[] }[];
    for (const r of rows) if (!isRow(r, s)) return undefined;
  }
  // Valid: fill in the schema's defaults.
  raw.points = points ?? [];
  raw.series = series ?? [];
  raw.rows = rows ?? [];
  raw.events = [];
  for (const p of raw.points as Record<string, unknown>[]) p.tags ??= {};
  for (const p of raw.series as Record<string, unknown>[]) p.tags ??= {};
  return raw as unknown as Batch;
}
