// One auth log line in, its verdict and the events it causes out: parser, sshd sessions and
// aggregator in a row. The live detector, `canh-agent detect` (streaming, line by line) and
// the tests share it. The clock is injected: live it is the wall clock, offline the log's own.
import type { AuthAggregator, AuthEvent } from '../auth/aggregate.ts';
import { makeAggregator, type AggregationConfig } from '../auth/options.ts';
import type { Mode, ParseOptions } from './fields.ts';
import type { Header } from './header.ts';
import { isWatched, lineHeader, recordFrom, type AuthRecord } from './parse.ts';
import { SshSessions } from './session.ts';
import { effectiveZone } from '../auth/host-zone.ts';

export interface LineResult {
  record?: AuthRecord;
  header?: Header;
  /** A line of a watched program that no pattern knows. */
  unparsed: boolean;
  events: AuthEvent[];
  /** Records that session logic added or changed because of this line (held PAM failures now counted...). */
  derived: AuthRecord[];
}

// What a line without events or derived records carries (shared; frozen, so a caller that pushed into it would fail loudly).
const NONE: never[] = Object.freeze([]) as unknown as never[];

export class AuthPipeline {
  readonly zone: string;
  readonly mode: Mode;
  readonly agg: AuthAggregator;
  private readonly sessions: SshSessions;
  private readonly now: () => number;
  /**
   * The clock as read for the line (or tick) being handled: the sessions and the aggregator
   * read this instead of the clock, so a line costs one clock read instead of four (each a
   * call through the agent's context and a heap number under the interpreter).
   */
  private t = 0;
  unparsed = 0;
  private lastSessionTick = -Infinity;
  private readonly opts: ParseOptions;
  /** Called with a record's time before it is fed on (an offline replay moves its clock there). */
  onRecordTime?: (time: number) => void;

  constructor(cfg: AggregationConfig & { mode?: Mode }, now: () => number) {
    this.zone = effectiveZone(cfg.timezone);
    this.mode = cfg.mode ?? 'normal';
    this.opts = { tz: this.zone, now: 0, mode: this.mode };
    this.now = now;
    const clock = () => this.t;
    this.agg = makeAggregator({ ...cfg, timezone: this.zone }, clock);
    this.sessions = new SshSessions({ graceMs: Math.max(cfg.key_grace, 30_000), maxSessions: 4096, now: clock });
  }

  /** `yearAnchor`: the instant that decides the year of syslog dates (default: now). */
  line(text: string, yearAnchor?: number): LineResult {
    this.t = this.now();
    // One options object for every line (nothing keeps it): only the year anchor changes.
    const opts = this.opts;
    opts.now = yearAnchor ?? this.t;
    // parseVerdict's steps, without its object.
    const header = lineHeader(text, opts);
    if (!header) return this.feed(undefined, undefined, false);
    const record = recordFrom(header, this.mode);
    const unparsed = !record && isWatched(header);
    if (unparsed) this.unparsed++;
    return this.feed(record, header, unparsed);
  }

  /** A record from elsewhere (a journal entry's header). */
  header(h: Header): LineResult {
    this.t = this.now();
    return this.feed(recordFrom(h, this.mode), h, false);
  }

  private feed(record: AuthRecord | undefined, header: Header | undefined, unparsed: boolean): LineResult {
    // Most lines cause no event and no derived record: they share one empty (frozen) array,
    // and the loops below index arrays instead of iterating them (per line, under the
    // agent's interpreter-only Node options, iterators and spread calls cost).
    if (!record) return { record, header, unparsed, events: NONE, derived: NONE };
    let events: AuthEvent[] | undefined;
    let derived: AuthRecord[] | undefined;
    if (record.time !== undefined && this.onRecordTime) {
      // An offline replay's clock moves to the record's time: read again.
      this.onRecordTime(record.time);
      this.t = this.now();
    }
    // Held sshd PAM failures whose grace ran out (cheap: only the oldest connections are looked at).
    const now = this.t;
    if (now - this.lastSessionTick >= 1000) {
      this.lastSessionTick = now;
      const held = this.sessions.tick();
      for (let i = 0; i < held.length; i++) {
        (derived ??= []).push(held[i]!);
        events = this.observe(held[i]!, events);
      }
    }
    const n = this.sessions.observe(record);
    const rs = this.sessions.out;
    for (let i = 0; i < n; i++) {
      const r = rs[i]!;
      if (r !== record) (derived ??= []).push(r);
      events = this.observe(r, events);
    }
    return { record, header, unparsed, events: events ?? NONE, derived: derived ?? NONE };
  }

  /** The aggregator's events for `r`, added to `into` (which is made only when there are some). */
  private observe(r: AuthRecord, into: AuthEvent[] | undefined): AuthEvent[] | undefined {
    const e = this.agg.observe(r);
    if (!e.length) return into;
    if (!into) return e;
    for (let i = 0; i < e.length; i++) into.push(e[i]!);
    return into;
  }

  /** What the bounds on memory made the detector forget, or count early (the live detector logs it). */
  bounds(): { sessions_evicted: number; sources_forgotten: number; key_failures_counted_early: number } {
    return {
      sessions_evicted: this.sessions.evicted,
      sources_forgotten: this.agg.forgottenSources,
      key_failures_counted_early: this.agg.keyFailuresCountedEarly,
    };
  }

  /** Whether tick() has work: open sshd connections, held failures, sources or incidents (an idle log holds none). */
  holds(): boolean {
    return this.sessions.size > 0 || this.agg.holds();
  }

  /** Periodically (and at the end of a log): held failures committed, due updates, quiet incidents closed. */
  tick(): AuthEvent[] {
    this.t = this.now();
    const events: AuthEvent[] = [];
    for (const r of this.sessions.tick()) events.push(...this.agg.observe(r));
    events.push(...this.agg.tick());
    return events;
  }
}
