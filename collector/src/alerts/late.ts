// What the alert engine receives late: data older than max_sample_age when it arrives (an
// agent replaying its spool after an outage, a backlog of logs). Security events are still
// evaluated (an attack found late is still an attack; mails say "detected late");
// samples for state rules (threshold) are set aside, since an old value says nothing about
// the state now. Both are counted, written as the collector's own `alert_engine` point, and
// logged once per agent, never silently.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { encodePoint } from '@canh/protocol';

/** Hosts remembered for "logged once"; past this the set starts over (and logs again). */
const MAX_HOSTS = 100_000;

export interface LateCounts {
  /** Security events evaluated although older than max_sample_age. */
  late_events: number;
  /** Samples for threshold rules not evaluated because older than max_sample_age. */
  late_samples_set_aside: number;
}

export class LateData {
  readonly counts: LateCounts = { late_events: 0, late_samples_set_aside: 0 };
  private readonly logged = new Set<string>();
  /** The counters last written (nothing is written while they are zero). */
  private written = JSON.stringify(this.counts);
  private readonly log: Logger;
  private readonly maxSampleAge: () => number;

  constructor(log: Logger, maxSampleAge: () => number) {
    this.log = log;
    this.maxSampleAge = maxSampleAge;
  }

  event(host: string, n: number): void {
    this.counts.late_events += n;
    this.once(host, 'late_events', n);
  }

  samples(host: string, n: number): void {
    if (n <= 0) return;
    this.counts.late_samples_set_aside += n;
    this.once(host, 'late_samples_set_aside', n);
  }

  private once(host: string, kind: keyof LateCounts, n: number): void {
    const key = `${kind}\u0000${host}`;
    if (this.logged.has(key)) return;
    if (this.logged.size >= MAX_HOSTS) this.logged.clear();
    this.logged.add(key);
    const age = this.maxSampleAge();
    if (kind === 'late_events')
      this.log.warn(
        { host, n, max_sample_age_ms: age },
        'security events arrived later than max_sample_age; still evaluated, mails say "detected late" (logged once per agent)',
      );
    else
      this.log.warn(
        { host, n, max_sample_age_ms: age },
        'samples older than max_sample_age set aside for threshold rules (stored in InfluxDB, not evaluated; counted in alert_engine.late_samples_set_aside; logged once per agent)',
      );
  }

  /** A host that left for good (revoked): it is no longer remembered as logged. */
  forgetHost(host: string): number {
    let n = 0;
    for (const kind of Object.keys(this.counts)) if (this.logged.delete(`${kind}\u0000${host}`)) n++;
    return n;
  }

  /** Whether a host is remembered as logged (what is kept in memory of it). */
  heldOf(host: string): number {
    return Object.keys(this.counts).filter((kind) => this.logged.has(`${kind}\u0000${host}`)).length;
  }

  /** The counters as a line of the `alert_engine` measurement, when they changed since the last one. */
  line(now: number): string | undefined {
    const key = JSON.stringify(this.counts);
    if (key === this.written) return undefined;
    this.written = key;
    return (
      encodePoint({
        name: 'alert_engine',
        time: now,
        tags: { collector: hostname() },
        fields: { ...this.counts },
        int: ['late_events', 'late_samples_set_aside'],
      }) ?? undefined
    );
  }
}
