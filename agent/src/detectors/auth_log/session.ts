// sshd connection semantics between the parser and the aggregator, keyed by host and sshd pid
// (one pid serves one connection): which PAM lines count, which lines get an address.
// - A PAM failure of sshd ("pam_unix(sshd:auth): authentication failure", macOS "error: PAM:
//   authentication error for U from H") usually accompanies a "Failed ..." line of the same
//   attempt, which is what counts. It is held, and counted only if the connection ends, or
//   another user name is tried, without such a line (pam_ldap and several PAM methods write
//   none). The same user then accepted: the failure is forgiven (a second PAM method let
//   them in), as fail2ban does.
// - A session that tries another user name is an attack attempt (fail2ban counts it): the
//   held failures count, and so does an "Accepted" for a user other than the one that failed.
// - Lines without an address (kex_exchange_identification, "account is locked") take the
//   one of their connection, from "Connection from" or any other line of the same pid.
// Pure: the clock is injected; state is bounded.
import type { AuthRecord } from './parse.ts';

interface Session {
  src?: string;
  /** PAM failures waiting for their "Failed" line, and counting lines waiting for an address. */
  pending: AuthRecord[];
  /** User names tried: the first alone (nearly every connection has one), a Set from the second on. */
  user: string | undefined;
  users: Set<string> | undefined;
  lastSeen: number;
  /** The log's time of its latest line. */
  lastLog: number;
}

export interface SessionOptions {
  /** How long a held PAM failure waits for its "Failed" line or the end of the connection. */
  graceMs: number;
  maxSessions: number;
  now: () => number;
}

const MAX_PENDING = 64;

export class SshSessions {
  private readonly o: SessionOptions;
  private readonly sessions = new Map<string | number, Session>();
  /** Connections forgotten (their held failures committed) because `maxSessions` were open. */
  evicted = 0;
  /** The key set last: while it is in the map it is the map's last (most recent) entry. */
  private lastKey: string | number = '';
  /** What observe() and tick() hand on: out[0] to out[n - 1]. */
  readonly out: AuthRecord[] = [];
  private n = 0;
  private firstHost: string | undefined;
  /** The latest time a line carried (the log's own clock), and that clock when quiet connections were last ended by it. */
  private logClock = -Infinity;
  private lastLogTick = -Infinity;

  constructor(o: SessionOptions) {
    this.o = o;
  }

