// Absence rules: an agent offline (from the receiver's connection state and the
// `agent` online field), or a measurement that a host used to send and has not sent
// for longer than `for`. A measurement is expected only once it has been seen; the
// last-seen times and agent states are kept in the store so a restart forgets neither.
import type { Point } from '@canh/protocol';
import type { Identity } from '../../identity.ts';
import type { AlertTracker } from '../tracker.ts';
import type { AbsenceMemory, SeriesSeen } from '../store.ts';
import type { AgentLiveness } from '../types.ts';
import { alertLabels, fingerprint, numeric, type AbsenceRule } from '../rules.ts';
import { pointTags } from './threshold.ts';

const PERSIST_EVERY_MS = 30_000;

/** Each of `rules` that point `p` matches, with the labels and key of the series it feeds (here and in state/host-silence.ts). */
export function eachAbsenceSeries(
  rules: readonly AbsenceRule[],
  p: Point,
  id: Identity,
  fn: (r: AbsenceRule, labels: Record<string, string>, key: string) => void,
): void {
  const tags = pointTags(p, id);
  for (const r of rules) {
    if (!Object.entries(r.where).every(([k, v]) => tags[k] === v)) continue;
    const labels = alertLabels(r.name, id.agency, r.group_by, (n) => tags[n]);
    fn(r, labels, fingerprint(labels));
  }
}

/** A series silent for longer than its rule's `for` is seen to hold the rule (here and in state/host-silence.ts). */
export function observeSilence(tracker: AlertTracker, r: AbsenceRule, s: { labels: Record<string, string>; lastSeen: number }, now: number): void {
  const silent = now - s.lastSeen;
  if (silent <= r.for) return;
  tracker.observe({
    rule: r.name,
    labels: s.labels,
    at: now,
    holds: true,
    activeAt: s.lastSeen,
    severity: r.severity,
    value: Math.round(silent / 1000),
    summary: `no ${r.measurement} data for ${Math.round(silent / 1000)} s`,
  });
}

export class AbsenceEvaluator {
  private readonly agentRules: AbsenceRule[];
  private readonly seriesRules = new Map<string, AbsenceRule[]>();
  private readonly rulesByName = new Map<string, AbsenceRule>();
  private readonly liveness = new Map<string, AgentLiveness>();
  private readonly series = new Map<string, SeriesSeen & { rule: string }>();
  private readonly dirty = new Set<string>();
  private lastPersist = 0;
  private readonly tracker: AlertTracker;
  private readonly store: AbsenceMemory;

  /**
   * `from`: a config reload. Agents' liveness carries over as it is (they are still
   * connected), and the last-seen times of series whose rule is kept; instead of reading
   * the store, where an agent that was online counts as offline since a restart.
   */
  constructor(
    rules: AbsenceRule[],
    tracker: AlertTracker,
    store: AbsenceMemory,
    now: number,
    from?: { from: AbsenceEvaluator; keep: (rule: string) => boolean },
    opts: { keepLiveness?: boolean } = {},
  ) {
    this.tracker = tracker;
    this.store = store;
    this.agentRules = rules.filter((r) => r.measurement === 'agent');
    for (const r of rules) {
      this.rulesByName.set(r.name, r);
      if (r.measurement === 'agent') continue;
      const list = this.seriesRules.get(r.measurement) ?? [];
      list.push(r);
      this.seriesRules.set(r.measurement, list);
    }
    if (from) {
      this.adopt(from.from, from.keep, now);
      return;
    }
    for (const s of store.series()) if (this.rulesByName.has(s.labels.rule ?? '')) this.series.set(s.key, { ...s, rule: s.labels.rule! });
    // Agents that were connected when the collector stopped must connect again; until
    // they do, they count as offline since now (their `for` runs from the restart). A new
    // leader of several collectors keeps what the store says: the agents are connected to
    // the others still, and those of a collector that is gone are found by their sessions.
    for (const a of store.agents()) {
      if (a.online && !opts.keepLiveness) this.setAgent({ host: a.host, agency: a.agency, site: a.site }, false, now);
      else this.liveness.set(a.host, a);
    }
  }

  private adopt(prev: AbsenceEvaluator, keep: (rule: string) => boolean, now: number): void {
    for (const [h, a] of prev.liveness) this.liveness.set(h, a);
    const dropped: string[] = [];
    for (const [k, s] of prev.series) {
      if (this.rulesByName.has(s.rule) && keep(s.rule)) {
        this.series.set(k, s);
        if (prev.dirty.has(k)) this.dirty.add(k);
      } else dropped.push(k);
    }
    if (dropped.length) this.store.deleteSeries(dropped);
    this.lastPersist = prev.lastPersist;
    // A new agent rule judges the agents that are offline now, from when they went offline.
    for (const r of this.agentRules) {
      if (keep(r.name)) continue;
      for (const a of this.liveness.values()) {
        if (a.online) continue;
        const tags: Record<string, string> = { host: a.host, agency: a.agency, site: a.site };
        this.tracker.observe({
          rule: r.name,
          labels: alertLabels(r.name, a.agency, r.group_by, (n) => tags[n]),
          at: now,
          activeAt: a.since,
          holds: true,
          forMs: r.for,
          severity: r.severity,
          value: 0,
          summary: `agent ${a.host} offline`,
        });
      }
    }
  }

  /** Unknown hosts count as online: absence of their data is judged by the series rules. */
  isOnline(host: string): boolean {
    return this.liveness.get(host)?.online ?? true;
  }

