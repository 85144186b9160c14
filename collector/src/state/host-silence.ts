// Absence rules of one host's data ("no `feed` points from this host for 10 min") on the
// collector the host's agent is connected to (state/host-rules.ts), beside its thresholds
// and event rules. `agent_offline` stays with the leader: whether an agent is connected
// anywhere is a question across collectors.
//
// A series is expected once it has been seen, as on one collector (alerts/evaluate/
// absence.ts). Which series a host has is written to the shared `alert_series` table when
// one is first seen (one row per series, never per sample), so the collector an agent
// moves to knows what to expect of it. Silence is judged only while the host is here:
// when its agent arrives, each of its series gets a fresh `for` from that moment, as an
// agent that reconnects to one collector does (its absence meanwhile is agent_offline's).
import type { Point } from '@canh/protocol';
import type { Identity } from '../identity.ts';
import type { AlertTracker } from '../alerts/tracker.ts';
import type { AbsenceRule } from '../alerts/rules.ts';
import { eachAbsenceSeries, observeSilence } from '../alerts/evaluate/absence.ts';

interface Series {
  key: string;
  labels: Record<string, string>;
  rule: string;
  host: string;
  lastSeen: number;
}

export class HostSilence {
  private readonly byMeasurement = new Map<string, AbsenceRule[]>();
  private readonly byName = new Map<string, AbsenceRule>();
  private readonly series = new Map<string, Series>();
  private readonly tracker: AlertTracker;
  /** A series seen for the first time: record it (alert_series), fenced like the host's alerts. */
  private readonly record: (host: string, key: string, labels: Record<string, string>, at: number) => void;

  constructor(rules: AbsenceRule[], tracker: AlertTracker, record: HostSilence['record']) {
    this.tracker = tracker;
    this.record = record;
    for (const r of rules) {
      this.byName.set(r.name, r);
      const list = this.byMeasurement.get(r.measurement) ?? [];
      list.push(r);
      this.byMeasurement.set(r.measurement, list);
    }
  }

  /** A config reload: the series of rules still here carry over. */
  adopt(prev: HostSilence): void {
    for (const [k, s] of prev.series) if (this.byName.has(s.rule)) this.series.set(k, s);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  watches(measurement: string): boolean {
    return this.byMeasurement.has(measurement);
  }

  /** The host's series as recorded (its agent arrived here): expected from `at` on. */
  load(host: string, rows: { key: string; labels: Record<string, string> }[], at: number): void {
    for (const r of rows) {
      const rule = r.labels.rule ?? '';
      if (!this.byName.has(rule) || r.labels.host !== host) continue;
      const had = this.series.get(r.key);
      if (!had) this.series.set(r.key, { key: r.key, labels: r.labels, rule, host, lastSeen: at });
      else had.lastSeen = Math.max(had.lastSeen, at);
    }
  }

  onPoints(id: Identity, points: readonly Point[], now: number): void {
    for (const p of points) {
      const rules = this.byMeasurement.get(p.name);
      if (!rules) continue;
      eachAbsenceSeries(rules, p, id, (r, labels, key) => {
        const s = this.series.get(key);
        // By arrival on this collector's clock, as on one collector.
        if (!s) {
          this.series.set(key, { key, labels, rule: r.name, host: id.host, lastSeen: now });
          this.record(id.host, key, labels, now);
        } else if (now > s.lastSeen) s.lastSeen = now;
        if (this.tracker.get(labels)) this.tracker.observe({ rule: r.name, labels, at: now, holds: false });
      });
    }
  }

  /** Series of hosts judged here (`here`) silent for longer than their rule's `for`. */
  tick(now: number, here: (host: string) => boolean): void {
    for (const s of this.series.values()) {
      const r = this.byName.get(s.rule);
      if (!r || !here(s.host)) continue;
      observeSilence(this.tracker, r, s, now);
    }
  }

  /** The host left here: its series are someone else's to judge now (memory only). */
  forget(host: string): void {
    for (const [k, s] of this.series) if (s.host === host) this.series.delete(k);
  }
}
