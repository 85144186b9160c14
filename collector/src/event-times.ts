// The stored time of a security event. InfluxDB keys a point by measurement, tags and
// time, so two events of one host, detector, type and severity stored at the same instant
// would overwrite each other — and auth_log events carry whole-second times, so two
// attacks in one syslog second, sent in two batches, used to collide.
//
// The stored time is the event's second plus an offset in nanoseconds drawn from the
// event's content digest (host, detector, type, severity, message, evidence, count, and
// which occurrence of identical content it is within its batch): one of 10^9 slots of
// that second. The digest is stored with the point (field `event_uid`). Two distinct
// events of one series and second share a slot with probability 10^-9, whoever places
// them and whatever either collector knows — after a restart with InfluxDB down, or on
// two collectors at once during a failover; the same event resent (a replayed batch, a
// spool drained after an outage, another collector) lands on its own point: stored once.
// So event lines are written with precision=ns: a batch that carries events is written
// in nanoseconds as a whole (its metric lines' milliseconds get six zeros); batches
// without events, nearly all of them, stay in milliseconds as they always were.
//
// For that residue, a ledger holds, for each series and slot this collector knows to be
// taken, the digest stored there. Before a batch's events are placed, every (host,
// second) the ledger has not seen yet is looked up in InfluxDB (prepare): what is stored
// there — written before a restart, or by another collector — enters the ledger. A slot
// taken by another digest is never chosen; the event moves to the next free nanosecond of
// its second. Lines still waiting in the collector's own spool are learnt at start
// (learnLines), since InfluxDB cannot show them yet.
//
// What is left (docs/delivery.md): a pair of distinct events of one series and second
// that share a slot (10^-9 per pair) while the ledger and InfluxDB both cannot tell (a
// restart with InfluxDB down: counted `unprobed` and logged; two collectors at once);
// an event moved off its slot by such a collision is moved again only where the ledger
// knows; two distinct events with one 48-bit digest (2^-48 per pair) are taken for a
// resend. A point stored before event_uid existed counts as taken by an unknown event:
// nothing lands on it, but its own resend is stored again beside it.
import { createHash } from 'node:crypto';
import type { SecurityEvent } from '@canh/protocol';

/** Enough for the events of the last hours of a busy province; ~150 bytes each (~15 MB). */
export const MAX_ENTRIES = 100_000;

/** Slots of one second: an event's offset in it is in nanoseconds. */
export const SLOTS_PER_SECOND = 1_000_000_000;

/** A slot taken by a point whose digest is not known (stored before event_uid). */
const UNKNOWN = -1;

/** Content digest of an event, as a number in [0, 2^48). */
export function eventDigest(host: string, e: SecurityEvent, occurrence: number): number {
  const evidence = Object.keys(e.evidence)
    .sort()
    .map((k) => [k, e.evidence[k]]);
  const text = JSON.stringify([host, e.detector, e.type, e.severity, e.mitre ?? '', e.message, e.count, evidence, occurrence]);
  return createHash('sha256').update(text).digest().readUIntBE(0, 6);
}

/**
 * The event_uid each of a batch's events is stored with, numbering identical contents as
 * placeWithUid does. With the event's second it names the stored point: what an alert rule
 * read back from InfluxDB (state/host-rules.ts) and what arrives again (a resent batch) are
 * told apart from new events by it.
 */
export function batchUids(host: string, events: readonly SecurityEvent[]): string[] {
  const seen = new Map<string, number>();
  return events.map((e) => {
    const first = eventDigest(host, e, 0);
    const ckey = `${seriesKey(host, e.detector, e.type, e.severity, e.mitre ?? '')}\u0000${first}@${e.time}`;
    const occurrence = seen.get(ckey) ?? 0;
    seen.set(ckey, occurrence + 1);
    return uidText(occurrence === 0 ? first : eventDigest(host, e, occurrence));
  });
}

/** The slot a digest asks for first: its offset in nanoseconds within the event's second. */
export type SlotOf = (digest: number) => number;
const slotOfDigest: SlotOf = (digest) => digest % SLOTS_PER_SECOND;

/** The digest as stored in the point's `event_uid` field: 12 hex digits. */
export const uidText = (digest: number): string => digest.toString(16).padStart(12, '0');

/** The line protocol time (precision ns) of an offset in nanoseconds within a second given in ms. */
export const nsTime = (second: number, offset: number): string => String(BigInt(second) * 1_000_000n + BigInt(offset));

/** A time in ns (exact) as its second, in ms, and its offset in ns within it. */
function splitNs(ns: bigint): { second: number; offset: number } {
  let s = ns / 1_000_000_000n;
  if (ns < s * 1_000_000_000n) s -= 1n; // floor for times before 1970
  return { second: Number(s) * 1000, offset: Number(ns - s * 1_000_000_000n) };
}

/** An InfluxDB time (ns when asked with epoch=ns; a bigint past 2^53, see InfluxWriter.query) as bigint. */
function nsOf(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  return undefined;
}

const seriesKey = (host: string, detector: string, type: string, severity: string, mitre: string) =>
  `${host}\u0000${detector}\u0000${type}\u0000${severity}\u0000${mitre}`;
const slotKey = (series: string, second: number, offset: number) => `${series}@${second}+${offset}`;

/** Runs an InfluxQL query against the events' database, times in ns (epoch=ns); answers InfluxDB's JSON. */
export type Probe = (q: string) => Promise<unknown>;

