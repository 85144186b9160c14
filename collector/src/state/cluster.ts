// What several collectors on one PostgreSQL do together, beside the shared tables:
//
// - Alert inputs. Host rules (thresholds labelled by host) are judged on the collector the
//   host's agent is connected to (state/host-rules.ts). What the leader's rules need of
//   the agents' batches (security events, points a rule spanning agents or an absence rule
//   would judge, agents going online or offline) and the transitions of host rules'
//   episodes go to one log table; the leader alone feeds them to its alert engine, in
//   order, and records how far it got (the cursor) in the same fenced write queue as the
//   alert state those inputs produced. Rules spanning agents (one source attacking N
//   hosts, agent offline, uplink inhibition) thus see every agent, and a new leader
//   carries on from the cursor. Before that it replays the events of the last
//   REPLAY_MS up to the cursor into the counting windows and sightings only (lost with
//   the old leader's memory); the episodes they made are in the shared state already.
//   Agents whose last session was on a collector that died are marked offline by the
//   leader (reconcile), since nobody else will say so.
// - Agent sessions. The newest session of an agent wins across collectors: each hello
//   records (collector, started_at) for the agent, and a collector holding an older
//   session of it closes that one (close code "replaced").
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Point, SecurityEvent } from '@canh/protocol';
import type { Identity } from '../identity.ts';
import type { AlertEngine } from '../alerts/engine.ts';
import { toAlert, type AlertRow } from '../alerts/store.ts';
import type { Alert } from '../alerts/types.ts';
import type { PgState } from './postgres.ts';

/** Events of this long before the cursor are replayed to a new leader's engine. */
export const REPLAY_MS = 15 * 60_000;
const READ_BATCH = 500;
const POLL_MS = 250;
const PRUNE_EVERY_MS = 60_000;
/** Inputs gathered into one INSERT: at most this many rows, or this long. */
const APPEND_ROWS = 200;
const APPEND_WAIT_MS = 20;
/** How often the leader looks for agents whose newest session was on a collector that is gone. */
const RECONCILE_MS = 5_000;
/** A collector whose heartbeat is older than this is gone (its agents are offline unless seen since). */
const COLLECTOR_GONE_MS = 15_000;
/** An own-disk episode no live collector claims, with no row left of the one that judged it
 *  (stopped cleanly, or gone for a day): resolved once unclaimed this long (a restart is quicker). */
export const OWN_DISK_UNCLAIMED_MS = 5 * 60_000;

interface InputRow {
  id: number;
  at: number;
  kind: string;
  body: string;
}

type InputBody = { id: Identity; points?: Point[]; events?: SecurityEvent[]; online?: boolean; at?: number; alert?: number };

function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
}

export class AlertInputs {
  readonly stats = { forwarded: 0, consumed: 0, replayed: 0, failedInputs: 0 };
  private readonly state: PgState;
  private readonly log: Logger;
  private engine: AlertEngine | undefined;
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private lastPrune = 0;
  private lastReconcile = 0;
  private pending: [number, string, string][] = [];
  /** Own-disk episodes seen unclaimed with no row of their collector left, since when. */
  private readonly unclaimed = new Map<number, number>();
  private appendTimer: NodeJS.Timeout | undefined;

  constructor(state: PgState, log: Logger) {
    this.state = state;
    this.log = log;
    state.listeners.add((topic) => {
      if (topic === 'inputs' && this.engine) void this.read();
    });
  }

  /** A batch's alert inputs, for the leader (whichever collector it is). */
  batch(id: Identity, points: Point[], events: SecurityEvent[]): void {
    if (!points.length && !events.length) return;
    this.append('batch', { id, ...(points.length ? { points } : {}), ...(events.length ? { events } : {}) });
  }

  agentState(id: Identity, online: boolean, at: number): void {
    this.append('agent', { id, online, at });
  }

  /** An episode of a host rule judged here started firing or resolved (state/host-rules.ts):
   *  the leader reads its row again and mails it. Written after the row's own write. */
  alert(id: Identity, alertId: number): void {
    this.append('alert', { id, alert: alertId });
  }

  private append(kind: string, body: InputBody): void {
    this.stats.forwarded++;
    this.pending.push([Date.now(), kind, toJson(body)]);
    // Inputs of many batches go as one multi-row INSERT: one round trip, not one per batch.
    if (this.pending.length >= APPEND_ROWS) this.appendNow();
    else this.appendTimer ??= setTimeout(() => this.appendNow(), APPEND_WAIT_MS);
  }

  private appendNow(): void {
    if (this.appendTimer) clearTimeout(this.appendTimer);
    this.appendTimer = undefined;
    const rows = this.pending.splice(0);
    if (!rows.length) return;
    const params: unknown[] = [];
    const values = rows.map(
      ([at, kind, body]) => `($${params.push(at)}, $${params.push(this.state.collectorId)}, $${params.push(kind)}, $${params.push(body)})`,
    );
    this.state.enqueue({
      statements: [{ sql: `INSERT INTO canh_alert_inputs (at, collector, kind, body) VALUES ${values.join(', ')}`, params }],
      fenced: false,
      topics: ['inputs'],
    });
  }

