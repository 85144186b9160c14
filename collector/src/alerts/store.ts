// Durable alert state in the collector's SQLite file (node:sqlite): alert episodes,
// who was notified of what, notification groups, silences, the mail outbox and the
// last-seen times absence rules need. Behind role interfaces, so that several collectors
// share it in PostgreSQL (state/pg-alert-store.ts) without touching the engine.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { AgentLiveness, Alert, AlertEvents, GroupState, NewMail, NotifiedState, OutboxMail, Silence } from './types.ts';
import { AckStore, type AckLog } from './ack.ts';
import { MaintenanceStore, type MaintenanceWindows } from './maintenance-store.ts';

/** When a series an absence rule watches was last seen. */
export interface SeriesSeen {
  key: string;
  labels: Record<string, string>;
  lastSeen: number;
}

// The store in roles: each consumer is typed by the narrowest one it uses (the tracker
// by AlertEpisodes, the dispatcher by NotificationLog, the mailer by MailOutbox, absence
// rules by AbsenceMemory, the silence CLI and API by SilenceStore); the engine holds the
// whole AlertStore. Acknowledgements (AckLog, ack.ts) and CLI maintenance windows
// (MaintenanceWindows, maintenance-store.ts) are roles of their own, reached through the
// store because they live beside the alerts. Central config has its own two roles
// (CentralReader, CentralHistory in central/store.ts). Each role is implemented over
// SQLite (here) and PostgreSQL (state/pg-*.ts).

/** Alert episodes: pending, firing, and resolved ones still owed a notification (the tracker). */
export interface AlertEpisodes {
  openAlerts(): Alert[];
  insertAlert(a: Omit<Alert, 'id'>): Alert;
  updateAlert(a: Alert): void;
  deleteAlert(id: number): void;
  /** The dispatcher told these events of an episode another collector writes (state/host-rules.ts):
   *  recorded apart from the row that collector owns (PostgreSQL only). */
  eventsTold?(id: number, keys: readonly string[]): void;
}

/** Who was told what, notification groups and when each recipient was last mailed (the dispatcher). */
export interface NotificationLog {
  notified(alertIds: readonly number[]): Map<number, Map<string, NotifiedState>>;
  groups(): GroupState[];
  saveGroup(g: GroupState): void;
  deleteGroup(key: string): void;
  lastSent(groupKey: string, recipient: string): number | null;
  /** Queue a mail and record what it tells, atomically: a restart neither loses nor repeats it. */
  commitNotification(n: { groupKey: string; recipient: string; firing: readonly number[]; resolved: readonly number[]; at: number; mail: NewMail }): number;
}

/** The mail outbox (the mailer; the status page's mail health). */
export interface MailOutbox {
  dueMail(now: number, limit: number): OutboxMail[];
  nextMailAt(): number | null;
  markSent(id: number, at: number): void;
  markRetry(id: number, attempts: number, nextAt: number, error: string): void;
  markFailed(id: number, error: string): void;
  mails(state?: OutboxMail['state']): OutboxMail[];
  /** Shared outbox (PostgreSQL): take due mail for this collector alone, row-locked, instead of dueMail. */
  claimDueMail?(now: number, limit: number): Promise<OutboxMail[]>;
  /** Wait until queued writes are stored (PostgreSQL's write queue). */
  sync?(): Promise<void>;
}

/** Silences (the silence CLI, the admin API, the dispatcher, the status page). */
export interface SilenceStore {
  addSilence(s: Silence): void;
  silences(): Silence[];
  /** By id, or a prefix of at least 8 characters; the silence as it now is. */
  expireSilence(id: string, at: number): Silence | undefined;
}

/** What absence rules remember: when each watched series was last seen, and agents' liveness. */
export interface AbsenceMemory {
  saveSeries(entries: Iterable<SeriesSeen>): void;
  deleteSeries(keys: Iterable<string>): void;
  series(): SeriesSeen[];
  saveAgent(a: AgentLiveness): void;
  deleteAgent(host: string): void;
  agents(): AgentLiveness[];
  /** Revoked agents: every series their hosts have (whichever rule or collector recorded
   *  it, kept in memory or not) and their liveness, removed from the store; on PostgreSQL
   *  also their session rows and pending episodes another collector wrote, but those of the
   *  rules in `keep` (a collector's own disk: its host is a collector, not the agent). Idempotent. */
  forgetHosts(hosts: readonly string[], keep?: readonly string[]): void;
}

