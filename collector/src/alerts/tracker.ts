// The life of alert episodes: pending → firing → resolved, written through to the
// store on every transition, and to InfluxDB as the `alert` measurement (Grafana
// annotations). Evaluators say "the condition holds / does not hold" for a label set;
// the tracker applies `for`, holds and flap damping, and remembers resolved episodes
// until the dispatcher has told everyone who was told they fired.
import type { Logger } from 'pino';
import { encodePoint, type Severity } from '@canh/protocol';
import type { AlertEpisodes } from './store.ts';
import { MAX_ALERT_EVENTS, type Alert, type AlertEvent } from './types.ts';
import { fingerprint, maxSeverity } from './rules.ts';
import { countByHost, deleteByHost } from './host-keyed.ts';

/** How often flap history of label sets that stopped changing is swept (sweepFlaps). */
export const FLAP_SWEEP_MS = 60_000;

export interface FlapOptions {
  transitions: number;
  window: number;
  hold: number;
}

export interface Observation {
  rule: string;
  labels: Record<string, string>;
  /** Time of the sample or event (never later than now). */
  at: number;
  holds: boolean;
  /** How long the condition must hold before firing (0: at once). */
  forMs?: number;
  /** How long it must stay clear before resolving (flapping raises it). */
  holdMs?: number;
  /** When the condition began, if earlier than `at` (absence: the last time it was seen). */
  activeAt?: number;
  severity?: Severity;
  value?: number | null;
  summary?: string;
  details?: Record<string, string>;
  /** Events: add to the episode's value rather than replace it. */
  accumulate?: boolean;
  /** Events: the event itself; a new distinct one (by key) is owed a notification. */
  event?: Omit<AlertEvent, 'news'>;
}

export class AlertTracker {
  /** Every episode the engine still cares about, by id. */
  readonly alerts = new Map<number, Alert>();
  private readonly open = new Map<string, Alert>();
  /** Transition times within flap.window, by fingerprint, with the host of the label set
   *  (forgetHost); swept every FLAP_SWEEP_MS, so a label set that stopped changing (its
   *  host gone elsewhere) is held at most flap.window after its last transition. */
  private readonly flaps = new Map<string, { host: string | undefined; times: number[] }>();
  private lastFlapSweep = 0;
  private readonly dirty = new Set<Alert>();
  private readonly store: AlertEpisodes;
  private flap: FlapOptions;
  private readonly log: Logger;
  private readonly writeLines: ((lines: string[]) => Promise<void>) | undefined;
  /** Called after an episode starts firing or resolves. */
  onTransition: ((a: Alert) => void) | undefined;
  /** Called when an open episode gained a new distinct event (not for its first). */
  onEventNews: ((a: Alert, e: AlertEvent) => void) | undefined;
  /** Episodes another collector writes (applyRemote): what was told of their events is
   *  recorded apart (AlertEpisodes.eventsTold), never by rewriting their rows. */
  remote: ((a: Alert) => boolean) | undefined;

  constructor(store: AlertEpisodes, opts: { flap: FlapOptions; log: Logger; writeLines?: (lines: string[]) => Promise<void> }) {
    this.store = store;
    this.flap = opts.flap;
    this.log = opts.log;
    this.writeLines = opts.writeLines;
    for (const a of store.openAlerts()) {
      this.alerts.set(a.id, a);
      if (a.state !== 'resolved') this.open.set(a.fingerprint, a);
    }
  }

  /** New flap options (a config reload); the flap history itself is kept. */
  setFlap(flap: FlapOptions): void {
    this.flap = flap;
  }

  /** Episodes loaded from elsewhere (a host's open alerts, state/host-rules.ts): held, not written. */
  adopt(list: Iterable<Alert>): void {
    for (const a of list) {
      if (this.alerts.has(a.id) || (a.state !== 'resolved' && this.open.has(a.fingerprint))) continue;
      this.alerts.set(a.id, a);
      if (a.state !== 'resolved') this.open.set(a.fingerprint, a);
    }
  }