  /** This collector leads: feed `engine` from the cursor on (after replaying recent events). */
  async lead(engine: AlertEngine): Promise<void> {
    const r = await this.state.pool.query<{ input_cursor: number }>('SELECT input_cursor FROM canh_leader WHERE one = 1');
    this.cursor = r.rows[0]?.input_cursor ?? 0;
    const since = Date.now() - REPLAY_MS;
    const old = await this.state.pool.query<InputRow>(
      `SELECT id, at, kind, body FROM canh_alert_inputs WHERE id <= $1 AND at >= $2 AND kind = 'batch' ORDER BY id`,
      [this.cursor, since],
    );
    for (const row of old.rows) {
      const b = this.parse(row);
      if (b?.events?.length) {
        engine.warmEvents(b.id, b.events);
        this.stats.replayed++;
      }
    }
    this.engine = engine;
    this.log.info({ cursor: this.cursor, replayed: this.stats.replayed }, 'alert inputs: leading from the cursor');
    this.timer = setInterval(() => void this.read(), POLL_MS);
    this.timer.unref();
    await this.read();
  }

  /** No longer the leader: stop feeding. */
  follow(): void {
    this.engine = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private parse(row: InputRow): InputBody | undefined {
    try {
      return JSON.parse(row.body) as InputBody;
    } catch {
      this.stats.failedInputs++;
      return undefined;
    }
  }

  read(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again && this.engine);
    })()
      .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'alert inputs not read (PostgreSQL away?); retrying'))
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  /**
   * Agents online as the leader knows them whose newest session is on a collector that is
   * gone (no heartbeat for COLLECTOR_GONE_MS, stopped, or started again since the session
   * began), or who have no session on record (state migrated from SQLite): nobody will say
   * they went offline, so the leader does, from that collector's last heartbeat (its
   * restart; now when unknown). Run in the same sequence as the inputs: an agent that reconnected elsewhere
   * has its new session committed before its "online" input, so it is not taken for gone.
   */
  private async reconcile(engine: AlertEngine): Promise<void> {
    const now = Date.now();
    if (now - this.lastReconcile < RECONCILE_MS) return;
    this.lastReconcile = now;
    const r = await this.state.pool.query<{ host: string; agency: string; site: string; last: number | null }>(
      `SELECT a.name AS host, a.agency, a.site,
              CASE WHEN s.agent_id IS NULL OR c.id IS NULL THEN NULL WHEN c.started_at > s.started_at THEN c.started_at ELSE c.heartbeat_at END AS last
       FROM alert_agents l JOIN agents a ON a.name = l.host
       LEFT JOIN canh_agent_sessions s ON s.agent_id = a.id LEFT JOIN canh_collectors c ON c.id = s.collector
       WHERE l.online = 1 AND a.revoked_at IS NULL AND (s.agent_id IS NULL OR c.id IS NULL OR c.heartbeat_at < $1 OR c.started_at > s.started_at)`,
      [now - COLLECTOR_GONE_MS],
    );
    if (this.engine !== engine) return;
    for (const row of r.rows) engine.agentGone({ host: row.host, agency: row.agency, site: row.site }, row.last ?? now);
    await this.reconcileOwnDisks(engine, now);
  }

  /**
   * Own-disk episodes (a collector's InfluxDB disk, state/host-rules.ts self()) that no live
   * collector claims (heartbeat within COLLECTOR_GONE_MS naming that host and data folder,
   * or that host without naming a folder): the collector that judged them left the cluster,
   * and nobody else will. They end from that collector's last heartbeat; when no row of it
   * is left, after OWN_DISK_UNCLAIMED_MS unclaimed.
   */
  private async reconcileOwnDisks(engine: AlertEngine, now: number): Promise<void> {
    const rules = engine.ownDiskRules();
    if (!rules.length) return;
    const host = `(a.labels::jsonb ->> 'host')`;
    const path = `(a.labels::jsonb ->> 'path')`;
    const r = await this.state.pool.query<AlertRow & { gone_at: number | null }>(
      `SELECT a.*, (SELECT max(g.heartbeat_at) FROM canh_collectors g WHERE g.disk_host = ${host} AND (${path} IS NULL OR g.disk_path = ${path})) AS gone_at
       FROM alerts a WHERE a.rule = ANY($1::text[]) AND a.state IN ('pending', 'firing') AND NOT EXISTS (
         SELECT 1 FROM canh_collectors c WHERE c.heartbeat_at >= $2 AND (
           (c.disk_host IS NULL AND c.host = ${host}) OR (c.disk_host = ${host} AND (c.disk_path IS NULL OR ${path} IS NULL OR c.disk_path = ${path}))))`,
      [rules, now - COLLECTOR_GONE_MS],
    );
    if (this.engine !== engine) return;
    const seen = new Set<number>();
    for (const row of r.rows) {
      seen.add(row.id);
      const since = row.gone_at ?? this.unclaimed.get(row.id) ?? now;
      if (row.gone_at === null && now - since < OWN_DISK_UNCLAIMED_MS) {
        this.unclaimed.set(row.id, since);
        continue;
      }
      this.unclaimed.delete(row.id);
      const a = toAlert(row);
      this.log.warn({ rule: a.rule, labels: a.labels, since, id: a.id }, 'own-disk alert of a collector that left the cluster: resolved, no longer watched');
      engine.collectorGone([a], since);
    }
    for (const id of this.unclaimed.keys()) if (!seen.has(id)) this.unclaimed.delete(id);
  }

  /** The rows of the episodes named by this read's 'alert' inputs, as PostgreSQL holds them now. */
  private async alertRows(rows: InputRow[]): Promise<Map<number, Alert>> {
    const ids = new Set<number>();
    for (const row of rows) {
      if (row.kind !== 'alert') continue;
      const n = this.parse(row)?.alert;
      if (typeof n === 'number') ids.add(n);
    }
    if (!ids.size) return new Map();
    const r = await this.state.pool.query<AlertRow>('SELECT * FROM alerts WHERE id = ANY($1::bigint[])', [[...ids]]);
    return new Map(r.rows.map((x) => [x.id, toAlert(x)]));
  }

  private async readOnce(): Promise<void> {
    for (;;) {
      const engine = this.engine;
      if (!engine) return;
      await this.reconcile(engine);
      const r = await this.state.pool.query<InputRow>('SELECT id, at, kind, body FROM canh_alert_inputs WHERE id > $1 ORDER BY id LIMIT $2', [
        this.cursor,
        READ_BATCH,
      ]);
      if (!r.rows.length || this.engine !== engine) break;
      const alerts = await this.alertRows(r.rows);
      if (this.engine !== engine) break;
      for (const row of r.rows) {
        const b = this.parse(row);
        if (!b) continue;
        if (row.kind === 'batch') engine.onBatch(b.id, { points: b.points ?? [], events: b.events ?? [] });
        else if (row.kind === 'agent' && typeof b.online === 'boolean') engine.onAgentState(b.id, b.online, b.at ?? row.at);
        else if (row.kind === 'alert' && typeof b.alert === 'number') engine.applyAlert(b.alert, alerts.get(b.alert));
        this.stats.consumed++;
      }
      this.cursor = r.rows[r.rows.length - 1]!.id;
      // What these inputs did to episodes is queued before the cursor that says they were read.
      engine.tracker.flush();
      // Fenced, after the alert state these inputs made: both land together, or neither.
      this.state.enqueue({
        statements: [{ sql: 'UPDATE canh_leader SET input_cursor = GREATEST(input_cursor, $1) WHERE one = 1', params: [this.cursor] }],
        fenced: true,
        topics: [],
      });
      if (r.rows.length < READ_BATCH) break;
    }
    const now = Date.now();
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.state.enqueue({
        statements: [{ sql: 'DELETE FROM canh_alert_inputs WHERE id <= $1 AND at < $2', params: [this.cursor, now - REPLAY_MS] }],
        fenced: true,
        topics: [],
      });
    }
  }

  /** Stop feeding; what was gathered goes into the write queue (PgState.stop flushes it). */
  stop(): void {
    this.appendNow();
    this.follow();
  }
}

