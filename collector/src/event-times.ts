// The stored time of a security event. InfluxDB keys a point by measurement, tags and
// time, so two events of one host, detector, type and severity stored at the same
// millisecond would overwrite each other — and auth_log events carry whole-second
// times, so two attacks in one syslog second, sent in two batches, used to collide.
//
// The stored time is the event's second plus a millisecond chosen from the event's
// content digest (host, detector, type, severity, message, evidence, count, and which
// occurrence of identical content it is within its batch); the digest is stored with the
// point (field `event_uid`). A ledger holds, for each series and millisecond this
// collector knows to be taken, the digest stored there. Before a batch's events are
// placed, every (host, second) the ledger has not seen yet is looked up in InfluxDB
// (prepare): what is already stored there — written before a restart, or by another
// collector — enters the ledger. A millisecond taken by another digest is never chosen;
// the event moves to the next free millisecond of its second. The same event resent (a
// replayed batch, a spool drained after an outage) meets its own digest and keeps its
// time: it is stored once. Lines still waiting in the collector's own spool are learnt at
// start (learnLines), since InfluxDB cannot show them yet.
//
// What is left (docs/delivery.md): while InfluxDB cannot be asked (down), a second is
// judged by the ledger alone, so an event stored before a restart and not in the spool
// (it reached InfluxDB) is invisible until InfluxDB answers again; such placements are
// counted (`unprobed`) and logged. A point stored before event_uid existed counts as
// taken by an unknown event: nothing lands on it, but its own resend is stored again.
import { createHash } from 'node:crypto';
import type { SecurityEvent } from '@canh/protocol';

/** Enough for the events of the last hours of a busy province; ~150 bytes each (~15 MB). */
export const MAX_ENTRIES = 100_000;

/** A millisecond taken by a point whose digest is not known (stored before event_uid). */
const UNKNOWN = -1;

/** Content digest of an event, as a number in [0, 2^48). */
export function eventDigest(host: string, e: SecurityEvent, occurrence: number): number {
  const evidence = Object.keys(e.evidence)
    .sort()
    .map((k) => [k, e.evidence[k]]);
  const text = JSON.stringify([host, e.detector, e.type, e.severity, e.mitre ?? '', e.message, e.count, evidence, occurrence]);
  return createHash('sha256').update(text).digest().readUIntBE(0, 6);
}

/** The digest as stored in the point's `event_uid` field: 12 hex digits. */
export const uidText = (digest: number): string => digest.toString(16).padStart(12, '0');

const seriesKey = (host: string, detector: string, type: string, severity: string, mitre: string) =>
  `${host}\u0000${detector}\u0000${type}\u0000${severity}\u0000${mitre}`;

/** Runs an InfluxQL query against the events' database; answers InfluxDB's JSON. */
export type Probe = (q: string) => Promise<unknown>;