  /**
   * Transitions of a label set that happened elsewhere (another collector judged the host
   * before its agent moved here; read back from the `alert` measurement): its flap history
   * goes on from them. A time already held counts once.
   */
  seedFlaps(fp: string, times: readonly number[], host?: string): void {
    const f = this.flaps.get(fp) ?? { host, times: [] };
    const t = f.times;
    for (const at of times) if (!t.includes(at)) t.push(at);
    t.sort((a, b) => a - b);
    if (t.length) this.flaps.set(fp, f);
  }

  /** Drop flap history older than flap.window (at most every FLAP_SWEEP_MS; `force`: now). */
  sweepFlaps(now: number, force = false): void {
    if (!force && now - this.lastFlapSweep < FLAP_SWEEP_MS) return;
    this.lastFlapSweep = now;
    for (const fp of [...this.flaps.keys()]) this.isFlapping(fp, now);
  }

  /** Hosts that left for good (revoked): their flap history goes at once. Returns the label sets dropped. */
  forgetHosts(hosts: ReadonlySet<string>): number {
    return deleteByHost(this.flaps, hosts);
  }

  /** Label sets of a host with flap history held (what is kept in memory of it). */
  flapsOf(host: string): number {
    return countByHost(this.flaps, host);
  }

  /** An episode's condition was last seen later than it says (an event read back from InfluxDB). */
  touch(a: Alert, at: number): void {
    if (at <= a.lastSampleAt || a.state === 'resolved') return;
    a.lastSampleAt = at;
    this.dirty.add(a);
  }

  /** Let go of episodes from memory only (another collector or engine owns them now, or a
   *  resolved one was handed on). Their label sets' flap history stays: it is the label
   *  set's, not the episode's (host rules let go of each episode that resolves), and is
   *  swept flap.window after its last transition (sweepFlaps). */
  release(which: (a: Alert) => boolean): number {
    let n = 0;
    for (const a of [...this.alerts.values()]) {
      if (!which(a)) continue;
      this.alerts.delete(a.id);
      if (this.open.get(a.fingerprint) === a) this.open.delete(a.fingerprint);
      this.dirty.delete(a);
      n++;
    }
    return n;
  }

  /**
   * An episode another collector's tracker changed (its row as PostgreSQL now holds it, or
   * undefined: deleted): taken over as it is, nothing written; a new firing or a resolution
   * is a transition here too (the dispatcher mails it). Pending episodes are the owner's.
   */
  applyRemote(id: number, a: Alert | undefined): void {
    const had = this.alerts.get(id);
    if (!a || a.state === 'pending') {
      if (had && had.state !== 'resolved') this.release((x) => x === had);
      return;
    }
    if (had?.state === 'resolved') return;
    if (had) {
      const changed = had.state !== a.state;
      // Events told here stay told: the row may have been read before that was recorded.
      const told = new Set(had.events?.list.filter((e) => !e.news).map((e) => e.key));
      const known = new Set(had.events?.list.map((e) => e.key));
      Object.assign(had, a);
      for (const e of had.events?.list ?? []) {
        if (told.has(e.key)) e.news = false;
        else if (e.news && !known.has(e.key) && !changed && had.state === 'firing') this.onEventNews?.(had, e);
      }
      if (a.state === 'resolved' && this.open.get(had.fingerprint) === had) this.open.delete(had.fingerprint);
      if (changed) this.onTransition?.(had);
      return;
    }
    const other = this.open.get(a.fingerprint);
    if (other && other.id !== id) this.release((x) => x === other);
    this.alerts.set(id, a);
    if (a.state !== 'resolved') this.open.set(a.fingerprint, a);
    this.onTransition?.(a);
  }

  /** The pending or firing episode of a label set. */
  get(labels: Record<string, string>): Alert | undefined {
    return this.open.get(fingerprint(labels));
  }

  /** Open (pending or firing) episodes of one rule. */
  *ofRule(rule: string): Iterable<Alert> {
    for (const a of this.open.values()) if (a.rule === rule) yield a;
  }

