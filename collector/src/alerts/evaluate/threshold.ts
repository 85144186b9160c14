// Threshold rules on the point stream: a field compared with a value, per label set,
// held for `for` before firing. Samples carry the time they were measured, so a burst
// replayed from an agent's spool is judged by when it happened; samples older than
// max_sample_age do not change state at all. A rule with a window function (avg, min,
// max, p95) compares that function of the series' samples of the last `window` instead
// of the sample itself, and judges only once it has seen the series for a whole window.
import type { Point } from '@canh/protocol';
import type { Identity } from '../../identity.ts';
import type { AlertTracker } from '../tracker.ts';
import { alertLabels, compare, fingerprint, numeric, type ThresholdRule, type WindowFunction } from '../rules.ts';
import { countByHost, deleteByHost } from '../host-keyed.ts';

/** A pending alert promotes on a timer only if its data is this fresh. */
const FRESH_MS = 5 * 60_000;
/** A firing alert whose series stopped (while its agent is online) resolves after this. */
const NO_DATA_MS = 60 * 60_000;

/** Samples kept per series of a windowed rule at most (a poll a second over 1 h fits). */
const MAX_WINDOW_SAMPLES = 4096;

/** A function of a window's values (not empty). p95 is the nearest-rank 95th percentile. */
export function aggregate(fn: WindowFunction, values: readonly number[]): number {
  switch (fn) {
    case 'last':
      return values[values.length - 1]!;
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'p95': {
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)]!;
    }
  }
}

/** The window a rule's function looks at, and the `for` the tracker then waits (ms). */
export function ruleTiming(r: Pick<ThresholdRule, 'function' | 'window' | 'for'>): { windowMs: number; forMs: number } {
  if (r.function === 'last') return { windowMs: 0, forMs: r.for };
  // Over `for` when no explicit window: the window is the wait, not waited twice.
  return r.window !== undefined ? { windowMs: r.window, forMs: r.for } : { windowMs: r.for, forMs: 0 };
}

/** One series' samples in a windowed rule: times and values, oldest first. */
interface SampleWindow {
  /** First sample of this unbroken run of the series (a gap longer than the window restarts it). */
  since: number;
  times: number[];
  values: number[];
  /** The series' host label (forgetHost). */
  host: string | undefined;
}

export function pointTags(p: Point, id: Identity): Record<string, string> {
  return { ...p.tags, host: id.host, agency: id.agency, site: id.site };
}

export class ThresholdEvaluator {
  private readonly byMeasurement = new Map<string, ThresholdRule[]>();
  private readonly rules: ThresholdRule[];
  private readonly tracker: AlertTracker;
  private readonly maxSampleAge: number;
  private readonly isOnline: (host: string) => boolean;
  /** Samples of windowed rules, by rule and label fingerprint. */
  private readonly windows = new Map<string, SampleWindow>();

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

  /** Whether some rule would judge this point (its measurement and `where`). */
  wants(p: Point, id: Identity): boolean {
    const rules = this.byMeasurement.get(p.name);
    if (!rules) return false;
    const tags = pointTags(p, id);
    return rules.some((r) => Object.entries(r.where).every(([k, v]) => tags[k] === v));
  }

  /** The windowed rules (a function over `window`), for seeding their windows (seed()). */
  windowed(): { rule: ThresholdRule; windowMs: number }[] {
    return this.rules.map((rule) => ({ rule, windowMs: ruleTiming(rule).windowMs })).filter((x) => x.windowMs > 0);
  }

  /**
   * Samples of a windowed rule taken before this evaluator saw the host (read back from
   * InfluxDB when the host's agent moved here): they fill the rule's windows without
   * being judged themselves, so the rule judges the next live sample over a whole window
   * instead of waiting one. Returns how many samples went in.
   */
  seed(r: ThresholdRule, id: Identity, points: readonly Point[], now: number): number {
    const { windowMs } = ruleTiming(r);
    let n = 0;
    if (windowMs <= 0) return 0;
    for (const p of points) {
      if (p.name !== r.measurement || now - p.time >= windowMs) continue;
      const tags = pointTags(p, id);
      if (!Object.entries(r.where).every(([k, v]) => tags[k] === v)) continue;
      const sample = numeric(p.fields[r.field]);
      if (sample === undefined) continue;
      const agency = (r.agency_from_tag && tags[r.agency_from_tag]) || id.agency;
      this.overWindow(
        r,
        alertLabels(r.name, agency, r.group_by, (x) => tags[x]),
        Math.min(p.time, now),
        sample,
        windowMs,
      );
      n++;
    }
    return n;
  }

