// Turns auth records (auth.log lines, Windows logon events) into security events. Pure: the
// clock is injected and no I/O happens, so the live detector, `canh-agent detect` and the
// tests all share it. Failed logins are counted per source address in a sliding window; a
// source crossing the threshold becomes ONE brute_force event, and a source that keeps going
// yields at most one update per window carrying the new count (never a flood).
// Windows are measured in the time the attempts HAPPENED (the log's time), not the time they
// were read: a backlog read after downtime, five failures spread over two hours, is not "5
// within 10m". The wall clock only ends incidents when the log falls silent.
import type { Severity } from '@canh/protocol';
import { bounded, sample } from '../group-findings.ts';
import type { AuthRecord } from './record.ts';
import { wallClock } from '@canh/core/time-zone';

export interface AuthEvent {
  time: number;
  type: string;
  severity: Severity;
  message: string;
  evidence: Record<string, string | number | boolean>;
  count: number;
  mitre?: string;
}

export interface WorkHours {
  /** Minutes after midnight. */
  start: number;
  end: number;
  /** 0 = Sunday ... 6 = Saturday */
  days: readonly number[];
}

export interface AggregatorOptions {
  threshold: number;
  windowMs: number;
  /** Distinct users from one source at which guessing becomes spraying (T1110.003). */
  sprayUsers: number;
  /** How long a failed publickey waits for an Accepted publickey before it counts. */
  keyGraceMs: number;
  privilegedUsers: readonly string[];
  privilegedGroups: readonly string[];
  workHours: WorkHours;
  tz: string;
  /** Bound on tracked sources; the least recently seen are forgotten first. */
  maxSources: number;
  now: () => number;
}

interface Incident {
  start: number;
  lastEmit: number;
  total: number;
  pending: number;
}

// A source is held for a whole window (10 minutes of log) after its last failure: under a
// distributed attack there are thousands (bench:detect-rss: ~7,000 on the generated log), so
// each is kept small. Most have one user and one service: a Map or Set costs ~150 bytes even
// for one entry, an array of one ~30; users become a Set only when there are many.
interface Source {
  /** Times (event time) of the failures in the window, ascending (at most `threshold`; an exact-size array). */
  fails: number[];
  /** Users tried, in the order first seen (at most 1,000). */
  users: string[] | Set<string>;
  /** Services attacked (at most 16). */
  services: string[];
  /** Event time of the latest failure, and wall time it was seen. */
  lastFailure: number;
  lastSeen: number;
  lastPort: number | undefined;
  incident: Incident | undefined;
}

/** Past this many users a source keeps them in a Set (includes() on an array would cost per line). */
const USERS_AS_ARRAY = 8;

function addUser(s: Source, user: string): void {
  const u = s.users;
  if (!Array.isArray(u)) {
    if (u.size < 1000) u.add(user);
  } else if (!u.includes(user)) s.users = u.length < USERS_AS_ARRAY ? u.concat(user) : new Set(u).add(user);
}

const usersOf = (s: Source): string[] => (Array.isArray(s.users) ? s.users : [...s.users]);

/** The kinds direct() makes an event of. */
const DIRECT_KINDS: ReadonlySet<string> = new Set([
  'account_created',
  'account_deleted',
  'account_changed',
  'password_changed',
  'group_created',
  'group_deleted',
  'group_changed',
  'sudo_not_allowed',
  'sudo_failure',
  'su_failure',
]);