  observe(o: Observation): Alert | undefined {
    const fp = fingerprint(o.labels);
    let a = this.open.get(fp);
    if (!o.holds) {
      if (!a || o.at < a.lastSampleAt) return a;
      if (a.state === 'pending') {
        this.drop(a);
        return undefined;
      }
      const hold = Math.max(o.holdMs ?? 0, this.isFlapping(fp, o.at) ? this.flap.hold : 0);
      if (hold === 0) this.resolve(a, o.at);
      else if (a.clearSince === null) {
        a.clearSince = o.at;
        this.dirty.add(a);
      }
      return a;
    }
    if (!a) {
      a = this.store.insertAlert({
        fingerprint: fp,
        rule: o.rule,
        labels: o.labels,
        severity: o.severity ?? 'medium',
        state: 'pending',
        value: o.value ?? null,
        summary: o.summary ?? '',
        activeAt: Math.min(o.activeAt ?? o.at, o.at),
        firedAt: null,
        resolvedAt: null,
        lastSampleAt: o.at,
        clearSince: null,
        details: o.details ?? {},
        ...(o.event ? { events: { list: [{ ...o.event, news: true }], total: 1 } } : {}),
      });
      this.alerts.set(a.id, a);
      this.open.set(fp, a);
    } else {
      if (o.at < a.lastSampleAt && !o.accumulate) return a;
      a.lastSampleAt = Math.max(a.lastSampleAt, o.at);
      a.clearSince = null;
      if (o.value !== undefined) a.value = o.accumulate && a.value !== null && o.value !== null ? a.value + o.value : o.value;
      const was = a.severity;
      if (o.severity) a.severity = o.accumulate ? maxSeverity(a.severity, o.severity) : o.severity;
      // Severity is a tag of the `alert` point: move a firing instance to its new series.
      if (a.state === 'firing' && a.severity !== was) this.reseverity(a, was, o.at);
      if (o.summary !== undefined) a.summary = o.summary;
      if (o.details) a.details = { ...a.details, ...o.details };
      if (o.event) this.addEvent(a, o.event);
      this.dirty.add(a);
    }
    if (a.state === 'pending' && o.at - a.activeAt >= (o.forMs ?? 0)) this.fire(a, o.at);
    return a;
  }

  /** A new distinct event joins the episode's list (bounded, newest kept) and is owed a mail. */
  private addEvent(a: Alert, e: Omit<AlertEvent, 'news'>): void {
    const ev = (a.events ??= { list: [], total: 0 });
    if (ev.list.some((x) => x.key === e.key)) return;
    const added = { ...e, news: true };
    ev.list.push(added);
    ev.total++;
    if (ev.list.length > MAX_ALERT_EVENTS) {
      // Drop the oldest already told; if all are news, the oldest news (the mail says "and N more").
      const i = ev.list.findIndex((x) => !x.news);
      ev.list.splice(i >= 0 ? i : 0, 1);
    }
    if (a.state !== 'pending') this.onEventNews?.(a, added);
  }

  /** The dispatcher notified (or deliberately held back) the episode's new events. */
  eventsTold(a: Alert): void {
    if (!a.events?.list.some((e) => e.news)) return;
    for (const e of a.events.list) e.news = false;
    if (!this.alerts.has(a.id)) return;
    if (this.remote?.(a) && this.store.eventsTold)
      this.store.eventsTold(
        a.id,
        a.events.list.map((e) => e.key),
      );
    else this.store.updateAlert(a);
  }

  /** The wall clock stepped: pending alerts keep the time they have been pending for
   *  (their `for` counts elapsed time, not the clock's jump). */
  shiftPending(stepMs: number): void {
    for (const a of this.alerts.values()) if (a.state === 'pending') a.activeAt += stepMs;
  }

  fire(a: Alert, at: number): void {
    if (a.state !== 'pending') return;
    a.state = 'firing';
    a.firedAt = at;
    a.clearSince = null;
    this.transition(a, at);
  }

  resolve(a: Alert, at: number, details?: Record<string, string>): void {
    if (a.state === 'resolved') return;
    if (a.state === 'pending') {
      this.drop(a);
      return;
    }
    a.state = 'resolved';
    a.resolvedAt = Math.max(at, a.firedAt ?? at);
    if (details) a.details = { ...a.details, ...details };
    this.open.delete(a.fingerprint);
    this.transition(a, a.resolvedAt);
  }