export interface Placed {
  time: number;
  /** event_uid to store with the point. */
  uid: string;
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class EventTimes {
  /** `series@time` → digest of the event stored there. Insertion order = age. */
  private readonly used = new Map<string, number>();
  /** `host@second` already looked up in InfluxDB (or learnt from this process's own writes). */
  private readonly probed = new Map<string, true>();
  private readonly max: number;
  private readonly probe: Probe | undefined;
  private readonly onProbeError: ((err: Error) => void) | undefined;
  /** The measurement as the probe names it (with its retention policy, when writes name one). */
  private readonly from: string;
  /** Identical contents seen in the current batch (their occurrence number). */
  private readonly seen = new Map<string, number>();
  /** Lookups in InfluxDB, and seconds placed without one because it did not answer. */
  readonly stats = { probes: 0, probeFailures: 0, unprobed: 0 };

  constructor(opts: { max?: number; probe?: Probe; onProbeError?: (err: Error) => void; retentionPolicy?: string } | number = {}) {
    const o = typeof opts === 'number' ? { max: opts } : opts;
    this.from = o.retentionPolicy ? `"${o.retentionPolicy.replace(/"/g, '\\"')}"."security_event"` : '"security_event"';
    this.max = o.max ?? MAX_ENTRIES;
    this.probe = o.probe;
    this.onProbeError = o.onProbeError;
  }

  get size(): number {
    return this.used.size;
  }

  /**
   * Look up in InfluxDB what is already stored in the seconds of these events that the
   * ledger does not know yet. Never rejects: when InfluxDB does not answer, the ledger
   * alone decides (counted in stats.unprobed).
   */
  async prepare(id: { host: string; agency?: string; site?: string }, events: readonly SecurityEvent[]): Promise<void> {
    if (!this.probe || !events.length) return;
    const seconds = [...new Set(events.map((e) => secondOf(e.time)))].filter((s) => !this.probed.has(`${id.host}@${s}`)).sort((a, b) => a - b);
    if (!seconds.length) return;
    // Neighbouring seconds in one range (a backlog spans many); ranges far apart.
    const ranges: [number, number][] = [];
    for (const s of seconds) {
      const last = ranges.at(-1);
      if (last && s - last[1] <= 60_000) last[1] = s;
      else ranges.push([s, s]);
    }
    const where = [`"host" = ${quote(id.host)}`];
    if (id.agency !== undefined) where.push(`"agency" = ${quote(id.agency)}`);
    if (id.site !== undefined) where.push(`"site" = ${quote(id.site)}`);
    try {
      for (const [from, to] of ranges) {
        this.stats.probes++;
        const q = `SELECT "event_uid", "message", "detector", "type", "severity", "mitre" FROM ${this.from} WHERE ${where.join(' AND ')} AND time >= ${from}ms AND time < ${to + 1000}ms`;
        for (const r of rowsOf(await this.probe(q))) {
          const key = `${seriesKey(id.host, str(r.detector), str(r.type), str(r.severity), str(r.mitre))}@${Number(r.time)}`;
          const uid = typeof r.event_uid === 'string' && /^[0-9a-f]{12}$/.test(r.event_uid) ? Number.parseInt(r.event_uid, 16) : UNKNOWN;
          if (!this.used.has(key)) this.remember(key, uid);
        }
      }
      for (const s of seconds) this.markProbed(`${id.host}@${s}`);
    } catch (err) {
      this.stats.probeFailures++;
      this.stats.unprobed += seconds.length;
      this.onProbeError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Occurrence numbers count within one batch: call before each batch's events. */
  beginBatch(): void {
    if (this.seen.size) this.seen.clear();
  }

  /** The time to store `e` at, for the agent named by `id.host`, and its event_uid. */
  placeWithUid(id: { host: string }, e: SecurityEvent): Placed {
    const base = secondOf(e.time);
    const series = seriesKey(id.host, e.detector, e.type, e.severity, e.mitre ?? '');
    const first = eventDigest(id.host, e, 0);
    const ckey = `${series}\u0000${first}@${e.time}`;
    const occurrence = this.seen.get(ckey) ?? 0;
    this.seen.set(ckey, occurrence + 1);
    const digest = occurrence === 0 ? first : eventDigest(id.host, e, occurrence);
    const uid = uidText(digest);
    let ms = digest % 1000;
    for (let i = 0; i < 1000; i++) {
      const key = `${series}@${base + ms}`;
      const owner = this.used.get(key);
      if (owner === undefined || owner === digest) {
        if (owner === undefined) this.remember(key, digest);
        return { time: base + ms, uid };
      }
      ms = (ms + 1) % 1000;
    }
    // A thousand distinct events of one series in one second: nothing left to choose.
    return { time: base + (digest % 1000), uid };
  }

  /** placeWithUid's time alone. */
  place(id: { host: string }, e: SecurityEvent): number {
    return this.placeWithUid(id, e).time;
  }

  /**
   * Learn the security events in line protocol not yet in InfluxDB (the collector's
   * spool after a restart): their milliseconds are taken. Returns how many were learnt.
   */
  learnLines(text: string): number {
    let n = 0;
    for (const line of text.split('\n')) {
      const p = parseEventLine(line);
      if (!p) continue;
      const key = `${seriesKey(p.host, p.detector, p.type, p.severity, p.mitre)}@${p.time}`;
      const owner = this.used.get(key);
      if (owner === undefined || owner === UNKNOWN) this.remember(key, p.uid);
      n++;
    }
    return n;
  }

  private markProbed(key: string): void {
    this.probed.set(key, true);
    if (this.probed.size > this.max) this.probed.delete(this.probed.keys().next().value!);
  }

  private remember(key: string, digest: number): void {
    this.used.set(key, digest);
    if (this.used.size > this.max) {
      const oldest = this.used.keys().next().value!;
      this.used.delete(oldest);
      // Its second is no longer fully known here: look it up again next time.
      const [series, time] = [oldest.slice(0, oldest.lastIndexOf('@')), Number(oldest.slice(oldest.lastIndexOf('@') + 1))];
      this.probed.delete(`${series.slice(0, series.indexOf('\u0000'))}@${secondOf(time)}`);
    }
  }
}

const secondOf = (t: number) => t - (((t % 1000) + 1000) % 1000);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** Row objects of InfluxDB's /query JSON (first statement, every series). */
function rowsOf(answer: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const results = (answer as { results?: { error?: string; series?: { columns: string[]; values: unknown[][] }[] }[] })?.results ?? [];
  for (const res of results) {
    if (res.error) throw new Error(`InfluxDB: ${res.error}`);
    for (const s of res.series ?? []) for (const v of s.values) out.push(Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
  }
  return out;
}

/** Unescape a tag value of line protocol. */
const unescapeTag = (s: string) => s.replace(/\\([ ,=\\])/g, '$1');

/**
 * A security_event line as encodeBatch writes it: its tags, its time and its event_uid
 * (always the first field, so no string field written by an attacker can pose as it).
 */
export function parseEventLine(
  line: string,
): { host: string; detector: string; type: string; severity: string; mitre: string; time: number; uid: number } | undefined {
  if (!line.startsWith('security_event,')) return undefined;
  // The tag set ends at the first space not escaped by a backslash.
  let i = 'security_event,'.length;
  for (; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === ' ') break;
  }
  const tags: Record<string, string> = {};
  for (const pair of line.slice('security_event,'.length, i).split(/(?<!\\),/)) {
    const eq = pair.search(/(?<!\\)=/);
    if (eq > 0) tags[unescapeTag(pair.slice(0, eq))] = unescapeTag(pair.slice(eq + 1));
  }
  const m = /^event_uid="([0-9a-f]{12})"/.exec(line.slice(i + 1));
  const time = Number(line.slice(line.lastIndexOf(' ') + 1));
  if (!m || !Number.isSafeInteger(time) || !tags.host) return undefined;
  return {
    host: tags.host,
    detector: tags.detector ?? '',
    type: tags.type ?? '',
    severity: tags.severity ?? '',
    mitre: tags.mitre ?? '',
    time,
    uid: Number.parseInt(m[1]!, 16),
  };
}