/** Everything the alert engine keeps, over SQLite (SqliteAlertStore) or PostgreSQL (PgAlertStore). */
export interface AlertStore extends AlertEpisodes, NotificationLog, MailOutbox, SilenceStore, AbsenceMemory {
  /** Acknowledgements of firing alerts (ack.ts), beside the alerts. */
  readonly acks: AckLog;
  /** Maintenance windows added by the CLI (maintenance-store.ts), read at every round. */
  readonly maintenance: MaintenanceWindows;
  close(): void;
}

/** A row of the alerts table, as both backends store it (state/pg-alert-store.ts too). */
export interface AlertRow {
  id: number;
  fingerprint: string;
  rule: string;
  labels: string;
  severity: string;
  state: string;
  value: number | null;
  summary: string;
  active_at: number;
  fired_at: number | null;
  resolved_at: number | null;
  last_sample_at: number;
  clear_since: number | null;
  details: string;
  events: string | null;
  /** PostgreSQL: keys of the events the leader told, of an episode another collector writes. */
  events_told?: string | null;
}

export function toAlert(r: AlertRow): Alert {
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    rule: r.rule,
    labels: JSON.parse(r.labels) as Record<string, string>,
    severity: r.severity as Alert['severity'],
    state: r.state as Alert['state'],
    value: r.value,
    summary: r.summary,
    activeAt: r.active_at,
    firedAt: r.fired_at,
    resolvedAt: r.resolved_at,
    lastSampleAt: r.last_sample_at,
    clearSince: r.clear_since,
    details: JSON.parse(r.details) as Record<string, string>,
    ...(r.events ? { events: told(JSON.parse(r.events) as AlertEvents, r.events_told) } : {}),
  };
}

/** Events the leader already told are no longer news, whatever the writing collector's copy says. */
function told(ev: AlertEvents, keys: string | null | undefined): AlertEvents {
  if (!keys) return ev;
  const done = new Set(JSON.parse(keys) as string[]);
  for (const e of ev.list) if (done.has(e.key)) e.news = false;
  return ev;
}

/**
 * The values of an alert's changing columns, in the order both backends' INSERT and UPDATE
 * name them: severity, state, value, summary, active_at, fired_at, resolved_at,
 * last_sample_at, clear_since, details, events.
 */
export function alertStateValues(a: Omit<Alert, 'id'>) {
  return [
    a.severity,
    a.state,
    a.value,
    a.summary,
    a.activeAt,
    a.firedAt,
    a.resolvedAt,
    a.lastSampleAt,
    a.clearSince,
    JSON.stringify(a.details),
    a.events ? JSON.stringify(a.events) : null,
  ] as const;
}

export interface MailRow {
  id: number;
  created_at: number;
  recipient: string;
  subject: string;
  text: string;
  html: string;
  headers: string;
  message_id: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  state: string;
  sent_at: number | null;
}

export function toMail(r: MailRow): OutboxMail {
  return {
    id: r.id,
    createdAt: r.created_at,
    to: r.recipient,
    subject: r.subject,
    text: r.text,
    html: r.html,
    headers: JSON.parse(r.headers) as Record<string, string>,
    messageId: r.message_id,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    state: r.state as OutboxMail['state'],
    sentAt: r.sent_at,
  };
}

