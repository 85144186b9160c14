// Event rules: security events by type and minimum severity. An episode fires on the
// first matching event (or once `min_count` occurrences arrive within `within`),
// gathers later ones, and resolves after `resolve_after` without a new one. With
// `distinct_hosts`, one value of an evidence key (a source IP) seen on that many
// distinct hosts of the province within `within` fires one province-wide alert.
//
// Events are not states: every new distinct event (by its identifying evidence: source
// address, account, file, process, device...) joins the open episode as news, and the
// dispatcher owes a mail for it. An event that arrives later than max_sample_age after it
// happened (an agent's backlog) is still evaluated: counted in `within` by when it
// happened, but it keeps the episode open from when it was seen, and mails say so.
import type { SecurityEvent } from '@canh/protocol';
import type { Identity } from '../../identity.ts';
import type { AlertTracker } from '../tracker.ts';
import { alertLabels, fingerprint, severityRank, type EventRule } from '../rules.ts';
import type { AlertEvent } from '../types.ts';

/** Bound on remembered correlation values per rule (a wide scan must not eat the heap). */
const MAX_TRACKED = 50_000;
const MAX_DETAIL_KEYS = 8;

interface Sighting {
  at: number;
  agency: string;
}

/**
 * An occurrence counted in a min_count window: when it happened and how many; live and
 * read-back events also carry which stored event they are (storedEventId, so one resent or
 * read back after an agent's move counts once) and the event itself (a window completed by
 * events read back fires with its newest). A window holds fewer than min_count occurrences.
 */
interface Counted {
  at: number;
  n: number;
  id?: string;
  e?: SecurityEvent;
}

/** The stored point an event is (its second and event_uid: event-times.ts), as windows name it. */
export function storedEventId(time: number, uid: string): string {
  return `${time - (((time % 1000) + 1000) % 1000)}/${uid}`;
}

/**
 * Evidence that makes an event a different one: where it came from, whom or what it
 * touched. Counters, hashes and times do not (a brute force that goes on from the same
 * address is the same attack, not a new one).
 */
export const DISTINCT_KEYS = ['src_ip', 'user', 'path', 'exe', 'process', 'port', 'ip', 'mac', 'group', 'web_root', 'computer', 'detail'] as const;

export function eventKey(e: SecurityEvent): string {
  const parts: unknown[] = [e.type];
  let found = false;
  for (const k of DISTINCT_KEYS) {
    const v = e.evidence[k];
    if (v === undefined || v === '') continue;
    parts.push(k, String(v).slice(0, 300));
    found = true;
  }
  if (!found) parts.push(e.message.slice(0, 300));
  return JSON.stringify(parts);
}

function alertEvent(e: SecurityEvent, severity: AlertEvent['severity'], now: number, late: boolean): Omit<AlertEvent, 'news'> {
  const evidence: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.evidence).slice(0, MAX_DETAIL_KEYS)) evidence[k] = String(v).slice(0, 300);
  return {
    key: eventKey(e),
    at: Math.min(e.time, now),
    seenAt: now,
    severity,
    message: e.message.slice(0, 500),
    evidence,
    late,
    type: e.type,
    ...(e.count !== undefined ? { count: e.count } : {}),
    ...(e.mitre ? { mitre: e.mitre } : {}),
  };
}

export class EventEvaluator {
  private readonly byType = new Map<string, EventRule[]>();
  private readonly rules: EventRule[];
  private readonly windows = new Map<string, Counted[]>();
  private readonly sightings = new Map<string, Map<string, Map<string, Sighting>>>();
  private readonly tracker: AlertTracker;
  private readonly maxSampleAge: number;
  /** Events seen later than max_sample_age after they happened (still evaluated), by host. */
  onLate: ((host: string, n: number) => void) | undefined;

  /** `from`: a config reload; the counting windows and sightings of kept rules carry over. */
  constructor(rules: EventRule[], tracker: AlertTracker, opts: { maxSampleAge: number }, from?: { from: EventEvaluator; keep: (rule: string) => boolean }) {
    this.rules = rules;
    this.tracker = tracker;
    this.maxSampleAge = opts.maxSampleAge;
    for (const r of rules) {
      for (const t of r.event_types) {
        const list = this.byType.get(t) ?? [];
        list.push(r);
        this.byType.set(t, list);
      }
      if (r.distinct_hosts) this.sightings.set(r.name, new Map());
    }
    if (from) {
      const names = new Set(rules.filter((r) => from.keep(r.name)).map((r) => r.name));
      for (const [k, w] of from.from.windows) if (names.has((JSON.parse(k) as { rule?: string }).rule ?? '')) this.windows.set(k, w);
      for (const [name, byValue] of from.from.sightings) if (names.has(name) && this.sightings.has(name)) this.sightings.set(name, byValue);
    }
  }

  /** Whether a rule here counts occurrences (min_count over `within`) of one host. */
  get counting(): boolean {
    return this.rules.some((r) => r.min_count > 1 && !r.distinct_hosts);
  }

