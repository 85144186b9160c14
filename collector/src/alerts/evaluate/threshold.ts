// Threshold rules on the point stream: a field compared with a value, per label set,
// held for `for` before firing. Samples carry the time they were measured, so a burst
// replayed from an agent's spool is judged by when it happened; samples older than
// max_sample_age do not change state at all.
import type { Point } from '@canh/protocol';
import type { Identity } from '../../identity.ts';
import type { AlertTracker } from '../tracker.ts';
import { alertLabels, compare, numeric, type ThresholdRule } from '../rules.ts';

/** A pending alert promotes on a timer only if its data is this fresh. */
const FRESH_MS = 5 * 60_000;
/** A firing alert whose series stopped (while its agent is online) resolves after this. */
const NO_DATA_MS = 60 * 60_000;

export function pointTags(p: Point, id: Identity): Record<string, string> {
  return { ...p.tags, host: id.host, agency: id.agency, site: id.site };
}

export class ThresholdEvaluator {
  private readonly byMeasurement = new Map<string, ThresholdRule[]>();
  private readonly rules: ThresholdRule[];
  private readonly tracker: AlertTracker;
  private readonly maxSampleAge: number;
  private readonly isOnline: (host: string) => boolean;

  constructor(rules: ThresholdRule[], tracker: AlertTracker, opts: { maxSampleAge: number; isOnline: (host: string) => boolean }) {
    this.rules = rules;
    this.tracker = tracker;
    this.maxSampleAge = opts.maxSampleAge;
    this.isOnline = opts.isOnline;
    for (const r of rules) {
      const list = this.byMeasurement.get(r.measurement) ?? [];
      list.push(r);
      this.byMeasurement.set(r.measurement, list);
    }
  }

  /** Whether any rule looks at points of this measurement. */
  watches(measurement: string): boolean {
    return this.byMeasurement.has(measurement);
  }

  onPoints(id: Identity, points: readonly Point[], now: number): void {
    for (const p of points) {
      const rules = this.byMeasurement.get(p.name);
      if (!rules || now - p.time > this.maxSampleAge) continue;
      const tags = pointTags(p, id);
      const at = Math.min(p.time, now);
      for (const r of rules) {
        if (!Object.entries(r.where).every(([k, v]) => tags[k] === v)) continue;
        const v = numeric(p.fields[r.field]);
        if (v === undefined) continue;
        const holds =
          compare(v, r.op, r.value) &&
          r.and.every((c) => {
            const w = numeric(p.fields[c.field]);
            return w !== undefined && compare(w, c.op, c.value);
          });
        const agency = (r.agency_from_tag && tags[r.agency_from_tag]) || id.agency;
        const labels = alertLabels(r.name, agency, r.group_by, (n) => tags[n]);
        this.tracker.observe({
          rule: r.name,
          labels,
          at,
          holds,
          forMs: r.for,
          holdMs: r.keep_firing_for,
          severity: r.severity,
          value: v,
          summary: `${r.measurement}.${r.field} = ${v} (${r.op} ${r.value})`,
          // Which agent measured it, when the alert is about another agency's target.
          details: agency !== id.agency ? { reporter: `${id.host} (${id.agency})` } : undefined,
        });
      }
    }
  }

  tick(now: number): void {
    for (const r of this.rules) {
      for (const a of [...this.tracker.ofRule(r.name)]) {
        if (a.state === 'pending') {
          if (now - a.activeAt >= r.for && now - a.lastSampleAt <= Math.max(FRESH_MS, r.for)) this.tracker.fire(a, now);
          else if (now - a.lastSampleAt > Math.max(FRESH_MS, r.for)) this.tracker.drop(a);
        } else if (a.state === 'firing') {
          this.tracker.settle(a, now, r.keep_firing_for);
          const host = a.labels.host;
          if (a.state === 'firing' && now - a.lastSampleAt > NO_DATA_MS && (!host || this.isOnline(host))) {
            this.tracker.resolve(a, now, { resolved_by: 'no_data' });
          }
        }
      }
    }
  }
}
