// Notifications with Alertmanager's semantics. Alerts are grouped (by agency and rule
// unless configured otherwise); a new group waits group_wait before its first mail so
// related alerts arrive together, then is looked at every group_interval; a mail goes
// to a recipient when the group holds something new for them, or, while it still
// fires, once repeat_interval has passed. A new critical alert skips the waiting.
//
// Events are not states: a new distinct event of an open event-rule episode is news
// (AlertEvent.news). It makes its group due group_wait after it arrived, batching what
// arrives meanwhile, whatever group_interval says; a critical one makes it due at once.
// Every recipient the alert routes to is mailed, whether or not told of the episode.
//
// An acknowledged alert ("I have this") sends no repeat mails: someone is on it. Its
// resolution is still mailed, and so is a new distinct event of an event rule's episode.
//
// Unlike Alertmanager, a resolution is owed per episode: whoever was told an episode
// fired is told it resolved, even when the alert fired again meanwhile (flapping) or is
// silenced now. Silences, maintenance windows and inhibition hold back firing mails only.
// A mail is "sent" once it is in the outbox, in the same transaction that records who
// was told what; delivery is the mailer's job, and survives restarts.
import type { Logger } from 'pino';
import type { AlertingConfig, Recipient } from '../alerts/config.ts';
import type { NotificationLog, SilenceStore } from '../alerts/store.ts';
import type { AlertTracker } from '../alerts/tracker.ts';
import type { Alert, GroupState, Silence } from '../alerts/types.ts';
import { fingerprint, severityRank, type Rule } from '../alerts/rules.ts';
import { silencedBy } from '../alerts/silences.ts';
import { inMaintenance } from '../alerts/maintenance.ts';
import { storedCovers, storedOpen, type StoredMaintenance } from '../alerts/maintenance-store.ts';
import { inhibitedBy } from '../alerts/inhibit.ts';
import type { MailRenderer } from './templates/index.ts';

/** What the dispatcher uses of the store: the notification log, and silences to read. */
type DispatchStore = NotificationLog & Pick<SilenceStore, 'silences'>;

export interface MuteReason {
  kind: 'silence' | 'maintenance' | 'inhibited';
  by: string;
}

export function routes(r: Recipient, a: Alert): boolean {
  if (r.agencies && !r.agencies.includes(a.labels.agency ?? '')) return false;
  if (r.rules && !r.rules.includes(a.rule)) return false;
  return severityRank(a.severity) >= severityRank(r.min_severity);
}

export class Dispatcher {
  private readonly groups = new Map<string, GroupState>();
  /** Resolved root causes the tracker has let go of, kept for inhibit_grace. */
  private recent: Alert[] = [];
  private readonly cfg: AlertingConfig;
  private readonly store: DispatchStore;
  private readonly tracker: AlertTracker;
  private readonly rules: ReadonlyMap<string, Rule>;
  private readonly renderer: MailRenderer;
  private readonly log: Logger;
  /** Windows added by `canh-collector maintenance add` (the config file's are in cfg). */
  private readonly windows: () => readonly StoredMaintenance[];
  /** Which of these alerts someone acknowledged, who and when (alerts/ack.ts). */
  private readonly acked: (ids: readonly number[]) => ReadonlyMap<number, { by: string; at: number }>;

  constructor(deps: {
    cfg: AlertingConfig;
    store: DispatchStore;
    tracker: AlertTracker;
    rules: ReadonlyMap<string, Rule>;
    renderer: MailRenderer;
    log: Logger;
    windows?: () => readonly StoredMaintenance[];
    acked?: (ids: readonly number[]) => ReadonlyMap<number, { by: string; at: number }>;
  }) {
    this.windows = deps.windows ?? (() => []);
    this.acked = deps.acked ?? (() => new Map());
    this.cfg = deps.cfg;
    this.store = deps.store;
    this.tracker = deps.tracker;
    this.rules = deps.rules;
    this.renderer = deps.renderer;
    this.log = deps.log;
    for (const g of this.store.groups()) this.groups.set(g.key, g);
  }

  groupLabels(a: Alert): Record<string, string> {
    const l: Record<string, string> = {};
    for (const n of this.cfg.grouping.group_by) l[n] = n === 'severity' ? a.severity : (a.labels[n] ?? '');
    return l;
  }

  private sendResolved(a: Alert): boolean {
    return this.rules.get(a.rule)?.send_resolved ?? this.cfg.grouping.send_resolved;
  }

  private windowCache: { at: number; list: readonly StoredMaintenance[] } | undefined;

  /** The CLI's windows, read once per round (muted() runs for every alert of it). */
  private windowsAt(now: number): readonly StoredMaintenance[] {
    if (this.windowCache?.at !== now) this.windowCache = { at: now, list: this.windows() };
    return this.windowCache.list;
  }

  /** Why a firing alert sends no mail now, if it does not. */
  muted(a: Alert, now: number, silences: readonly Silence[]): MuteReason | undefined {
    const labels = { ...a.labels, severity: a.severity };
    const s = silencedBy(silences, labels, now);
    if (s) return { kind: 'silence', by: s.id };
    const w = inMaintenance(this.cfg.maintenance, labels, now, this.cfg.timezone);
    if (w) return { kind: 'maintenance', by: w.name };
    const cw = this.windowsAt(now).find((x) => storedCovers(x, labels) && storedOpen(x, now, this.cfg.timezone));
    if (cw) return { kind: 'maintenance', by: cw.name };
    const src = inhibitedBy(a, [...this.tracker.alerts.values(), ...this.recent], this.cfg.inhibit_rules, now, this.cfg.inhibit_grace);
    if (src) return { kind: 'inhibited', by: `${src.rule} ${JSON.stringify(src.labels)}` };
    return undefined;
  }

