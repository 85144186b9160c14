// Turning an agent's batch into line protocol stamped with the registry's identity.
// The registry's host/agency/site always win over whatever tags the agent sent.
import { encodePoint, PointEncoder, rowsToPoints, type Batch, type Point, type SecurityEvent } from '@canh/protocol';
import type { AgentRecord } from './registry/types.ts';
import { EventTimes } from './event-times.ts';

export { EventTimes };
/** A ledger for callers without their own (each collector's receiver has its own, which also asks InfluxDB). */
export const eventTimes = new EventTimes();

export interface Identity {
  host: string;
  agency: string;
  site: string;
}

export function identityOf(a: AgentRecord): Identity {
  return { host: a.name, agency: a.agency, site: a.site };
}

/** Field names the event itself uses; evidence with the same name is prefixed. */
const EVENT_FIELDS = new Set(['event_uid', 'message', 'count']);

/** `uid` (EventTimes) goes first among the fields: the collector reads it back from its spool. */
export function eventToPoint(e: SecurityEvent, time: number, uid?: string): Point {
  const fields: Point['fields'] = { ...(uid ? { event_uid: uid } : {}), message: e.message, count: e.count };
  for (const [k, v] of Object.entries(e.evidence)) fields[EVENT_FIELDS.has(k) ? `evidence_${k}` : k] = v;
  const tags: Record<string, string> = { type: e.type, severity: e.severity, detector: e.detector };
  if (e.mitre) tags.mitre = e.mitre;
  return { name: 'security_event', time, tags, fields, int: ['count'] };
}

export interface Encoded {
  lines: string[];
  /** Points that had nothing writable (e.g. every field NaN). */
  refused: number;
  /** 'ns' when the batch carries events (their times are nanosecond slots, event-times.ts): every line's time is then in ns. Otherwise ms. */
  precision?: 'ns';
}

/** The identity's tags, as every point of that agent carries them. */
export function identityTags(id: Identity): Record<string, string> {
  return { host: id.host, agency: id.agency, site: id.site };
}

/** What encodeBatch reads of a batch: its points in either spelling, and its events. */
export type BatchContent = Pick<Batch, 'points' | 'events'> & Partial<Pick<Batch, 'series' | 'rows'>>;

/**
 * Line protocol for a batch: its `points`, then its `rows`, then its events.
 * `encoder` (one per connection, built from the same identity) reuses each series'
 * encoded tags from one batch to the next; without it every point is encoded from
 * scratch. The lines are the same either way. Events get their stored time from
 * `times` (see EventTimes), by default the process's one ledger, in nanoseconds: a batch
 * with events is written with precision=ns as a whole (its points' milliseconds get six
 * zeros, the same instants), a batch without any stays in milliseconds.
 */
export function encodeBatch(batch: BatchContent, id: Identity, encoder?: PointEncoder, times: EventTimes = eventTimes): Encoded {
  times.beginBatch();
  const tags = identityTags(id);
  const lines: string[] = [];
  let refused = 0;
  for (const p of batch.points) {
    const l = encoder ? encoder.encode(p) : encodePoint(p, tags);
    if (l) lines.push(l);
    else refused++;
  }
  const rows = batch.rows;
  if (rows?.length) {
    const series = batch.series ?? [];
    if (encoder) refused += encoder.encodeRows(series, rows, lines);
    else
      for (const p of rowsToPoints(series, rows)) {
        const l = encodePoint(p, tags);
        if (l) lines.push(l);
        else refused++;
      }
  }
  if (!batch.events.length) return { lines, refused };
  for (let k = 0; k < lines.length; k++) lines[k] += '000000';
  for (const e of batch.events) {
    const { second, time, uid } = times.placeWithUid(id, e);
    const l = encodePoint(eventToPoint(e, second, uid), tags);
    // The point's time is its second in ms; the line carries its slot in ns.
    if (l) lines.push(`${l.slice(0, l.lastIndexOf(' '))} ${time}`);
    else refused++;
  }
  return { lines, refused, precision: 'ns' };
}