export interface Placed {
  /** The event's second, ms since the epoch. */
  second: number;
  /** Its offset within that second, ns. */
  offset: number;
  /** The stored time as line protocol writes it with precision=ns. */
  time: string;
  /** event_uid to store with the point. */
  uid: string;
}

export interface EventTimesOptions {
  max?: number;
  probe?: Probe;
  onProbeError?: (err: Error) => void;
  retentionPolicy?: string;
  /** The slot a digest asks for first (tests force collisions with it); default digest mod 10^9. */
  slot?: SlotOf;
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class EventTimes {
  /** `series@second+offset` → digest of the event stored there. Insertion order = age. */
  private readonly used = new Map<string, number>();
  /** `host@second` already looked up in InfluxDB (or learnt from this process's own writes). */
  private readonly probed = new Map<string, true>();
  private readonly max: number;
  private readonly probe: Probe | undefined;
  private readonly onProbeError: ((err: Error) => void) | undefined;
  private readonly slot: SlotOf;
  /** The measurement as the probe names it (with its retention policy, when writes name one). */
  private readonly from: string;
  /** Identical contents seen in the current batch (their occurrence number). */
  private readonly seen = new Map<string, number>();
  /** Lookups in InfluxDB, and seconds placed without one because it did not answer. */
  readonly stats = { probes: 0, probeFailures: 0, unprobed: 0 };

  constructor(opts: EventTimesOptions | number = {}) {
    const o = typeof opts === 'number' ? { max: opts } : opts;
    this.from = o.retentionPolicy ? `"${o.retentionPolicy.replace(/"/g, '\\"')}"."security_event"` : '"security_event"';
    this.max = o.max ?? MAX_ENTRIES;
    this.probe = o.probe;
    this.onProbeError = o.onProbeError;
    this.slot = o.slot ?? slotOfDigest;
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
          const ns = nsOf(r.time);
          if (ns === undefined) continue;
          const { second, offset } = splitNs(ns);
          const key = slotKey(seriesKey(id.host, str(r.detector), str(r.type), str(r.severity), str(r.mitre)), second, offset);
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
    const second = secondOf(e.time);
    const series = seriesKey(id.host, e.detector, e.type, e.severity, e.mitre ?? '');
    const first = eventDigest(id.host, e, 0);
    const ckey = `${series}\u0000${first}@${e.time}`;
    const occurrence = this.seen.get(ckey) ?? 0;
    this.seen.set(ckey, occurrence + 1);
    const digest = occurrence === 0 ? first : eventDigest(id.host, e, occurrence);
    const uid = uidText(digest);
    const wanted = (((this.slot(digest) % SLOTS_PER_SECOND) + SLOTS_PER_SECOND) % SLOTS_PER_SECOND) | 0;
    // The ledger holds at most `max` slots: past that many steps one is free.
    for (let i = 0, offset = wanted; i <= this.max; i++, offset = (offset + 1) % SLOTS_PER_SECOND) {
      const key = slotKey(series, second, offset);
      const owner = this.used.get(key);
      if (owner === undefined || owner === digest) {
        if (owner === undefined) this.remember(key, digest);
        return { second, offset, time: nsTime(second, offset), uid };
      }
    }
    return { second, offset: wanted, time: nsTime(second, wanted), uid };
  }

  /** placeWithUid's time alone (line protocol, ns). */
  place(id: { host: string }, e: SecurityEvent): string {
    return this.placeWithUid(id, e).time;
  }

  /**
   * Learn the security events in line protocol not yet in InfluxDB (the collector's
   * spool after a restart): their slots are taken. `precision` is the record's (spool
   * records written before events were stored in ns are in ms). Returns how many were learnt.
   */
  learnLines(text: string, precision: 'ms' | 'ns' = 'ns'): number {
    let n = 0;
    for (const line of text.split('\n')) {
      const p = parseEventLine(line, precision);
      if (!p) continue;
      const key = slotKey(seriesKey(p.host, p.detector, p.type, p.severity, p.mitre), p.second, p.offset);
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
      const at = oldest.lastIndexOf('@');
      const second = Number(oldest.slice(at + 1, oldest.indexOf('+', at)));
      this.probed.delete(`${oldest.slice(0, oldest.indexOf('\u0000'))}@${second}`);
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

/** What parseEventLine reads of a security_event line. */
export interface EventLine {
  host: string;
  detector: string;
  type: string;
  severity: string;
  mitre: string;
  /** Its second (ms) and its offset in it (ns). */
  second: number;
  offset: number;
  uid: number;
}

/**
 * A security_event line as encodeBatch writes it: its tags, its time and its event_uid
 * (always the first field, so no string field written by an attacker can pose as it).
 * `precision` is the time's: ns since events are stored at slots of nanoseconds.
 */
export function parseEventLine(line: string, precision: 'ms' | 'ns' = 'ns'): EventLine | undefined {
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
  const t = line.slice(line.lastIndexOf(' ') + 1);
  if (!m || !/^-?\d{1,19}$/.test(t) || !tags.host) return undefined;
  const ns = BigInt(t) * (precision === 'ms' ? 1_000_000n : 1n);
  return {
    host: tags.host,
    detector: tags.detector ?? '',
    type: tags.type ?? '',
    severity: tags.severity ?? '',
    mitre: tags.mitre ?? '',
    ...splitNs(ns),
    uid: Number.parseInt(m[1]!, 16),
  };
}