const SCHEMA = `
  PRAGMA journal_mode = WAL;
  PRAGMA busy_timeout = 5000;
  CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL, rule TEXT NOT NULL, labels TEXT NOT NULL,
    severity TEXT NOT NULL, state TEXT NOT NULL, value REAL, summary TEXT NOT NULL,
    active_at INTEGER NOT NULL, fired_at INTEGER, resolved_at INTEGER,
    last_sample_at INTEGER NOT NULL, clear_since INTEGER, details TEXT NOT NULL DEFAULT '{}'
  );
  CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (fingerprint) WHERE state IN ('pending', 'firing');
  CREATE TABLE IF NOT EXISTS alert_notified (
    alert_id INTEGER NOT NULL, recipient TEXT NOT NULL,
    firing_sent_at INTEGER, resolved_sent_at INTEGER,
    PRIMARY KEY (alert_id, recipient)
  );
  CREATE TABLE IF NOT EXISTS alert_groups (
    key TEXT PRIMARY KEY, labels TEXT NOT NULL, created_at INTEGER NOT NULL,
    wait_until INTEGER NOT NULL, last_flush_at INTEGER
  );
  CREATE TABLE IF NOT EXISTS alert_nflog (
    group_key TEXT NOT NULL, recipient TEXT NOT NULL, last_sent_at INTEGER NOT NULL,
    PRIMARY KEY (group_key, recipient)
  );
  CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, matchers TEXT NOT NULL, created_by TEXT NOT NULL, comment TEXT NOT NULL,
    starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL, created_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL, recipient TEXT NOT NULL,
    subject TEXT NOT NULL, text TEXT NOT NULL, html TEXT NOT NULL, headers TEXT NOT NULL,
    message_id TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
    last_error TEXT, state TEXT NOT NULL DEFAULT 'queued', sent_at INTEGER
  );
  CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (state, next_attempt_at);
  CREATE TABLE IF NOT EXISTS alert_series (key TEXT PRIMARY KEY, labels TEXT NOT NULL, last_seen INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS alert_agents (
    host TEXT PRIMARY KEY, agency TEXT NOT NULL, site TEXT NOT NULL, online INTEGER NOT NULL, since INTEGER NOT NULL
  );
`;

export class SqliteAlertStore implements AlertStore {
  readonly db: DatabaseSync;
  readonly acks: AckStore;
  readonly maintenance: MaintenanceStore;
  private readonly stmts = new Map<string, StatementSync>();
  private readonly messageDomain: string;

