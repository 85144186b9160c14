// Acknowledgement: someone says "I have this" about a firing alert. An alert episode is
// "handled" (đã xử lý) only when someone acknowledged it; one that cleared with nobody's
// word resolved by itself (tự phục hồi) — the monthly report keeps the two apart.
// Acks come from the admin API, the status page's button and `canh-collector alert ack`;
// all three write one row here (who, when, a comment) through acknowledge(). The running
// engine then records each in InfluxDB as an `alert` point with state "acknowledged" on
// the alert's own series (recordPending), so the report and Grafana see it; a row waits
// until InfluxDB took it, so an ack made while InfluxDB (or the collector) is down is not lost.
import type { DatabaseSync } from 'node:sqlite';
import { CanhError } from '@canh/core';
import { encodePoint } from '@canh/protocol';
import type { Alert } from './types.ts';
import { alertPointTags } from './tracker.ts';

export interface Ack {
  alertId: number;
  rule: string;
  labels: Record<string, string>;
  severity: string;
  by: string;
  comment: string;
  at: number;
}

export const MAX_ACK_COMMENT = 500;

/** A row of alert_acks, as both backends store it (state/pg-acks.ts too). */
export interface AckRow {
  alert_id: number;
  rule: string;
  labels: string;
  severity: string;
  by: string;
  comment: string;
  at: number;
  recorded: number;
}

export const toAck = (r: AckRow): Ack => ({
  alertId: r.alert_id,
  rule: r.rule,
  labels: JSON.parse(r.labels) as Record<string, string>,
  severity: r.severity,
  by: r.by,
  comment: r.comment,
  at: r.at,
});

/** Acknowledgements, in SQLite (AckStore) or PostgreSQL (state/pg-acks.ts). */
export interface AckLog {
  get(alertId: number): Ack | undefined;
  /** Acks of these alerts, by alert id (the status page and `alert list`). */
  of(ids: readonly number[]): Map<number, Ack>;
  /** The first acknowledgement of an episode stands; a second one is answered with it. */
  add(a: Ack): Ack;
  /** Acks not yet recorded in InfluxDB, oldest first. */
  pending(limit?: number): Ack[];
  markRecorded(ids: readonly number[]): void;
  /** Rows of episodes long over are not needed once recorded (the report reads InfluxDB). */
  prune(before: number): void;
}

export class AckStore implements AckLog {
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS alert_acks (
      alert_id INTEGER PRIMARY KEY, rule TEXT NOT NULL, labels TEXT NOT NULL, severity TEXT NOT NULL,
      by TEXT NOT NULL, comment TEXT NOT NULL, at INTEGER NOT NULL, recorded INTEGER NOT NULL DEFAULT 0)`);
  }

  get(alertId: number): Ack | undefined {
    const r = this.db.prepare('SELECT * FROM alert_acks WHERE alert_id = ?').get(alertId) as AckRow | undefined;
    return r ? toAck(r) : undefined;
  }

  /** Acks of these alerts, by alert id (the status page and `alert list`). */
  of(ids: readonly number[]): Map<number, Ack> {
    const out = new Map<number, Ack>();
    if (!ids.length) return out;
    const rows = this.db.prepare(`SELECT * FROM alert_acks WHERE alert_id IN (${ids.map(() => '?').join(',')})`).all(...ids) as unknown as AckRow[];
    for (const r of rows) out.set(r.alert_id, toAck(r));
    return out;
  }

  /** The first acknowledgement of an episode stands; a second one is answered with it. */
  add(a: Ack): Ack {
    this.db
      .prepare('INSERT INTO alert_acks (alert_id, rule, labels, severity, by, comment, at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING')
      .run(a.alertId, a.rule, JSON.stringify(a.labels), a.severity, a.by, a.comment, a.at);
    return this.get(a.alertId)!;
  }

  pending(limit = 100): Ack[] {
    return (this.db.prepare('SELECT * FROM alert_acks WHERE recorded = 0 ORDER BY at LIMIT ?').all(limit) as unknown as AckRow[]).map(toAck);
  }

  markRecorded(ids: readonly number[]): void {
    const st = this.db.prepare('UPDATE alert_acks SET recorded = 1 WHERE alert_id = ?');
    for (const id of ids) st.run(id);
  }

  /** Rows of episodes long over are not needed once recorded (the report reads InfluxDB). */
  prune(before: number): void {
    this.db.prepare('DELETE FROM alert_acks WHERE recorded = 1 AND at < ?').run(before);
  }
}

/**
 * Acknowledge a firing alert. `by` is who (the CLI's --author or user, the status page's
 * logged-in user, the API's `by`): never taken from the alert or its labels.
 */
export function acknowledge(acks: AckLog, alerts: Iterable<Alert>, id: number, by: string, comment: string, now: number): Ack {
  const who = by.trim();
  const why = comment.trim();
  if (!who) throw new CanhError('CANH_ERR_ACK_INVALID', 'say who acknowledges the alert (--author, or the API\'s "by")');
  if (who.length > 100) throw new CanhError('CANH_ERR_ACK_INVALID', 'the name of who acknowledges is longer than 100 characters');
  if (why.length > MAX_ACK_COMMENT) throw new CanhError('CANH_ERR_ACK_INVALID', `the comment is longer than ${MAX_ACK_COMMENT} characters`);
  let alert: Alert | undefined;
  for (const a of alerts) if (a.id === id && a.state === 'firing') alert = a;
  if (!alert) throw new CanhError('CANH_ERR_ALERT_NOT_FOUND', `no firing alert has id ${id} (it may have resolved meanwhile; see: alert list)`);
  return acks.add({ alertId: alert.id, rule: alert.rule, labels: alert.labels, severity: alert.severity, by: who, comment: why, at: now });
}

/** The `alert` point of an acknowledgement, on the series of the alert it acknowledges. */
export function ackLine(a: Ack): string | undefined {
  const tags = alertPointTags({ rule: a.rule, labels: a.labels, severity: a.severity as Alert['severity'] });
  const fields: Record<string, string> = { state: 'acknowledged', summary: a.rule, acknowledged_by: a.by };
  if (a.comment) fields.ack_comment = a.comment;
  return encodePoint({ name: 'alert', time: a.at, tags, fields });
}

export function ackJson(a: Ack): Record<string, unknown> {
  return { alert_id: a.alertId, rule: a.rule, labels: a.labels, by: a.by, comment: a.comment, at: new Date(a.at).toISOString() };
}