  onAgentState(id: Identity, online: boolean, at: number): void {
    const prev = this.liveness.get(id.host);
    if (prev && prev.online === online && prev.since <= at) return;
    this.setAgent(id, online, at);
    if (online) {
      // Back online: its measurements get a fresh `for` before they count as silent.
      for (const [k, s] of this.series) {
        if (s.labels.host === id.host && s.lastSeen < at) {
          s.lastSeen = at;
          this.dirty.add(k);
        }
      }
    }
  }

  private setAgent(id: Identity, online: boolean, at: number): void {
    const a: AgentLiveness = { host: id.host, agency: id.agency, site: id.site, online, since: at };
    this.liveness.set(id.host, a);
    this.store.saveAgent(a);
    const tags: Record<string, string> = { host: id.host, agency: id.agency, site: id.site };
    for (const r of this.agentRules) {
      this.tracker.observe({
        rule: r.name,
        labels: alertLabels(r.name, id.agency, r.group_by, (n) => tags[n]),
        at,
        holds: !online,
        forMs: r.for,
        severity: r.severity,
        value: 0,
        summary: `agent ${id.host} offline`,
      });
    }
  }

  /** Whether any rule looks at points of this measurement. */
  watches(measurement: string): boolean {
    return (measurement === 'agent' && this.agentRules.length > 0) || this.seriesRules.has(measurement);
  }

  /** Whether this point can change anything here: an `agent` point saying online or not,
   *  or a point of a series some rule watches (the agent's own `agent` points, spool
   *  figures without `online`, change nothing). */
  wants(p: Point, id: Identity): boolean {
    if (p.name === 'agent' && this.agentRules.length && p.fields.online !== undefined) return true;
    const rules = this.seriesRules.get(p.name);
    if (!rules) return false;
    const tags = pointTags(p, id);
    return rules.some((r) => Object.entries(r.where).every(([k, v]) => tags[k] === v));
  }

  /** An agent whose last session was on a collector that is gone (state/cluster.ts): offline
   *  from `at`, unless it came online again since. */
  agentGone(id: Identity, at: number): boolean {
    const prev = this.liveness.get(id.host);
    if (!prev?.online || prev.since >= at) return false;
    this.setAgent(id, false, at);
    return true;
  }

  onPoints(id: Identity, points: readonly Point[], now: number): void {
    for (const p of points) {
      if (p.name === 'agent' && this.agentRules.length) {
        const online = numeric(p.fields.online);
        if (online !== undefined && now - p.time < 60_000) this.onAgentState(id, online === 1, Math.min(p.time, now));
      }
      const rules = this.seriesRules.get(p.name);
      if (!rules) continue;
      eachAbsenceSeries(rules, p, id, (r, labels, key) => {
        const s = this.series.get(key);
        // Silence is judged by arrival on the collector's clock, never by the sample's own
        // time: an agent whose clock stepped back (or a backlog replayed late) is sending.
        const seen = now;
        if (!s) this.series.set(key, { key, labels, lastSeen: seen, rule: r.name });
        else if (seen > s.lastSeen) s.lastSeen = seen;
        this.dirty.add(key);
        // Data arrived again: judged by arrival, not by the (possibly replayed) sample time.
        if (this.tracker.get(labels)) this.tracker.observe({ rule: r.name, labels, at: now, holds: false });
      });
    }
  }

  tick(now: number): void {
    for (const r of this.agentRules) {
      for (const a of [...this.tracker.ofRule(r.name)]) {
        if (a.state === 'pending' && now - a.activeAt >= r.for) this.tracker.fire(a, now);
        if (a.state === 'firing') a.value = Math.round((now - a.activeAt) / 1000);
      }
    }
    for (const s of this.series.values()) {
      const r = this.rulesByName.get(s.rule)!;
      const host = s.labels.host;
      if (host && !this.isOnline(host)) continue;
      observeSilence(this.tracker, r, s, now);
    }
    if (this.dirty.size && now - this.lastPersist >= PERSIST_EVERY_MS) this.persist(now);
  }

  /** The collector's wall clock stepped by `stepMs` (seen against its monotonic clock):
   *  move every remembered time with it, so a step forward does not make every series and
   *  offline agent look silent for that long, and a step back does not hide a silence. */
  shiftTime(stepMs: number): void {
    for (const [k, s] of this.series) {
      s.lastSeen += stepMs;
      this.dirty.add(k);
    }
    for (const a of this.liveness.values()) a.since += stepMs;
  }

  persist(now: number): void {
    const list: SeriesSeen[] = [];
    for (const k of this.dirty) {
      const s = this.series.get(k);
      if (s) list.push({ key: s.key, labels: s.labels, lastSeen: s.lastSeen });
    }
    this.store.saveSeries(list);
    this.dirty.clear();
    this.lastPersist = now;
  }

  /** Revoked agents: nothing more expected of them (memory only: the engine removes their
   *  rows from the store, AbsenceMemory.forgetHosts, and resolves what they caused). */
  forgetHosts(hosts: ReadonlySet<string>): number {
    let n = 0;
    for (const h of hosts) if (this.liveness.delete(h)) n++;
    for (const [k, s] of [...this.series]) {
      if (!hosts.has(s.labels.host ?? '')) continue;
      this.series.delete(k);
      this.dirty.delete(k);
      n++;
    }
    return n;
  }

  /** Series and liveness held of a host (what is kept in memory of it). */
  heldOf(host: string): number {
    let n = this.liveness.has(host) ? 1 : 0;
    for (const s of this.series.values()) if (s.labels.host === host) n++;
    return n;
  }

  hosts(): string[] {
    return [...new Set([...this.liveness.keys(), ...[...this.series.values()].map((s) => s.labels.host ?? '')])].filter(Boolean);
  }
}