  constructor(file: string, opts: { messageDomain?: string } = {}) {
    this.db = new DatabaseSync(file);
    this.db.exec(SCHEMA);
    // Added for event rules' distinct events; older collector.db files get the column here.
    const cols = this.db.prepare('PRAGMA table_info(alerts)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'events')) this.db.exec('ALTER TABLE alerts ADD COLUMN events TEXT');
    this.messageDomain = opts.messageDomain ?? 'canh.invalid';
    this.acks = new AckStore(this.db);
    this.maintenance = new MaintenanceStore(this.db);
  }

  private q(sql: string): StatementSync {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const r = fn();
      this.db.exec('COMMIT');
      return r;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  openAlerts(): Alert[] {
    // Resolved episodes stay until every owed "resolved" notification has been queued.
    return (this.q('SELECT * FROM alerts ORDER BY id').all() as unknown as AlertRow[]).map(toAlert);
  }

  insertAlert(a: Omit<Alert, 'id'>): Alert {
    const r = this.q(
      `INSERT INTO alerts (fingerprint, rule, labels, severity, state, value, summary, active_at, fired_at, resolved_at, last_sample_at, clear_since, details, events)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(a.fingerprint, a.rule, JSON.stringify(a.labels), ...alertStateValues(a));
    return { ...a, id: Number(r.lastInsertRowid) };
  }

  updateAlert(a: Alert): void {
    this.q(
      `UPDATE alerts SET severity = ?, state = ?, value = ?, summary = ?, active_at = ?, fired_at = ?, resolved_at = ?,
       last_sample_at = ?, clear_since = ?, details = ?, events = ? WHERE id = ?`,
    ).run(...alertStateValues(a), a.id);
  }

  deleteAlert(id: number): void {
    this.tx(() => {
      this.q('DELETE FROM alerts WHERE id = ?').run(id);
      this.q('DELETE FROM alert_notified WHERE alert_id = ?').run(id);
    });
  }

  notified(alertIds: readonly number[]): Map<number, Map<string, NotifiedState>> {
    const out = new Map<number, Map<string, NotifiedState>>();
    if (alertIds.length === 0) return out;
    const rows = this.db.prepare(`SELECT * FROM alert_notified WHERE alert_id IN (${alertIds.map(() => '?').join(',')})`).all(...alertIds) as {
      alert_id: number;
      recipient: string;
      firing_sent_at: number | null;
      resolved_sent_at: number | null;
    }[];
    for (const r of rows) {
      let m = out.get(r.alert_id);
      if (!m) out.set(r.alert_id, (m = new Map()));
      m.set(r.recipient, { firingSentAt: r.firing_sent_at, resolvedSentAt: r.resolved_sent_at });
    }
    return out;
  }

  groups(): GroupState[] {
    return (
      this.q('SELECT * FROM alert_groups').all() as { key: string; labels: string; created_at: number; wait_until: number; last_flush_at: number | null }[]
    ).map((r) => ({
      key: r.key,
      labels: JSON.parse(r.labels) as Record<string, string>,
      createdAt: r.created_at,
      waitUntil: r.wait_until,
      lastFlushAt: r.last_flush_at,
    }));
  }

  saveGroup(g: GroupState): void {
    this.q('INSERT OR REPLACE INTO alert_groups (key, labels, created_at, wait_until, last_flush_at) VALUES (?, ?, ?, ?, ?)').run(
      g.key,
      JSON.stringify(g.labels),
      g.createdAt,
      g.waitUntil,
      g.lastFlushAt,
    );
  }

  deleteGroup(key: string): void {
    this.tx(() => {
      this.q('DELETE FROM alert_groups WHERE key = ?').run(key);
      this.q('DELETE FROM alert_nflog WHERE group_key = ?').run(key);
    });
  }

  lastSent(groupKey: string, recipient: string): number | null {
    const r = this.q('SELECT last_sent_at FROM alert_nflog WHERE group_key = ? AND recipient = ?').get(groupKey, recipient) as
      { last_sent_at: number } | undefined;
    return r?.last_sent_at ?? null;
  }

  commitNotification(n: { groupKey: string; recipient: string; firing: readonly number[]; resolved: readonly number[]; at: number; mail: NewMail }): number {
    return this.tx(() => {
      const r = this.q(
        `INSERT INTO mail_outbox (created_at, recipient, subject, text, html, headers, message_id, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, '', ?)`,
      ).run(n.at, n.mail.to, n.mail.subject, n.mail.text, n.mail.html, JSON.stringify(n.mail.headers), n.at);
      const id = Number(r.lastInsertRowid);
      // The Message-ID is fixed when queued, so a retry after an unclear failure carries the same one.
      this.q('UPDATE mail_outbox SET message_id = ? WHERE id = ?').run(`<canh-${n.at.toString(36)}-${id}@${this.messageDomain}>`, id);
      const fire = this.q(
        `INSERT INTO alert_notified (alert_id, recipient, firing_sent_at) VALUES (?, ?, ?)
         ON CONFLICT (alert_id, recipient) DO UPDATE SET firing_sent_at = COALESCE(firing_sent_at, excluded.firing_sent_at)`,
      );
      for (const a of n.firing) fire.run(a, n.recipient, n.at);
      const res = this.q('UPDATE alert_notified SET resolved_sent_at = ? WHERE alert_id = ? AND recipient = ?');
      for (const a of n.resolved) res.run(n.at, a, n.recipient);
      this.q('INSERT OR REPLACE INTO alert_nflog (group_key, recipient, last_sent_at) VALUES (?, ?, ?)').run(n.groupKey, n.recipient, n.at);
      return id;
    });
  }

  dueMail(now: number, limit: number): OutboxMail[] {
    return (
      this.q(`SELECT * FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY id LIMIT ?`).all(now, limit) as unknown as MailRow[]
    ).map(toMail);
  }

  nextMailAt(): number | null {
    const r = this.q(`SELECT MIN(next_attempt_at) AS t FROM mail_outbox WHERE state = 'queued'`).get() as { t: number | null };
    return r.t;
  }

  markSent(id: number, at: number): void {
    this.q(`UPDATE mail_outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?`).run(at, id);
    // Keep a week of sent mail for inspection; the outbox is not an archive.
    this.q(`DELETE FROM mail_outbox WHERE state = 'sent' AND sent_at < ?`).run(at - 7 * 86_400_000);
  }

  markRetry(id: number, attempts: number, nextAt: number, error: string): void {
    this.q('UPDATE mail_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?').run(attempts, nextAt, error, id);
  }

  markFailed(id: number, error: string): void {
    this.q(`UPDATE mail_outbox SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?`).run(error, id);
  }

  mails(state?: OutboxMail['state']): OutboxMail[] {
    const rows = state ? this.q('SELECT * FROM mail_outbox WHERE state = ? ORDER BY id').all(state) : this.q('SELECT * FROM mail_outbox ORDER BY id').all();
    return (rows as unknown as MailRow[]).map(toMail);
  }

  addSilence(s: Silence): void {
    this.q('INSERT INTO silences (id, matchers, created_by, comment, starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      s.id,
      JSON.stringify(s.matchers),
      s.createdBy,
      s.comment,
      s.startsAt,
      s.endsAt,
      s.createdAt,
    );
  }

  silences(): Silence[] {
    const rows = this.q('SELECT * FROM silences ORDER BY created_at').all() as {
      id: string;
      matchers: string;
      created_by: string;
      comment: string;
      starts_at: number;
      ends_at: number;
      created_at: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      matchers: JSON.parse(r.matchers) as Silence['matchers'],
      createdBy: r.created_by,
      comment: r.comment,
      startsAt: r.starts_at,
      endsAt: r.ends_at,
      createdAt: r.created_at,
    }));
  }

  expireSilence(id: string, at: number): Silence | undefined {
    const s = this.silences().find((x) => x.id === id || (id.length >= 8 && x.id.startsWith(id)));
    if (!s) return undefined;
    if (s.endsAt > at) {
      s.endsAt = at;
      s.startsAt = Math.min(s.startsAt, at);
      this.q('UPDATE silences SET starts_at = ?, ends_at = ? WHERE id = ?').run(s.startsAt, s.endsAt, s.id);
    }
    return s;
  }

  saveSeries(entries: Iterable<SeriesSeen>): void {
    this.tx(() => {
      const st = this.q('INSERT OR REPLACE INTO alert_series (key, labels, last_seen) VALUES (?, ?, ?)');
      for (const e of entries) st.run(e.key, JSON.stringify(e.labels), e.lastSeen);
    });
  }

  deleteSeries(keys: Iterable<string>): void {
    this.tx(() => {
      const st = this.q('DELETE FROM alert_series WHERE key = ?');
      for (const k of keys) st.run(k);
    });
  }

  series(): SeriesSeen[] {
    const rows = this.q('SELECT key, labels, last_seen FROM alert_series').all() as { key: string; labels: string; last_seen: number }[];
    return rows.map((r) => ({ key: r.key, labels: JSON.parse(r.labels) as Record<string, string>, lastSeen: r.last_seen }));
  }

  saveAgent(a: AgentLiveness): void {
    this.q('INSERT OR REPLACE INTO alert_agents (host, agency, site, online, since) VALUES (?, ?, ?, ?, ?)').run(
      a.host,
      a.agency,
      a.site,
      a.online ? 1 : 0,
      a.since,
    );
  }

  deleteAgent(host: string): void {
    this.q('DELETE FROM alert_agents WHERE host = ?').run(host);
  }

  forgetHosts(hosts: readonly string[]): void {
    if (!hosts.length) return;
    // One scan of each table for the whole list.
    const list = JSON.stringify(hosts);
    this.tx(() => {
      this.q(`DELETE FROM alert_series WHERE json_extract(labels, '$.host') IN (SELECT value FROM json_each(?))`).run(list);
      this.q('DELETE FROM alert_agents WHERE host IN (SELECT value FROM json_each(?))').run(list);
    });
  }

  agents(): AgentLiveness[] {
    const rows = this.q('SELECT * FROM alert_agents').all() as { host: string; agency: string; site: string; online: number; since: number }[];
    return rows.map((r) => ({ host: r.host, agency: r.agency, site: r.site, online: r.online === 1, since: r.since }));
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