  /**
   * Feed one record; the records to hand to the aggregator, in order, are `out[0]` to
   * `out[n - 1]` for the `n` returned (valid until the next call). One array for every line,
   * written by index: a new array per line, or one emptied by `length = 0`, costs an
   * allocation per line.
   */
  observe(rec: AuthRecord): number {
    this.n = 0;
    if (rec.service !== 'ssh' || rec.pid === undefined || (rec.program !== 'sshd' && rec.program !== 'sshd-session')) {
      this.out[this.n++] = rec;
      return this.n;
    }
    // The pid alone for the first host seen (nearly every line of a log: no string per line);
    // "host\0pid" for others. A number and a string are never the same key.
    const host = rec.host ?? '';
    this.firstHost ??= host;
    const key = host === this.firstHost ? rec.pid : `${host}\0${rec.pid}`;
    const now = this.o.now();
    // A time far ahead (a wrong year, a skewed clock) does not move the log's clock, as in the aggregator.
    if (rec.time !== undefined && rec.time > this.logClock && rec.time <= now + 86_400_000) this.logClock = rec.time;
    // A backlog read at once (an agent catching up on a large log) spans hours of log time in
    // seconds: connections quiet for the grace by the log's clock are done with, as tick()
    // ends them by the wall clock on a live log (and as `detect`, whose clock is the log's,
    // does). Without this they piled up to maxSessions (bench:detect-rss). At most once per
    // second of log time: only the oldest connections are looked at.
    if (this.logClock - this.lastLogTick >= 1000) {
      this.lastLogTick = this.logClock;
      this.endQuiet(now);
    }
    let s = this.sessions.get(key);
    // Map order is recency order: tick() and eviction look at the front only. Lines of one
    // connection mostly come in a row: the most recent entry stays where it is.
    if (!s || key !== this.lastKey) {
      if (s) this.sessions.delete(key);
      else s = { pending: [], user: undefined, users: undefined, lastSeen: now, lastLog: this.logClock };
      this.sessions.set(key, s);
      this.lastKey = key;
    }
    while (this.sessions.size > this.o.maxSessions) {
      const [oldKey, old] = this.sessions.entries().next().value!;
      this.commit(old);
      this.sessions.delete(oldKey);
      this.evicted++;
    }
    s.lastSeen = now;
    s.lastLog = rec.time !== undefined && rec.time <= this.logClock ? rec.time : this.logClock;
    if (rec.src && !s.src) {
      s.src = rec.src;
      // Counting lines that waited for an address now have one.
      if (s.pending.length) {
        const waiting = s.pending.filter((p) => !p.src);
        s.pending = s.pending.filter((p) => p.src);
        for (let i = 0; i < waiting.length; i++) this.put({ ...waiting[i]!, src: rec.src });
      }
    }
    if (!rec.src && s.src && (rec.counts || rec.deferred)) rec = { ...rec, src: s.src };
    const changed =
      rec.user !== undefined &&
      s.user !== undefined &&
      rec.user !== s.user &&
      !s.users?.has(rec.user) &&
      (rec.deferred || rec.kind === 'login_success' || rec.counts);

    if (rec.deferred) {
      if (changed) {
        this.commit(s);
        this.put({ ...rec, counts: true, deferred: false });
      } else {
        if (s.pending.length < MAX_PENDING) s.pending.push(rec);
        this.put(rec);
      }
    } else if (rec.kind === 'auth_failure' && rec.counts) {
      // The "Failed" line of the attempt: the PAM lines held for it were its companions.
      if (s.pending.length) s.pending = s.pending.filter((p) => !p.deferred);
      this.put(rec);
    } else if (rec.kind === 'login_success') {
      const held = s.pending.filter((p) => p.deferred && p.user !== undefined && p.user !== rec.user);
      s.pending = s.pending.filter((p) => !p.deferred);
      for (let i = 0; i < held.length; i++) this.put({ ...held[i]!, counts: true, deferred: false });
      if (changed) this.put({ ...rec, kind: 'user_change', counts: true, detail: 'accepted for another user than the one that failed' });
      this.put(rec);
    } else if (rec.counts && !rec.src) {
      if (s.pending.length < MAX_PENDING) s.pending.push(rec);
    } else {
      if (rec.ends) this.commit(s);
      this.put(rec);
    }
    if (rec.user !== undefined && (rec.counts || rec.deferred || rec.kind === 'login_success')) {
      if (s.user === undefined) s.user = rec.user;
      else if (rec.user !== s.user) (s.users ??= new Set()).add(rec.user);
    }
    if (rec.ends) this.sessions.delete(key);
    return this.n;
  }

  private put(r: AuthRecord): void {
    this.out[this.n++] = r;
  }

  /** Held PAM failures become counting failures (no "Failed" line came for them): put out. */
  private commit(s: Session): void {
    const p = s.pending;
    for (let i = 0; i < p.length; i++) if (p[i]!.deferred && p[i]!.src) this.put({ ...p[i]!, counts: true, deferred: false });
    s.pending = p.filter((r) => !r.deferred);
  }

  /** Open connections (tick() forgets them once quiet, committing what they held). */
  get size(): number {
    return this.sessions.size;
  }

  /** Call periodically: commits what waited longer than the grace time, forgets quiet connections. */
  tick(): AuthRecord[] {
    this.n = 0;
    this.endQuiet(this.o.now());
    return this.out.slice(0, this.n);
  }

  /** Connections quiet for the grace, by the wall clock or by the log's: their held failures committed (put out), forgotten. */
  private endQuiet(now: number): void {
    for (const [key, s] of this.sessions) {
      if (now - s.lastSeen < this.o.graceMs && this.logClock - s.lastLog < this.o.graceMs) break;
      this.commit(s);
      this.sessions.delete(key);
    }
  }
}
