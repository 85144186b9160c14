// Alert state in PostgreSQL: the AlertStore the engine already uses, over a mirror that is
// loaded when an engine is built (at start, and when this collector becomes the leader)
// and written through PgState's queue. Writes of alert state are fenced: only the current
// leader's land. Silences are not: any collector may add or expire one, and every
// collector's mirror follows by NOTIFY. The outbox is not mirrored: due mail is claimed
// row by row (FOR UPDATE SKIP LOCKED) with a lease, so each mail has one sender.
import { alertStateValues, toAlert, toMail, type AlertRow, type AlertStore, type MailRow, type SeriesSeen } from '../alerts/store.ts';
import type { AgentLiveness, Alert, GroupState, NewMail, NotifiedState, OutboxMail, Silence } from '../alerts/types.ts';
import type { PgState, WriteOp } from './postgres.ts';
import { PgAckLog } from './pg-acks.ts';
import { PgMaintenanceStore } from './pg-maintenance.ts';

/** How long a claimed mail is this collector's; past it, another may send it (its sender died). */
const CLAIM_LEASE_MS = 120_000;
/** Longest sync() waits for the write queue (PostgreSQL may be away). */
const SYNC_WAIT_MS = 5_000;

interface SilenceRow {
  id: string;
  matchers: string;
  created_by: string;
  comment: string;
  starts_at: number;
  ends_at: number;
  created_at: number;
}

function toSilence(r: SilenceRow): Silence {
  return {
    id: r.id,
    matchers: JSON.parse(r.matchers) as Silence['matchers'],
    createdBy: r.created_by,
    comment: r.comment,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    createdAt: r.created_at,
  };
}

export class PgAlertStore implements AlertStore {
  private readonly state: PgState;
  private readonly messageDomain: string;
  private alerts = new Map<number, Alert>();
  private notifiedBy = new Map<number, Map<string, NotifiedState>>();
  private groupsByKey = new Map<string, GroupState>();
  private nflog = new Map<string, number>();
  private silenceList: Silence[] = [];
  private seriesByKey = new Map<string, SeriesSeen>();
  private agentsByHost = new Map<string, AgentLiveness>();
  /** Outbox rows not yet sent, as of the last look (smtpHealth, the status page). */
  private outbox: OutboxMail[] = [];
  private readonly listener: (topic: string) => void;
  private closed = false;
  readonly acks: PgAckLog;
  readonly maintenance: PgMaintenanceStore;

  private constructor(state: PgState, opts: { messageDomain?: string }, roles: { acks: PgAckLog; maintenance: PgMaintenanceStore }) {
    this.state = state;
    this.acks = roles.acks;
    this.maintenance = roles.maintenance;
    this.messageDomain = opts.messageDomain ?? 'canh.invalid';
    this.listener = (topic) => {
      if (topic === 'silences' || topic === 'reconnect') void this.reloadSilences().catch(() => {});
      if (topic === 'outbox' || topic === 'reconnect') void this.reloadOutbox().catch(() => {});
    };
    state.listeners.add(this.listener);
  }

