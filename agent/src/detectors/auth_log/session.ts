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
  users: Set<string>;
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
  /**
   * By connection. The key: the sshd pid alone for the host of the first sshd line (a number:
   * no key string made and hashed per line, which was most of this class's cost under the
   * agent's interpreter), host and pid for any other host ("host\0pid": never equal to a number).
   */
  private readonly sessions = new Map<string | number, Session>();
  private mainHost: string | undefined;
  /** Connections forgotten (their held failures committed) because `maxSessions` were open. */
  evicted = 0;
  /** The key set last: while it is in the map it is the map's last (most recent) entry. */
  private lastKey: string | number = '';
  /** The latest time a line carried (the log's own clock), and that clock when quiet connections were last ended by it. */
  private logClock = -Infinity;
  private lastLogTick = -Infinity;

  constructor(o: SessionOptions) {
    this.o = o;
  }

  /** Whether observe() keeps state for this record (sshd's lines with a pid); any other passes through it as it is. */
  tracks(rec: AuthRecord): boolean {
    return rec.service === 'ssh' && rec.pid !== undefined && (rec.program === 'sshd' || rec.program === 'sshd-session');
  }

  /** Feed one record; returns the records to hand to the aggregator, in order. */
  observe(rec: AuthRecord): AuthRecord[] {
    if (!this.tracks(rec)) return [rec];
    const host = rec.host ?? '';
    this.mainHost ??= host;
    const key = host === this.mainHost ? rec.pid! : `${host}\0${rec.pid}`;
    const now = this.o.now();
    const out: AuthRecord[] = [];
    // A time far ahead (a wrong year, a skewed clock) does not move the log's clock, as in the aggregator.
    if (rec.time !== undefined && rec.time > this.logClock && rec.time <= now + 86_400_000) this.logClock = rec.time;
    // A backlog read at once (an agent catching up on a large log) spans hours of log time in
    // seconds: connections quiet for the grace by the log's clock are done with, as tick()
    // ends them by the wall clock on a live log (and as `detect`, whose clock is the log's,
    // does). Without this they piled up to maxSessions (bench:detect-rss). At most once per
    // second of log time: only the oldest connections are looked at.
    if (this.logClock - this.lastLogTick >= 1000) {
      this.lastLogTick = this.logClock;
      this.endQuiet(now, out);
    }
    let s = this.sessions.get(key);
    // Map order is recency order: tick() and eviction look at the front only. Lines of one
    // connection mostly come in a row: the most recent entry stays where it is.
    if (!s || key !== this.lastKey) {
      if (s) this.sessions.delete(key);
      else s = { pending: [], users: new Set(), lastSeen: now, lastLog: this.logClock };
      this.sessions.set(key, s);
      this.lastKey = key;
    }
    while (this.sessions.size > this.o.maxSessions) {
      const [oldKey, old] = this.sessions.entries().next().value!;
      out.push(...this.commit(old));
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
        for (const p of waiting) out.push({ ...p, src: rec.src });
      }
    }
    if (!rec.src && s.src && (rec.counts || rec.deferred)) rec = { ...rec, src: s.src };
    const changed = rec.user !== undefined && s.users.size > 0 && !s.users.has(rec.user) && (rec.deferred || rec.kind === 'login_success' || rec.counts);

    if (rec.deferred) {
      if (changed) {
        out.push(...this.commit(s), { ...rec, counts: true, deferred: false });
      } else {
        if (s.pending.length < MAX_PENDING) s.pending.push(rec);
        out.push(rec);
      }
    } else if (rec.kind === 'auth_failure' && rec.counts) {
      // The "Failed" line of the attempt: the PAM lines held for it were its companions.
      if (s.pending.length) s.pending = s.pending.filter((p) => !p.deferred);
      out.push(rec);
    } else if (rec.kind === 'login_success') {
      const held = s.pending.filter((p) => p.deferred && p.user !== undefined && p.user !== rec.user);
      s.pending = s.pending.filter((p) => !p.deferred);
      for (const p of held) out.push({ ...p, counts: true, deferred: false });
      if (changed) out.push({ ...rec, kind: 'user_change', counts: true, detail: 'accepted for another user than the one that failed' });
      out.push(rec);
    } else if (rec.counts && !rec.src) {
      if (s.pending.length < MAX_PENDING) s.pending.push(rec);
    } else {
      if (rec.ends) out.push(...this.commit(s));
      out.push(rec);
    }
    if (rec.user !== undefined && (rec.counts || rec.deferred || rec.kind === 'login_success')) s.users.add(rec.user);
    if (rec.ends) this.sessions.delete(key);
    return out;
  }

  /** Held PAM failures become counting failures (no "Failed" line came for them). */
  private commit(s: Session): AuthRecord[] {
    const out = s.pending.filter((p) => p.deferred && p.src).map((p) => ({ ...p, counts: true, deferred: false }));
    s.pending = s.pending.filter((p) => !p.deferred);
    return out;
  }

  /** Open connections (tick() forgets them once quiet, committing what they held). */
  get size(): number {
    return this.sessions.size;
  }

  /** Call periodically: commits what waited longer than the grace time, forgets quiet connections. */
  tick(): AuthRecord[] {
    const out: AuthRecord[] = [];
    this.endQuiet(this.o.now(), out);
    return out;
  }

  /** Connections quiet for the grace, by the wall clock or by the log's: their held failures committed, forgotten. */
  private endQuiet(now: number, out: AuthRecord[]): void {
    for (const [key, s] of this.sessions) {
      if (now - s.lastSeen < this.o.graceMs && this.logClock - s.lastLog < this.o.graceMs) break;
      out.push(...this.commit(s));
      this.sessions.delete(key);
    }
  }
}
