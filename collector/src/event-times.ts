// The stored time of a security event. InfluxDB keys a point by measurement, tags and
// time, so two events of one host, detector, type and severity stored at the same
// millisecond would overwrite each other — and auth_log events carry whole-second
// times, so two attacks in one syslog second, sent in two batches, used to collide.
//
// The stored time is the event's second plus a millisecond derived from the event's
// content (host, detector, type, severity, message, evidence, count, and which
// occurrence of identical content it is within its batch). The same event resent (a
// replayed batch, a spool drained after an outage) hashes to the same millisecond and is
// stored once; distinct events spread over the second. A ledger of the times this
// collector has handed out catches the rare hash collision: the second event moves to
// the next free millisecond of its second. The ledger is bounded (MAX_ENTRIES, oldest
// first) and in memory: a collision (1 in 1000 per pair of distinct events of one
// series in one second) whose first event has left the ledger, or happened before a
// restart, is the one case where a point can still be overwritten (docs/delivery.md).
import { createHash } from 'node:crypto';
import type { SecurityEvent } from '@canh/protocol';

/** Enough for the events of the last hours of a busy province; ~150 bytes each (~15 MB). */
export const MAX_ENTRIES = 100_000;

/** Content digest of an event, as a number in [0, 2^48). */
export function eventDigest(host: string, e: SecurityEvent, occurrence: number): number {
  const evidence = Object.keys(e.evidence)
    .sort()
    .map((k) => [k, e.evidence[k]]);
  const text = JSON.stringify([host, e.detector, e.type, e.severity, e.mitre ?? '', e.message, e.count, evidence, occurrence]);
  return createHash('sha256').update(text).digest().readUIntBE(0, 6);
}

export class EventTimes {
  /** `series@time` → digest of the event stored there. Insertion order = age. */
  private readonly used = new Map<string, number>();
  private readonly max: number;
  /** Identical contents seen in the current batch (their occurrence number). */
  private readonly seen = new Map<string, number>();

  constructor(max = MAX_ENTRIES) {
    this.max = max;
  }

  /** Occurrence numbers count within one batch: call before each batch's events. */
  beginBatch(): void {
    if (this.seen.size) this.seen.clear();
  }

  get size(): number {
    return this.used.size;
  }

  /** The time to store `e` at, for the agent named by `id.host`. */
  place(id: { host: string }, e: SecurityEvent): number {
    const base = e.time - (((e.time % 1000) + 1000) % 1000);
    const series = `${id.host}\u0000${e.detector}\u0000${e.type}\u0000${e.severity}\u0000${e.mitre ?? ''}`;
    const first = eventDigest(id.host, e, 0);
    const ckey = `${series}\u0000${first}@${e.time}`;
    const occurrence = this.seen.get(ckey) ?? 0;
    this.seen.set(ckey, occurrence + 1);
    const digest = occurrence === 0 ? first : eventDigest(id.host, e, occurrence);
    let ms = digest % 1000;
    for (let i = 0; i < 1000; i++) {
      const key = `${series}@${base + ms}`;
      const owner = this.used.get(key);
      if (owner === undefined || owner === digest) {
        if (owner === undefined) this.remember(key, digest);
        return base + ms;
      }
      ms = (ms + 1) % 1000;
    }
    // A thousand distinct events of one series in one second: nothing left to choose.
    return base + (digest % 1000);
  }

  private remember(key: string, digest: number): void {
    this.used.set(key, digest);
    if (this.used.size > this.max) this.used.delete(this.used.keys().next().value!);
  }
}