const fmtWindow = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`);

export class AuthAggregator {
  private readonly o: AggregatorOptions;
  private readonly sources = new Map<string, Source>();
  /** The source set last: while it is in the map it is the map's last (most recent) entry. */
  private lastSrc = '';
  /** wallClock of one second (lines of one second share it; Intl costs microseconds a call). */
  private wallMemo: { sec: number; w: ReturnType<typeof wallClock> | undefined } = { sec: NaN, w: undefined };
  /** Failed publickey attempts held back: a user whose agent offers several keys is no attacker. */
  private readonly keyPending = new Map<string, { times: number[]; rec: AuthRecord }>();
  /** sshd pid → "Invalid user" already counted, so its "Failed ... for invalid user" is not counted again. */
  private readonly invalidByPid = new Map<number, string>();
  forgottenSources = 0;
  /** Held publickey failures counted before their grace ran out, because too many were held. */
  keyFailuresCountedEarly = 0;
  private lastTick = -Infinity;
  /** The log's clock at the last tick. */
  private lastTickLog = -Infinity;
  /** The latest event time seen: the log's own clock. */
  private logClock = -Infinity;

  private readonly tickEvery: number;

  constructor(o: AggregatorOptions) {
    this.o = o;
    this.tickEvery = Math.max(1000, Math.min(o.windowMs / 20, o.keyGraceMs || Infinity));
  }

  /** Feed one record; returns the events it causes now. */
  observe(rec: AuthRecord): AuthEvent[] {
    const out: AuthEvent[] = [];
    const now = this.o.now();
    // A time far in the future (a wrong year, a skewed clock) is not trusted to order events.
    const at = rec.time !== undefined && rec.time <= now + 86_400_000 ? rec.time : now;
    if (at > this.logClock) this.logClock = at;
    if (rec.counts && rec.src) {
      if (rec.kind === 'auth_failure' && rec.method === 'publickey') {
        const key = `${rec.src}\0${rec.user ?? ''}`;
        const p = this.keyPending.get(key) ?? { times: [], rec };
        for (let i = 0; i < rec.repeat; i++) p.times.push(now);
        this.keyPending.set(key, p);
        // Bounded like the sources: the longest held count now (as they would without an Accepted).
        if (this.keyPending.size > this.o.maxSources) {
          const [oldKey, old] = this.keyPending.entries().next().value!;
          this.keyPending.delete(oldKey);
          this.keyFailuresCountedEarly += old.times.length;
          for (const _ of old.times) this.failure(old.rec, now, old.rec.time ?? now, out);
        }
      } else if (!this.duplicateOfInvalidUser(rec)) {
        for (let i = 0; i < rec.repeat; i++) this.failure(rec, now, at, out);
      }
    }
    if (rec.kind === 'login_success' && rec.src) this.success(rec, now, at, out);
    this.direct(rec, at, out);
    // tick() walks every source: at most once per twentieth of a window (or key grace), so a
    // flood of lines, or a dense log replayed at once, stays linear.
    // By the log's clock too: a backlog read at once (an agent catching up on a large log) spans
    // hours of log time in seconds, and sources quiet for a window by the log's clock are done
    // with; without this they piled up to max_sources between ticks (bench:detect-rss).
    if (now - this.lastTick >= this.tickEvery || this.logClock - this.lastTickLog >= this.tickEvery) out.push(...this.tick());
    return out;
  }

  private duplicateOfInvalidUser(rec: AuthRecord): boolean {
    if (rec.pid === undefined || rec.program !== 'sshd') return false;
    const key = `${rec.src}\0${rec.user ?? ''}`;
    if (rec.kind === 'invalid_user') {
      this.invalidByPid.set(rec.pid, key);
      if (this.invalidByPid.size > 4096) this.invalidByPid.delete(this.invalidByPid.keys().next().value!);
      return false;
    }
    if (rec.kind === 'auth_failure' && rec.invalidUser && this.invalidByPid.get(rec.pid) === key) {
      this.invalidByPid.delete(rec.pid);
      return true;
    }
    return false;
  }

  private source(src: string): Source {
    let s = this.sources.get(src);
    // Map order doubles as recency order for eviction (the most recent entry stays where it is).
    if (s && src === this.lastSrc) return s;
    if (s) this.sources.delete(src);
    else s = { fails: [], users: [], services: [], lastFailure: -Infinity, lastSeen: 0, lastPort: undefined, incident: undefined };
    this.sources.set(src, s);
    this.lastSrc = src;
    while (this.sources.size > this.o.maxSources) {
      this.sources.delete(this.sources.keys().next().value!);
      this.forgottenSources++;
    }
    return s;
  }

  private failure(rec: AuthRecord, now: number, at: number, out: AuthEvent[]): void {
    const src = rec.src!;
    const s = this.source(src);
    if (at - s.lastFailure >= this.o.windowMs) {
      // Quiet for a window by the log's clock (a backlog read at once): the earlier incident is
      // over, this failure starts afresh.
      if (s.incident && s.incident.pending > 0) out.push(this.update(src, s, s.lastFailure, s.lastFailure));
      s.incident = undefined;
      s.users = [];
      s.services = [];
    }
    const latest = Math.max(at, s.lastFailure);
    const cutoff = latest - this.o.windowMs;
    while (s.fails.length && s.fails[0]! <= cutoff) s.fails.shift();
    // Lines of several files or hosts may come slightly out of order: keep the window sorted.
    if (at > cutoff) {
      let i = s.fails.length;
      while (i > 0 && s.fails[i - 1]! > at) i--;
      // A new array of the exact size (push or splice would give it room for 17).
      s.fails = i === s.fails.length ? s.fails.concat(at) : [...s.fails.slice(0, i), at, ...s.fails.slice(i)];
      // Only whether `threshold` failures lie in the window matters (an incident counts on in
      // `total`): older ones beyond that are dropped, so a flood from one address stays small.
      if (s.fails.length > this.o.threshold) s.fails.shift();
    }
    s.lastFailure = latest;
    s.lastSeen = now;
    s.lastPort = rec.port ?? s.lastPort;
    addUser(s, rec.user ?? '?');
    const service = rec.service ?? (rec.program === 'windows' ? 'windows' : rec.program === 'sshd' ? 'ssh' : rec.program);
    if (s.services.length < 16 && !s.services.includes(service)) s.services = s.services.concat(service);
    if (s.incident) {
      s.incident.total++;
      s.incident.pending++;
      if (at - s.incident.lastEmit >= this.o.windowMs) out.push(this.update(src, s, at, at));
    } else if (s.fails.length >= this.o.threshold) {
      s.incident = { start: at, lastEmit: at, total: s.fails.length, pending: 0 };
      out.push(this.bruteForce(src, s, at, s.fails.length, false));
    }
  }

  private bruteForce(src: string, s: Source, at: number, count: number, update: boolean): AuthEvent {
    const users = usersOf(s);
    const spray = users.length >= this.o.sprayUsers;
    const total = s.incident?.total ?? count;
    const shown = bounded(users.slice(0, 10).join(', ') + (users.length > 10 ? ` and ${users.length - 10} more` : ''), 300);
    const service = [...s.services].sort().join(', ');
    return {
      time: at,
      type: 'brute_force',
      severity: 'high',
      message: update
        ? `Brute-force attack continues from ${src} (${service}): ${count} more failed logins (${total} in total) for ${shown}`
        : `Brute-force attack (${service}): ${count} failed logins from ${src} within ${fmtWindow(this.o.windowMs)} for ${shown}${spray ? ' (password spraying: many users)' : ''}`,
      evidence: {
        src_ip: src,
        service,
        users: sample(users, 20, 1000),
        user_count: users.length,
        total_failures: total,
        window_s: Math.round(this.o.windowMs / 1000),
        update,
        ...(s.lastPort !== undefined ? { port: s.lastPort } : {}),
      },
      count,
      mitre: spray ? 'T1110.003' : 'T1110.001',
    };
  }

  private update(src: string, s: Source, at: number, now: number): AuthEvent {
    const inc = s.incident!;
    const e = this.bruteForce(src, s, at, inc.pending, true);
    inc.pending = 0;
    inc.lastEmit = now;
    return e;
  }

  private success(rec: AuthRecord, now: number, at: number, out: AuthEvent[]): void {
    const src = rec.src!;
    const user = rec.user ?? '?';
    if (rec.method === 'publickey') this.keyPending.delete(`${src}\0${user}`);
    const s = this.sources.get(src);
    if (s) {
      const cutoff = at - this.o.windowMs;
      const recent = s.fails.filter((t) => t > cutoff).length;
      const failures = Math.max(recent, s.incident?.total ?? 0);
      if (failures >= this.o.threshold) {
        out.push({
          time: at,
          type: 'brute_force_success',
          severity: 'critical',
          message: `Successful login as ${user} from ${src} (${rec.method ?? 'unknown method'}) after ${failures} failed logins from that address: the account may be compromised`,
          evidence: { src_ip: src, user, method: rec.method ?? '', failures, ...(rec.port !== undefined ? { port: rec.port } : {}) },
          count: 1,
          mitre: 'T1078',
        });
      }
    }
    if (this.o.privilegedUsers.includes(user) && !this.inWorkHours(at)) {
      const w = this.wall(at);
      const local = `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
      out.push({
        time: at,
        type: 'off_hours_privileged_login',
        severity: 'medium',
        message: `Privileged login as ${user} from ${src} at ${local} (${this.o.tz}), outside working hours`,
        evidence: { src_ip: src, user, method: rec.method ?? '', local_time: local, ...(rec.port !== undefined ? { port: rec.port } : {}) },
        count: 1,
        mitre: 'T1078',
      });
    }
  }

  /** Local time of `ms` in the configured zone (zone offsets are whole seconds: one answer per second). */
  private wall(ms: number): ReturnType<typeof wallClock> {
    const sec = Math.floor(ms / 1000);
    const m = this.wallMemo;
    if (m.sec === sec && m.w) return m.w;
    const w = wallClock(ms, this.o.tz);
    this.wallMemo = { sec, w };
    return w;
  }

  inWorkHours(ms: number): boolean {
    const w = this.wall(ms);
    const minutes = w.hour * 60 + w.minute;
    return this.o.workHours.days.includes(w.weekday) && minutes >= this.o.workHours.start && minutes < this.o.workHours.end;
  }

  /** Events that need no counting: account changes, sudo and su refusals. */
  private direct(rec: AuthRecord, at: number, out: AuthEvent[]): void {
    // Most records are none of these: no closure made for them.
    if (!DIRECT_KINDS.has(rec.kind)) return;
    const ev = (type: string, severity: Severity, message: string, mitre?: string, extra: Record<string, string | number> = {}): void => {
      out.push({
        time: at,
        type,
        severity,
        message,
        evidence: { program: rec.program, ...(rec.user ? { user: rec.user } : {}), ...(rec.detail ? { detail: bounded(rec.detail) } : {}), ...extra },
        count: rec.repeat,
        ...(mitre ? { mitre } : {}),
      });
    };
    const u = rec.user ?? '?';
    switch (rec.kind) {
      case 'account_created':
        return ev('account_created', 'medium', `Local account "${u}" was created (${rec.detail ?? ''})`, 'T1136.001');
      case 'account_deleted':
        return ev('account_deleted', 'medium', `Local account "${u}" was deleted`, 'T1531');
      case 'account_changed':
        return ev('account_changed', 'low', `Local account "${u}" was changed: ${rec.detail ?? ''}`, 'T1098');
      case 'password_changed':
        return ev('password_changed', 'low', `Password of "${u}" was changed`, 'T1098');
      case 'group_created':
        return ev('group_created', 'low', `Local group "${rec.target}" was created`, undefined, { group: rec.target ?? '' });
      case 'group_deleted':
        return ev('group_deleted', 'low', `Local group "${rec.target}" was deleted`, undefined, { group: rec.target ?? '' });
      case 'group_changed': {
        const priv = this.o.privilegedGroups.includes(rec.target ?? '');
        return ev(
          'group_changed',
          priv ? 'high' : 'medium',
          `Membership of group "${rec.target}" changed for "${u}" (${rec.detail ?? ''})${priv ? ': a privileged group' : ''}`,
          'T1098',
          {
            group: rec.target ?? '',
          },
        );
      }
      case 'sudo_not_allowed':
        return ev('sudo_not_allowed', 'medium', `User "${u}" tried to run a command as ${rec.target} through sudo and is not allowed to`, 'T1548.003', {
          run_as: rec.target ?? '',
        });
      case 'sudo_failure':
        return ev('sudo_failure', 'low', `User "${u}" failed the sudo password (${rec.detail ?? ''})`, 'T1548.003', { run_as: rec.target ?? '' });
      case 'su_failure':
        if (rec.target === 'su-summary') return;
        return ev('su_failure', 'low', `Failed su to "${u}" by "${rec.detail ?? '?'}"`, undefined, { by: rec.detail ?? '' });
      default:
    }
  }

  /** Whether tick() has anything to do: held publickey failures, or sources (and their incidents) to end when quiet. */
  holds(): boolean {
    return this.sources.size > 0 || this.keyPending.size > 0;
  }

  /** Call periodically: commits held-back key failures, sends due updates, ends quiet incidents. */
  tick(): AuthEvent[] {
    const out: AuthEvent[] = [];
    const now = this.o.now();
    this.lastTick = now;
    this.lastTickLog = this.logClock;
    for (const [key, p] of this.keyPending) {
      while (p.times.length && now - p.times[0]! >= this.o.keyGraceMs) {
        p.times.shift();
        this.failure(p.rec, now, p.rec.time ?? now, out);
      }
      if (!p.times.length) this.keyPending.delete(key);
    }
    // forEach, not for-of: no [key, value] array per source (thousands under a distributed attack).
    this.sources.forEach((s, src) => {
      const inc = s.incident;
      // Quiet: no failure for a window, by the log's clock (a backlog) or by the wall clock (a silent log).
      const quiet = this.logClock - s.lastFailure >= this.o.windowMs || now - s.lastSeen >= this.o.windowMs;
      if (inc && inc.pending > 0 && (quiet || this.logClock - inc.lastEmit >= this.o.windowMs)) {
        const at = quiet ? s.lastFailure : this.logClock;
        out.push(this.update(src, s, at, at));
      }
      if (quiet) this.sources.delete(src);
    });
    return out;
  }
}

/** "07:30" → 450 */
export function parseClock(s: string): number | undefined {
  const m = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59) return undefined;
  return Number(m[1]) * 60 + Number(m[2]);
}
