// What several collectors on one PostgreSQL do together, beside the shared tables:
//
// - Alert inputs. Every collector appends what the alert rules need of its agents' batches
//   (security events, the points of measurements some rule watches, agents going online
//   or offline) to one log table; the leader alone feeds them to its alert engine, in
//   order, and records how far it got (the cursor) in the same fenced write queue as the
//   alert state those inputs produced. Rules spanning agents (one source attacking N
//   hosts, agent offline, uplink inhibition) thus see every agent, and a new leader
//   carries on from the cursor. Before that it replays the events of the last
//   REPLAY_MS up to the cursor into the counting windows and sightings only (lost with
//   the old leader's memory); the episodes they made are in the shared state already.
// - Agent sessions. The newest session of an agent wins across collectors: each hello
//   records (collector, started_at) for the agent, and a collector holding an older
//   session of it closes that one (close code "replaced").
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Point, SecurityEvent } from '@canh/protocol';
import type { Identity } from '../identity.ts';
import type { AlertEngine } from '../alerts/engine.ts';
import type { PgState } from './postgres.ts';

/** Events of this long before the cursor are replayed to a new leader's engine. */
export const REPLAY_MS = 15 * 60_000;
const READ_BATCH = 500;
const POLL_MS = 250;
const PRUNE_EVERY_MS = 60_000;
/** Inputs gathered into one INSERT: at most this many rows, or this long. */
const APPEND_ROWS = 200;
const APPEND_WAIT_MS = 20;

interface InputRow {
  id: number;
  at: number;
  kind: string;
  body: string;
}

type InputBody = { id: Identity; points?: Point[]; events?: SecurityEvent[]; online?: boolean; at?: number };

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
  private pending: [number, string, string][] = [];
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

  private async readOnce(): Promise<void> {
    for (;;) {
      const engine = this.engine;
      if (!engine) return;
      const r = await this.state.pool.query<InputRow>('SELECT id, at, kind, body FROM canh_alert_inputs WHERE id > $1 ORDER BY id LIMIT $2', [
        this.cursor,
        READ_BATCH,
      ]);
      if (!r.rows.length || this.engine !== engine) break;
      for (const row of r.rows) {
        const b = this.parse(row);
        if (!b) continue;
        if (row.kind === 'batch') engine.onBatch(b.id, { points: b.points ?? [], events: b.events ?? [] });
        else if (row.kind === 'agent' && typeof b.online === 'boolean') engine.onAgentState(b.id, b.online, b.at ?? row.at);
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

  online(agentId: string, at: number): void {
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