  /** Queue the mails that are due; returns how many. */
  flush(now: number): number {
    const g = this.cfg.grouping;
    this.recent = this.recent.filter((a) => a.resolvedAt !== null && now - a.resolvedAt < this.cfg.inhibit_grace);
    const byGroup = new Map<string, { labels: Record<string, string>; alerts: Alert[] }>();
    for (const a of this.tracker.alerts.values()) {
      if (a.state === 'pending') continue;
      const labels = this.groupLabels(a);
      const key = fingerprint(labels);
      const entry = byGroup.get(key) ?? { labels, alerts: [] };
      entry.alerts.push(a);
      byGroup.set(key, entry);
    }
    const silences = this.store.silences().filter((s) => s.endsAt > now);
    const mutes = new Map<number, MuteReason | undefined>();
    const mutedOf = (a: Alert) => {
      if (!mutes.has(a.id)) mutes.set(a.id, this.muted(a, now, silences));
      return mutes.get(a.id);
    };
    let queued = 0;
    for (const [key, { labels, alerts }] of byGroup) {
      let group = this.groups.get(key);
      if (!group) {
        // group_wait runs from the first alert of the group, not from when a tick noticed it.
        const first = Math.min(now, ...alerts.map((a) => a.firedAt ?? now));
        group = { key, labels, createdAt: now, waitUntil: first + g.group_wait, lastFlushAt: null };
        this.groups.set(key, group);
        this.store.saveGroup(group);
      }
      const since = group.lastFlushAt ?? -Infinity;
      const news = alerts.flatMap((a) => (a.state === 'firing' && !mutedOf(a) ? (a.events?.list.filter((e) => e.news) ?? []) : []));
      const urgent =
        alerts.some((a) => a.state === 'firing' && a.severity === 'critical' && (a.firedAt ?? 0) > since && !mutedOf(a)) ||
        news.some((e) => e.severity === 'critical');
      const newsDue = news.length > 0 && now >= Math.min(...news.map((e) => e.seenAt)) + g.group_wait;
      const due = urgent || newsDue || (group.lastFlushAt === null ? now >= group.waitUntil : now - group.lastFlushAt >= g.group_interval);
      if (!due) continue;
      queued += this.notifyGroup(group, alerts, now, mutedOf);
      group.lastFlushAt = now;
      this.store.saveGroup(group);
    }
    for (const key of [...this.groups.keys()]) {
      if (byGroup.has(key)) continue;
      this.groups.delete(key);
      this.store.deleteGroup(key);
    }
    return queued;
  }

  private notifyGroup(group: GroupState, alerts: readonly Alert[], now: number, mutedOf: (a: Alert) => MuteReason | undefined): number {
    const ids = alerts.map((a) => a.id);
    const notified = this.store.notified(ids);
    const told = (a: Alert, r: string) => notified.get(a.id)?.get(r);
    const acked = this.acked(alerts.filter((a) => a.state === 'firing').map((a) => a.id));
    let queued = 0;
    for (const r of this.cfg.recipients) {
      const rk = r.email.toLowerCase();
      let firing = alerts.filter((a) => a.state === 'firing' && routes(r, a) && !mutedOf(a));
      const resolved = alerts.filter((a) => a.state === 'resolved' && this.sendResolved(a) && told(a, rk)?.firingSentAt && !told(a, rk)?.resolvedSentAt);
      const news = firing.some((a) => !told(a, rk)?.firingSentAt || a.events?.list.some((e) => e.news));
      const last = this.store.lastSent(group.key, rk);
      // Only what nobody acknowledged is repeated; a repeat mail leaves the acknowledged out.
      const open = firing.filter((a) => !acked.has(a.id));
      const repeat = open.length > 0 && (last === null || now - last >= this.cfg.grouping.repeat_interval);
      if (!news && !resolved.length && !repeat) continue;
      if (!news && !resolved.length) firing = open;
      const byTime = (x: Alert, y: Alert) => x.activeAt - y.activeAt || x.id - y.id;
      const mail = this.renderer.render({
        recipient: r,
        firing: firing.sort(byTime),
        resolved: resolved.sort(byTime),
        groupKey: group.key,
        groupLabels: group.labels,
        now,
        acks: acked,
      });
      const id = this.store.commitNotification({
        groupKey: group.key,
        recipient: rk,
        firing: firing.map((a) => a.id),
        resolved: resolved.map((a) => a.id),
        at: now,
        mail,
      });
      queued++;
      this.log.info(
        { mail: id, to: r.email, group: group.key, firing: firing.length, resolved: resolved.length, repeat: !news && !resolved.length },
        'alert mail queued',
      );
    }
    // Their new events are in this round's mails (or held back by a silence, maintenance
    // or inhibition, which is a deliberate choice too): no longer news.
    for (const a of alerts) if (a.state === 'firing') this.tracker.eventsTold(a);
    // A resolved episode is done once nobody is owed its resolution.
    const after = this.store.notified(alerts.filter((a) => a.state === 'resolved').map((a) => a.id));
    const recipients = new Set(this.cfg.recipients.map((r) => r.email.toLowerCase()));
    for (const a of alerts) {
      if (a.state !== 'resolved') continue;
      const owed =
        this.sendResolved(a) &&
        [...(after.get(a.id) ?? new Map()).entries()].some(([r, s]) => recipients.has(r) && s.firingSentAt !== null && s.resolvedSentAt === null);
      if (owed) continue;
      this.tracker.forget(a);
      this.recent.push(a);
    }
    return queued;
  }
}