  onPoints(id: Identity, points: readonly Point[], now: number): void {
    for (const p of points) {
      const rules = this.byMeasurement.get(p.name);
      if (!rules || now - p.time > this.maxSampleAge) continue;
      const tags = pointTags(p, id);
      const at = Math.min(p.time, now);
      for (const r of rules) {
        if (!Object.entries(r.where).every(([k, v]) => tags[k] === v)) continue;
        const sample = numeric(p.fields[r.field]);
        if (sample === undefined) continue;
        const agency = (r.agency_from_tag && tags[r.agency_from_tag]) || id.agency;
        const labels = alertLabels(r.name, agency, r.group_by, (n) => tags[n]);
        const { windowMs, forMs } = ruleTiming(r);
        const v = windowMs > 0 ? this.overWindow(r, labels, at, sample, windowMs) : sample;
        // A windowed rule says nothing until it has seen the series for a whole window.
        if (v === undefined) continue;
        const holds =
          compare(v, r.op, r.value) &&
          r.and.every((c) => {
            const w = numeric(p.fields[c.field]);
            return w !== undefined && compare(w, c.op, c.value);
          });
        this.tracker.observe({
          rule: r.name,
          labels,
          at,
          holds,
          forMs,
          holdMs: r.keep_firing_for,
          severity: r.severity,
          value: v,
          summary:
            windowMs > 0
              ? `${r.function}(${r.measurement}.${r.field} over ${windowMs / 1000} s) = ${round(v)} (${r.op} ${r.value})`
              : `${r.measurement}.${r.field} = ${v} (${r.op} ${r.value})`,
          // Which agent measured it, when the alert is about another agency's target.
          details: agency !== id.agency ? { reporter: `${id.host} (${id.agency})` } : undefined,
        });
      }
    }
  }

  /**
   * Adds a sample to its series' window and gives the rule's function over the window
   * (samples after `at` − window, `at` included), or undefined while the series has been
   * seen for less than a window. Samples older than the newest are let in (a replayed
   * batch), but only the window ending at the newest counts.
   */
  private overWindow(r: ThresholdRule, labels: Record<string, string>, at: number, value: number, windowMs: number): number | undefined {
    const key = `${r.name}\u0000${fingerprint(labels)}`;
    let w = this.windows.get(key);
    const newest = w?.times[w.times.length - 1];
    if (!w || newest === undefined || at - newest > windowMs) this.windows.set(key, (w = { since: at, times: [], values: [], host: labels.host }));
    // Keep time order (a late sample goes where it belongs).
    let i = w.times.length;
    while (i > 0 && w.times[i - 1]! > at) i--;
    // The same sample twice (seeded from InfluxDB, then resent by the agent): once.
    if (i > 0 && w.times[i - 1] === at) w.values[i - 1] = value;
    else {
      w.times.splice(i, 0, at);
      w.values.splice(i, 0, value);
    }
    w.since = Math.min(w.since, at);
    const end = w.times[w.times.length - 1]!;
    let drop = 0;
    while (drop < w.times.length && w.times[drop]! <= end - windowMs) drop++;
    drop = Math.max(drop, w.times.length - MAX_WINDOW_SAMPLES);
    if (drop > 0) {
      w.times.splice(0, drop);
      w.values.splice(0, drop);
    }
    if (end - w.since < windowMs) return undefined;
    return aggregate(r.function, w.values);
  }

  /** Hosts that left for good (revoked): their windows go at once. Returns how many. */
  forgetHosts(hosts: ReadonlySet<string>): number {
    return deleteByHost(this.windows, hosts);
  }

  /** Windows held of a host (what is kept in memory of it). */
  windowsOf(host: string): number {
    return countByHost(this.windows, host);
  }

  tick(now: number): void {
    // Windows of series that stopped: they would restart anyway (gap longer than the window).
    for (const [key, w] of this.windows) if (now - w.times[w.times.length - 1]! > 2 * 3_600_000) this.windows.delete(key);
    for (const r of this.rules) {
      const { forMs } = ruleTiming(r);
      for (const a of [...this.tracker.ofRule(r.name)]) {
        if (a.state === 'pending') {
          if (now - a.activeAt >= forMs && now - a.lastSampleAt <= Math.max(FRESH_MS, forMs)) this.tracker.fire(a, now);
          else if (now - a.lastSampleAt > Math.max(FRESH_MS, forMs)) this.tracker.drop(a);
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

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