  /** Whether a rule here takes events of this type (what a collector forwards to the leader). */
  watchesType(type: string): boolean {
    return this.byType.has(type);
  }

  /** `ids`: storedEventId of each event, where known (a resent one then counts once). */
  onEvents(id: Identity, events: readonly SecurityEvent[], now: number, ids?: readonly (string | undefined)[]): void {
    for (const [i, e] of events.entries()) {
      const rules = this.byType.get(e.type);
      if (!rules) continue;
      const late = now - e.time > this.maxSampleAge;
      if (late) this.onLate?.(id.host, 1);
      for (const r of rules) {
        if (severityRank(e.severity) < severityRank(r.min_severity)) continue;
        if (r.distinct_hosts) this.correlate(r, id, e, now, late);
        else this.single(r, id, e, now, late, ids?.[i]);
      }
    }
  }

  /**
   * Fill the counting windows and sightings from events a previous leader already
   * evaluated (state/cluster.ts), without touching episodes: what they did to episodes
   * is in the shared state already, and must not be news twice.
   */
  warm(id: Identity, events: readonly SecurityEvent[], now: number): void {
    for (const e of events) {
      for (const r of this.byType.get(e.type) ?? []) {
        if (severityRank(e.severity) < severityRank(r.min_severity)) continue;
        const at = Math.min(e.time, now);
        if (r.distinct_hosts) {
          const raw = e.evidence[r.correlate_by];
          if (raw === undefined || raw === '') continue;
          const byValue = this.sightings.get(r.name)!;
          let hosts = byValue.get(String(raw));
          if (!hosts) {
            if (byValue.size >= MAX_TRACKED) byValue.delete(byValue.keys().next().value!);
            byValue.set(String(raw), (hosts = new Map()));
          }
          hosts.set(id.host, { at, agency: id.agency });
        } else if (r.min_count > 1) {
          const labels = this.labelsOf(r, id, e);
          if (this.tracker.get(labels)) continue;
          const key = JSON.stringify(labels);
          const w = (this.windows.get(key) ?? []).filter((x) => x.at > at - r.within);
          w.push({ at, n: e.count });
          this.windows.set(key, w);
        }
      }
    }
  }

  private labelsOf(r: EventRule, id: Identity, e: SecurityEvent): Record<string, string> {
    const ident: Record<string, string> = { host: id.host, agency: id.agency, site: id.site, type: e.type, detector: e.detector };
    return alertLabels(r.name, id.agency, r.group_by, (n) => ident[n] ?? (e.evidence[n] === undefined ? undefined : String(e.evidence[n])));
  }

  private single(r: EventRule, id: Identity, e: SecurityEvent, now: number, late: boolean, stored?: string): void {
    const labels = this.labelsOf(r, id, e);
    const open = this.tracker.get(labels);
    const happened = Math.min(e.time, now);
    if (!open && r.min_count > 1) {
      // Counted by when the events happened, so a backlog is not one burst.
      const key = JSON.stringify(labels);
      const w = (this.windows.get(key) ?? []).filter((x) => x.at > happened - r.within && x.at < happened + r.within);
      // Counted already: a batch resent, or the event read back from InfluxDB after a move.
      if (stored !== undefined && w.some((x) => x.id === stored)) return;
      w.push({ at: happened, n: e.count, e, ...(stored !== undefined ? { id: stored } : {}) });
      this.windows.set(key, w);
      if (w.filter((x) => x.at > happened - r.within).reduce((s, x) => s + x.n, 0) < r.min_count) return;
      this.windows.delete(key);
    }
    this.open(r, id, labels, e, now, late, happened);
  }

  /** The event joins (or opens) its episode. */
  private open(r: EventRule, id: Identity, labels: Record<string, string>, e: SecurityEvent, now: number, late: boolean, happened: number): void {
    const severity = r.severity ?? e.severity;
    this.tracker.observe({
      rule: r.name,
      labels,
      // A late event keeps the episode open from when it was seen, or it would resolve
      // as "quiet" before anyone was told.
      at: late ? now : happened,
      holds: true,
      severity,
      value: e.count,
      accumulate: true,
      summary: e.message,
      details: { message: e.message, type: e.type, ...(e.mitre ? { mitre: e.mitre } : {}) },
      event: alertEvent(e, severity, now, late),
    });
  }

