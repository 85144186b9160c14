// Acknowledgements in PostgreSQL: the AckLog the engine, the status page, the API and
// `canh-collector alert ack` use, over a mirror every collector reloads on NOTIFY. The
// first acknowledgement of an episode stands (ON CONFLICT DO NOTHING; the reload after
// the NOTIFY shows the one PostgreSQL kept if two collectors took one at once). The
// leader records pending ones in InfluxDB and marks them; those writes are not fenced
// (marking twice is harmless).
import { toAck, type Ack, type AckLog, type AckRow } from '../alerts/ack.ts';
import type { PgState } from './postgres.ts';
import { PgMirror } from './pg-mirror.ts';

export class PgAckLog extends PgMirror implements AckLog {
  private acks = new Map<number, { ack: Ack; recorded: boolean }>();

  private constructor(state: PgState) {
    super(state, 'acks');
  }

  static load(state: PgState): Promise<PgAckLog> {
    return new PgAckLog(state).loaded();
  }

  protected async reload(): Promise<void> {
    const r = await this.state.pool.query<AckRow>('SELECT * FROM alert_acks ORDER BY at, alert_id');
    this.acks = new Map(r.rows.map((row) => [row.alert_id, { ack: toAck(row), recorded: row.recorded === 1 }]));
  }

  get(alertId: number): Ack | undefined {
    const a = this.acks.get(alertId);
    return a ? structuredClone(a.ack) : undefined;
  }

  of(ids: readonly number[]): Map<number, Ack> {
    const out = new Map<number, Ack>();
    for (const id of ids) {
      const a = this.get(id);
      if (a) out.set(id, a);
    }
    return out;
  }

  add(a: Ack): Ack {
    const had = this.get(a.alertId);
    if (had) return had;
    this.acks.set(a.alertId, { ack: structuredClone(a), recorded: false });
    this.write(
      'INSERT INTO alert_acks (alert_id, rule, labels, severity, by, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (alert_id) DO NOTHING',
      [a.alertId, a.rule, JSON.stringify(a.labels), a.severity, a.by, a.comment, a.at],
    );
    return structuredClone(a);
  }

  pending(limit = 100): Ack[] {
    return [...this.acks.values()]
      .filter((a) => !a.recorded)
      .map((a) => structuredClone(a.ack))
      .sort((x, y) => x.at - y.at)
      .slice(0, limit);
  }

  markRecorded(ids: readonly number[]): void {
    if (!ids.length) return;
    for (const id of ids) {
      const a = this.acks.get(id);
      if (a) a.recorded = true;
    }
    this.write('UPDATE alert_acks SET recorded = 1 WHERE alert_id = ANY($1::bigint[])', [[...ids]]);
  }

  prune(before: number): void {
    let any = false;
    for (const [id, a] of this.acks)
      if (a.recorded && a.ack.at < before) {
        this.acks.delete(id);
        any = true;
      }
    if (any) this.write('DELETE FROM alert_acks WHERE recorded = 1 AND at < $1', [before]);
  }

  private write(sql: string, params: unknown[]): void {
    this.state.enqueue({ statements: [{ sql, params }], fenced: false, topics: ['acks'] });
  }
}