  /** A store with everything loaded from PostgreSQL as it is now. */
  static async load(state: PgState, opts: { messageDomain?: string } = {}): Promise<PgAlertStore> {
    const [acks, maintenance] = await Promise.all([PgAckLog.load(state), PgMaintenanceStore.load(state)]);
    const s = new PgAlertStore(state, opts, { acks, maintenance });
    const q = <T extends object>(sql: string) => state.pool.query<T & Record<string, unknown>>(sql).then((r) => r.rows as T[]);
    const [alerts, notified, groups, nflog, series, agents] = await Promise.all([
      q<AlertRow>('SELECT * FROM alerts ORDER BY id'),
      q<{ alert_id: number; recipient: string; firing_sent_at: number | null; resolved_sent_at: number | null }>('SELECT * FROM alert_notified'),
      q<{ key: string; labels: string; created_at: number; wait_until: number; last_flush_at: number | null }>('SELECT * FROM alert_groups'),
      q<{ group_key: string; recipient: string; last_sent_at: number }>('SELECT * FROM alert_nflog'),
      q<{ key: string; labels: string; last_seen: number }>('SELECT * FROM alert_series'),
      q<{ host: string; agency: string; site: string; online: number; since: number }>('SELECT * FROM alert_agents'),
    ]);
    for (const r of alerts) s.alerts.set(r.id, toAlert(r));
    for (const r of notified) {
      let m = s.notifiedBy.get(r.alert_id);
      if (!m) s.notifiedBy.set(r.alert_id, (m = new Map()));
      m.set(r.recipient, { firingSentAt: r.firing_sent_at, resolvedSentAt: r.resolved_sent_at });
    }
    for (const r of groups)
      s.groupsByKey.set(r.key, {
        key: r.key,
        labels: JSON.parse(r.labels) as Record<string, string>,
        createdAt: r.created_at,
        waitUntil: r.wait_until,
        lastFlushAt: r.last_flush_at,
      });
    for (const r of nflog) s.nflog.set(nflogKey(r.group_key, r.recipient), r.last_sent_at);
    for (const r of series) s.seriesByKey.set(r.key, { key: r.key, labels: JSON.parse(r.labels) as Record<string, string>, lastSeen: r.last_seen });
    for (const r of agents) s.agentsByHost.set(r.host, { host: r.host, agency: r.agency, site: r.site, online: r.online === 1, since: r.since });
    await s.reloadSilences();
    await s.reloadOutbox();
    return s;
  }

  private async reloadSilences(): Promise<void> {
    const r = await this.state.pool.query<SilenceRow>('SELECT * FROM silences ORDER BY created_at, id');
    this.silenceList = r.rows.map(toSilence);
  }

  private async reloadOutbox(): Promise<void> {
    const r = await this.state.pool.query<MailRow>(`SELECT * FROM mail_outbox WHERE state <> 'sent' ORDER BY id`);
    this.outbox = r.rows.map(toMail);
  }

  private write(statements: WriteOp['statements'], opts: { fenced?: boolean; topics?: string[] } = {}): void {
    this.state.enqueue({ statements, fenced: opts.fenced ?? true, topics: opts.topics ?? [] });
  }

  openAlerts(): Alert[] {
    return [...this.alerts.values()].sort((a, b) => a.id - b.id).map((a) => structuredClone(a));
  }