/** The newest session of an agent wins, across collectors. */
export class AgentSessions {
  readonly stats = { replaced: 0 };
  private readonly state: PgState;
  private readonly mine = new Map<string, { session: string; startedAt: number }>();
  private readonly replace: (agentId: string) => boolean;

  constructor(state: PgState, replace: (agentId: string) => boolean) {
    this.state = state;
    this.replace = replace;
    state.listeners.add((topic) => {
      if (topic.startsWith('session:')) void this.check(topic.slice('session:'.length));
    });
  }

  /** `recorded`: called once the session row is committed (or the write failed). */
  online(agentId: string, at: number, recorded?: () => void): void {
    const session = randomUUID();
    this.mine.set(agentId, { session, startedAt: at });
    this.state.enqueue({
      statements: [
        {
          sql: `INSERT INTO canh_agent_sessions (agent_id, collector, session, started_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (agent_id) DO UPDATE SET collector = excluded.collector, session = excluded.session, started_at = excluded.started_at
                WHERE excluded.started_at >= canh_agent_sessions.started_at`,
          params: [agentId, this.state.collectorId, session, at],
        },
      ],
      fenced: false,
      topics: [`session:${agentId}`],
      ...(recorded ? { done: () => recorded() } : {}),
    });
  }

  offline(agentId: string): void {
    this.mine.delete(agentId);
  }

  private async check(agentId: string): Promise<void> {
    const m = this.mine.get(agentId);
    if (!m) return;
    const r = await this.state.pool
      .query<{ session: string; started_at: number }>('SELECT session, started_at FROM canh_agent_sessions WHERE agent_id = $1', [agentId])
      .catch(() => undefined);
    const row = r?.rows[0];
    if (!row || row.session === m.session || row.started_at < m.startedAt) return;
    this.mine.delete(agentId);
    if (this.replace(agentId)) this.stats.replaced++;
  }
}