  private correlate(r: EventRule, id: Identity, e: SecurityEvent, now: number, late: boolean): void {
    const at = late ? now : Math.min(e.time, now);
    const raw = e.evidence[r.correlate_by];
    if (raw === undefined || raw === '') return;
    const value = String(raw);
    const byValue = this.sightings.get(r.name)!;
    let hosts = byValue.get(value);
    if (!hosts) {
      if (byValue.size >= MAX_TRACKED) byValue.delete(byValue.keys().next().value!);
      byValue.set(value, (hosts = new Map()));
    }
    hosts.set(id.host, { at, agency: id.agency });
    for (const [h, s] of hosts) if (s.at <= at - r.within) hosts.delete(h);
    const labels: Record<string, string> = { rule: r.name, [r.correlate_by]: value };
    if (hosts.size < r.distinct_hosts! && !this.tracker.get(labels)) return;
    const list = [...hosts].map(([h, s]) => `${h} (${s.agency})`).sort();
    const agencies = new Set([...hosts.values()].map((s) => s.agency));
    this.tracker.observe({
      rule: r.name,
      labels,
      at,
      holds: true,
      severity: r.severity ?? e.severity,
      value: hosts.size,
      summary: `${value} seen on ${hosts.size} hosts: ${list.join(', ')}`,
      details: { hosts: list.join(', '), agencies: [...agencies].sort().join(', '), [r.correlate_by]: value, message: e.message, type: e.type },
      // A host newly seen attacked by this value is news for the campaign.
      event: {
        ...alertEvent(e, r.severity ?? e.severity, now, late),
        key: JSON.stringify(['host', id.host]),
        evidence: { host: id.host, agency: id.agency, ...alertEvent(e, 'info', now, late).evidence },
      },
    });
  }

  /**
   * Events of a host read back from InfluxDB (stored while its agent was on another
   * collector, state/host-rules.ts): an open episode's last-seen time comes up to date
   * (its row may be older: refreshes are written at most every minute), and the min_count
   * windows fill with what came after that label set's last transition (`spentUntil`: what
   * fired or was gathered by an episode is spent), each stored event once. A window they
   * complete fires with its newest event. Returns the occurrences counted.
   */
  seed(id: Identity, events: readonly { e: SecurityEvent; id: string }[], spentUntil: (fp: string) => number, now: number): number {
    let counted = 0;
    const touched = new Map<string, EventRule>();
    for (const { e, id: stored } of events) {
      for (const r of this.byType.get(e.type) ?? []) {
        if (r.distinct_hosts || severityRank(e.severity) < severityRank(r.min_severity)) continue;
        const labels = this.labelsOf(r, id, e);
        const at = Math.min(e.time, now);
        const open = this.tracker.get(labels);
        if (open) this.tracker.touch(open, at);
        if (open || r.min_count <= 1 || at <= spentUntil(fingerprint(labels)) || at <= now - r.within) continue;
        const key = JSON.stringify(labels);
        const w = this.windows.get(key) ?? [];
        if (w.some((x) => x.id === stored)) continue;
        w.push({ at, n: e.count, id: stored, e });
        this.windows.set(key, w);
        touched.set(key, r);
        counted += e.count;
      }
    }
    for (const [key, r] of touched) {
      const w = this.windows.get(key)!.sort((a, b) => a.at - b.at);
      const last = w[w.length - 1]!;
      if (!last.e || w.filter((x) => x.at > last.at - r.within).reduce((s, x) => s + x.n, 0) < r.min_count) continue;
      this.windows.delete(key);
      this.open(r, id, JSON.parse(key) as Record<string, string>, last.e, now, false, last.at);
    }
    return counted;
  }

  /**
   * Hosts that left for good (revoked): their min_count windows and their sightings under
   * `distinct_hosts` rules go at once (what they contributed to a campaign no longer counts
   * towards a new one). Returns how many entries went.
   */
  forgetHosts(gone: ReadonlySet<string>): number {
    let n = 0;
    for (const k of this.windowKeysOf(gone)) if (this.windows.delete(k)) n++;
    for (const byValue of this.sightings.values()) {
      for (const [v, hosts] of byValue) {
        for (const h of gone) if (hosts.delete(h)) n++;
        if (!hosts.size) byValue.delete(v);
      }
    }
    return n;
  }

  /** Entries held of a host: its min_count windows and its sightings (what is kept in memory of it). */
  heldOf(host: string): number {
    let n = this.windowKeysOf(new Set([host])).length;
    for (const byValue of this.sightings.values()) for (const hosts of byValue.values()) if (hosts.has(host)) n++;
    return n;
  }

  /** Windows are keyed by their labels (JSON): those labelled with one of these hosts. */
  private windowKeysOf(hosts: ReadonlySet<string>): string[] {
    return [...this.windows.keys()].filter((k) => hosts.has((JSON.parse(k) as Record<string, string>).host ?? ''));
  }

  /** `ready(host)`: false while a host's recent events are still being read back (seed): its episodes do not resolve as quiet yet. */
  tick(now: number, ready?: (host: string | undefined) => boolean): void {
    for (const r of this.rules) {
      for (const a of [...this.tracker.ofRule(r.name)]) {
        if (a.state === 'pending') this.tracker.fire(a, now);
        else if (now - a.lastSampleAt >= r.resolve_after && (!ready || ready(a.labels.host))) this.tracker.resolve(a, now, { resolved_by: 'quiet' });
      }
      const byValue = this.sightings.get(r.name);
      if (byValue) {
        for (const [v, hosts] of byValue) {
          for (const [h, s] of hosts) if (s.at <= now - r.within) hosts.delete(h);
          if (!hosts.size) byValue.delete(v);
        }
      }
    }
    for (const [k, w] of this.windows) if (!w.some((x) => x.at > now - 86_400_000)) this.windows.delete(k);
  }
}