  /** Resolve a firing episode whose condition has stayed clear for its hold (or the flap hold). */
  settle(a: Alert, now: number, holdMs: number): void {
    if (a.state !== 'firing' || a.clearSince === null) return;
    const hold = Math.max(holdMs, this.isFlapping(a.fingerprint, a.clearSince) ? this.flap.hold : 0);
    if (now - a.clearSince >= hold) this.resolve(a, a.clearSince);
  }

  /** A pending episode whose condition cleared before `for`: nobody hears of it. */
  drop(a: Alert): void {
    this.open.delete(a.fingerprint);
    this.alerts.delete(a.id);
    this.dirty.delete(a);
    this.store.deleteAlert(a.id);
  }

  /** The dispatcher is done with a resolved episode. */
  forget(a: Alert): void {
    if (a.state !== 'resolved') return;
    this.alerts.delete(a.id);
    this.dirty.delete(a);
    this.store.deleteAlert(a.id);
  }

  isFlapping(fp: string, now: number): boolean {
    const t = this.flaps.get(fp)?.times;
    if (!t) return false;
    while (t.length && t[0]! < now - this.flap.window) t.shift();
    if (!t.length) this.flaps.delete(fp);
    return t.length >= this.flap.transitions;
  }

  /** Persist value and bookkeeping changes that were not transitions. */
  flush(): void {
    for (const a of this.dirty) if (this.alerts.has(a.id)) this.store.updateAlert(a);
    this.dirty.clear();
  }

  private transition(a: Alert, at: number): void {
    let f = this.flaps.get(a.fingerprint);
    if (!f) this.flaps.set(a.fingerprint, (f = { host: a.labels.host, times: [] }));
    f.times.push(at);
    this.dirty.delete(a);
    this.store.updateAlert(a);
    this.log.info(
      { rule: a.rule, labels: a.labels, state: a.state, value: a.value, severity: a.severity },
      a.state === 'firing' ? 'alert firing' : 'alert resolved',
    );
    this.record(a, at);
    this.onTransition?.(a);
  }

  /** The old severity's series ends (`superseded`), the new one says firing. */
  private reseverity(a: Alert, was: Severity, at: number): void {
    this.record(a, at, { severity: was, state: 'superseded' });
    this.record(a, at);
  }

  private record(a: Alert, at: number, as: { severity: Severity; state: string } = a): void {
    if (!this.writeLines) return;
    const tags = alertPointTags({ rule: a.rule, labels: a.labels, severity: as.severity });
    const fields: Record<string, string | number> = { state: as.state, summary: a.summary || a.rule };
    if (a.value !== null && Number.isFinite(a.value)) fields.value = a.value;
    const line = encodePoint({ name: 'alert', time: at, tags, fields });
    if (line) this.writeLines([line]).catch((err: Error) => this.log.warn({ err: err.message }, 'could not record alert state in InfluxDB'));
  }
}

/** Field names of the `alert` measurement: a label of the same name is tagged `label_<name>`. */
const ALERT_FIELDS = new Set(['state', 'summary', 'value', 'time']);
/** Longest label value kept in a tag (longer ones are cut; the fingerprint keeps them whole). */
const MAX_TAG_VALUE = 256;

/**
 * Tags of an `alert` point: the rule, severity, and every label of the instance (agency,
 * host, then the rule's group_by values: url, server, port, interface, device, src_ip...),
 * so each alert instance is its own series and one resolving never hides another. The
 * labels are bounded by the rule: only its group_by keys, each a value the instance has.
 */
export function alertPointTags(a: Pick<Alert, 'rule' | 'severity' | 'labels'>): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(a.labels)) {
    if (k === 'rule' || k === 'severity' || v === '') continue;
    tags[ALERT_FIELDS.has(k) ? `label_${k}` : k] = v.length > MAX_TAG_VALUE ? v.slice(0, MAX_TAG_VALUE) : v;
  }
  tags.rule = a.rule;
  tags.severity = a.severity;
  return tags;
}