  insertAlert(a: Omit<Alert, 'id'>): Alert {
    const alert: Alert = { ...a, id: this.state.nextId() };
    this.alerts.set(alert.id, structuredClone(alert));
    this.write([
      {
        sql: `INSERT INTO alerts (id, fingerprint, rule, labels, severity, state, value, summary, active_at, fired_at, resolved_at, last_sample_at, clear_since, details, events)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        params: [alert.id, a.fingerprint, a.rule, JSON.stringify(a.labels), ...alertStateValues(a)],
      },
    ]);
    return alert;
  }

  updateAlert(a: Alert): void {
    this.alerts.set(a.id, structuredClone(a));
    this.write([
      {
        sql: `UPDATE alerts SET severity = $1, state = $2, value = $3, summary = $4, active_at = $5, fired_at = $6, resolved_at = $7,
              last_sample_at = $8, clear_since = $9, details = $10, events = $11 WHERE id = $12`,
        params: [...alertStateValues(a), a.id],
      },
    ]);
  }

  /** Only the told events' keys: the row itself is the judging collector's (state/host-rules.ts). */
  eventsTold(id: number, keys: readonly string[]): void {
    const a = this.alerts.get(id);
    if (a?.events) for (const e of a.events.list) if (keys.includes(e.key)) e.news = false;
    this.write([{ sql: 'UPDATE alerts SET events_told = $1 WHERE id = $2', params: [JSON.stringify(keys), id] }]);
  }

  deleteAlert(id: number): void {
    this.alerts.delete(id);
    this.notifiedBy.delete(id);
    this.write([
      { sql: 'DELETE FROM alerts WHERE id = $1', params: [id] },
      { sql: 'DELETE FROM alert_notified WHERE alert_id = $1', params: [id] },
    ]);
  }

  notified(alertIds: readonly number[]): Map<number, Map<string, NotifiedState>> {
    const out = new Map<number, Map<string, NotifiedState>>();
    for (const id of alertIds) {
      const m = this.notifiedBy.get(id);
      if (m) out.set(id, new Map([...m].map(([k, v]) => [k, { ...v }])));
    }
    return out;
  }

  groups(): GroupState[] {
    return [...this.groupsByKey.values()].map((g) => ({ ...g, labels: { ...g.labels } }));
  }

  saveGroup(g: GroupState): void {
    this.groupsByKey.set(g.key, { ...g, labels: { ...g.labels } });
    this.write([
      {
        sql: `INSERT INTO alert_groups (key, labels, created_at, wait_until, last_flush_at) VALUES ($1, $2, $3, $4, $5)
              ON CONFLICT (key) DO UPDATE SET labels = excluded.labels, created_at = excluded.created_at, wait_until = excluded.wait_until, last_flush_at = excluded.last_flush_at`,
        params: [g.key, JSON.stringify(g.labels), g.createdAt, g.waitUntil, g.lastFlushAt],
      },
    ]);
  }

  deleteGroup(key: string): void {
    this.groupsByKey.delete(key);
    for (const k of [...this.nflog.keys()]) if (JSON.parse(k)[0] === key) this.nflog.delete(k);
    this.write([
      { sql: 'DELETE FROM alert_groups WHERE key = $1', params: [key] },
      { sql: 'DELETE FROM alert_nflog WHERE group_key = $1', params: [key] },
    ]);
  }

  lastSent(groupKey: string, recipient: string): number | null {
    return this.nflog.get(nflogKey(groupKey, recipient)) ?? null;
  }

  commitNotification(n: { groupKey: string; recipient: string; firing: readonly number[]; resolved: readonly number[]; at: number; mail: NewMail }): number {
    const id = this.state.nextId();
    const messageId = `<canh-${n.at.toString(36)}-${id}@${this.messageDomain}>`;
    const statements: WriteOp['statements'] = [
      {
        sql: `INSERT INTO mail_outbox (id, created_at, recipient, subject, text, html, headers, message_id, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        params: [id, n.at, n.mail.to, n.mail.subject, n.mail.text, n.mail.html, JSON.stringify(n.mail.headers), messageId, n.at],
      },
    ];
    for (const a of n.firing) {
      let m = this.notifiedBy.get(a);
      if (!m) this.notifiedBy.set(a, (m = new Map()));
      const prev = m.get(n.recipient);
      m.set(n.recipient, { firingSentAt: prev?.firingSentAt ?? n.at, resolvedSentAt: prev?.resolvedSentAt ?? null });
      statements.push({
        sql: `INSERT INTO alert_notified (alert_id, recipient, firing_sent_at) VALUES ($1, $2, $3)
              ON CONFLICT (alert_id, recipient) DO UPDATE SET firing_sent_at = COALESCE(alert_notified.firing_sent_at, excluded.firing_sent_at)`,
        params: [a, n.recipient, n.at],
      });
    }
    for (const a of n.resolved) {
      const s = this.notifiedBy.get(a)?.get(n.recipient);
      if (s) s.resolvedSentAt = n.at;
      statements.push({ sql: 'UPDATE alert_notified SET resolved_sent_at = $1 WHERE alert_id = $2 AND recipient = $3', params: [n.at, a, n.recipient] });
    }
    this.nflog.set(nflogKey(n.groupKey, n.recipient), n.at);
    statements.push({
      sql: `INSERT INTO alert_nflog (group_key, recipient, last_sent_at) VALUES ($1, $2, $3) ON CONFLICT (group_key, recipient) DO UPDATE SET last_sent_at = excluded.last_sent_at`,
      params: [n.groupKey, n.recipient, n.at],
    });
    // One operation: the mail and what it tells are stored together or not at all.
    this.write(statements, { topics: ['outbox'] });
    this.outbox.push({
      id,
      createdAt: n.at,
      to: n.mail.to,
      subject: n.mail.subject,
      text: n.mail.text,
      html: n.mail.html,
      headers: n.mail.headers,
      messageId,
      attempts: 0,
      nextAttemptAt: n.at,
      lastError: null,
      state: 'queued',
      sentAt: null,
    });
    return id;
  }

  /** Without a claim nothing is due here: the mailer claims through claimDueMail. */
  dueMail(): OutboxMail[] {
    return [];
  }

  async claimDueMail(now: number, limit: number): Promise<OutboxMail[]> {
    const r = await this.state.pool.query<MailRow>(
      `UPDATE mail_outbox SET claimed_by = $1, claimed_until = $2
       WHERE id IN (
         SELECT id FROM mail_outbox
         WHERE state = 'queued' AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3)
         ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [this.state.collectorId, now + CLAIM_LEASE_MS, now, limit],
    );
    return r.rows.map(toMail).sort((a, b) => a.id - b.id);
  }

  async sync(): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.state.flush(), new Promise<void>((resolve) => (t = setTimeout(resolve, SYNC_WAIT_MS)))]).finally(() => clearTimeout(t));
  }

  nextMailAt(): number | null {
    const q = this.outbox.filter((m) => m.state === 'queued');
    return q.length ? Math.min(...q.map((m) => m.nextAttemptAt)) : null;
  }

  private settle(id: number, patch: Partial<OutboxMail>): void {
    const m = this.outbox.find((x) => x.id === id);
    if (m) Object.assign(m, patch);
    this.outbox = this.outbox.filter((x) => x.state !== 'sent');
  }

  markSent(id: number, at: number): void {
    this.settle(id, { state: 'sent', sentAt: at, lastError: null });
    this.write(
      [
        { sql: `UPDATE mail_outbox SET state = 'sent', sent_at = $1, last_error = NULL, claimed_until = NULL WHERE id = $2`, params: [at, id] },
        // Keep a week of sent mail for inspection; the outbox is not an archive.
        { sql: `DELETE FROM mail_outbox WHERE state = 'sent' AND sent_at < $1`, params: [at - 7 * 86_400_000] },
      ],
      { fenced: false, topics: ['outbox'] },
    );
  }

  markRetry(id: number, attempts: number, nextAt: number, error: string): void {
    this.settle(id, { attempts, nextAttemptAt: nextAt, lastError: error });
    this.write(
      [
        {
          sql: 'UPDATE mail_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3, claimed_until = NULL WHERE id = $4',
          params: [attempts, nextAt, error, id],
        },
      ],
      {
        fenced: false,
        topics: ['outbox'],
      },
    );
  }

  markFailed(id: number, error: string): void {
    const m = this.outbox.find((x) => x.id === id);
    this.settle(id, { state: 'failed', attempts: (m?.attempts ?? 0) + 1, lastError: error });
    this.write(
      [{ sql: `UPDATE mail_outbox SET state = 'failed', attempts = attempts + 1, last_error = $1, claimed_until = NULL WHERE id = $2`, params: [error, id] }],
      {
        fenced: false,
        topics: ['outbox'],
      },
    );
  }

  /** Mail not yet sent as of the last look (sent mail is in PostgreSQL only). */
  mails(state?: OutboxMail['state']): OutboxMail[] {
    return this.outbox.filter((m) => !state || m.state === state).map((m) => ({ ...m }));
  }

  addSilence(s: Silence): void {
    this.silenceList.push({ ...s });
    this.write(
      [
        {
          sql: 'INSERT INTO silences (id, matchers, created_by, comment, starts_at, ends_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          params: [s.id, JSON.stringify(s.matchers), s.createdBy, s.comment, s.startsAt, s.endsAt, s.createdAt],
        },
      ],
      { fenced: false, topics: ['silences'] },
    );
  }

  silences(): Silence[] {
    return this.silenceList.map((s) => ({ ...s }));
  }

  expireSilence(id: string, at: number): Silence | undefined {
    const s = this.silenceList.find((x) => x.id === id || (id.length >= 8 && x.id.startsWith(id)));
    if (!s) return undefined;
    if (s.endsAt > at) {
      s.endsAt = at;
      s.startsAt = Math.min(s.startsAt, at);
      this.write([{ sql: 'UPDATE silences SET starts_at = $1, ends_at = $2 WHERE id = $3', params: [s.startsAt, s.endsAt, s.id] }], {
        fenced: false,
        topics: ['silences'],
      });
    }
    return { ...s };
  }

  saveSeries(entries: Iterable<SeriesSeen>): void {
    const statements: WriteOp['statements'] = [];
    for (const e of entries) {
      this.seriesByKey.set(e.key, { ...e });
      statements.push({
        sql: 'INSERT INTO alert_series (key, labels, last_seen) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET labels = excluded.labels, last_seen = excluded.last_seen',
        params: [e.key, JSON.stringify(e.labels), e.lastSeen],
      });
    }
    if (statements.length) this.write(statements);
  }

  deleteSeries(keys: Iterable<string>): void {
    const statements: WriteOp['statements'] = [];
    for (const k of keys) {
      this.seriesByKey.delete(k);
      statements.push({ sql: 'DELETE FROM alert_series WHERE key = $1', params: [k] });
    }
    if (statements.length) this.write(statements);
  }

  series(): SeriesSeen[] {
    return [...this.seriesByKey.values()].map((s) => ({ ...s, labels: { ...s.labels } }));
  }

  saveAgent(a: AgentLiveness): void {
    this.agentsByHost.set(a.host, { ...a });
    this.write([
      {
        sql: `INSERT INTO alert_agents (host, agency, site, online, since) VALUES ($1, $2, $3, $4, $5)
              ON CONFLICT (host) DO UPDATE SET agency = excluded.agency, site = excluded.site, online = excluded.online, since = excluded.since`,
        params: [a.host, a.agency, a.site, a.online ? 1 : 0, a.since],
      },
    ]);
  }

  deleteAgent(host: string): void {
    this.agentsByHost.delete(host);
    this.write([{ sql: 'DELETE FROM alert_agents WHERE host = $1', params: [host] }]);
  }

  agents(): AgentLiveness[] {
    return [...this.agentsByHost.values()].map((a) => ({ ...a }));
  }

  /** Rows other collectors recorded go too: host rules' series (state/host-rules.ts), the
   *  pending episodes they wrote (the leader does not hold those; a collector's own disk,
   *  `keep`, stays: a revoked agent may bear a collector's name), and the revoked agents'
   *  session rows (nothing will replace them), with any session row of an agent `agent
   *  remove` deleted. */
  forgetHosts(hosts: readonly string[], keep: readonly string[] = []): void {
    if (!hosts.length) return;
    const gone = new Set(hosts);
    const kept = new Set(keep);
    for (const [k, s] of this.seriesByKey) if (gone.has(s.labels.host ?? '')) this.seriesByKey.delete(k);
    for (const h of hosts) this.agentsByHost.delete(h);
    for (const [id, a] of this.alerts) if (a.state === 'pending' && gone.has(a.labels.host ?? '') && !kept.has(a.rule)) this.alerts.delete(id);
    const list = [...gone];
    this.write([
      { sql: `DELETE FROM alert_series WHERE (labels::jsonb ->> 'host') = ANY($1::text[])`, params: [list] },
      { sql: 'DELETE FROM alert_agents WHERE host = ANY($1::text[])', params: [list] },
      {
        // A collector's own disk is labelled with the collector's host: not the agent's episode.
        sql: `DELETE FROM alerts WHERE state = 'pending' AND (labels::jsonb ->> 'host') = ANY($1::text[]) AND NOT (rule = ANY($2::text[]))`,
        params: [list, [...kept]],
      },
      {
        sql: `DELETE FROM canh_agent_sessions s WHERE s.agent_id IN (SELECT id FROM agents WHERE name = ANY($1::text[]) AND revoked_at IS NOT NULL)
              OR NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = s.agent_id)`,
        params: [list],
      },
    ]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state.listeners.delete(this.listener);
    this.acks.close();
    this.maintenance.close();
  }
}

function nflogKey(group: string, recipient: string): string {
  return JSON.stringify([group, recipient]);
}
