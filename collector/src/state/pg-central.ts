// Central configuration in PostgreSQL: read from a mirror like the SQLite store, but a
// push is a round trip (push() is async): versions come from PostgreSQL's identity column,
// so they stay global and increasing whichever collector or CLI pushes. The receivers of
// every collector learn of a new version by NOTIFY.
import type { AgentRecord } from '../registry/types.ts';
import type pg from 'pg';
import {
  checkedBody,
  deletable,
  previousOf,
  resolveRows,
  rollbackInput,
  toVersion,
  type AppliedState,
  type CentralHistory,
  type CentralReader,
  type CentralRow,
  type ConfigChange,
  type ConfigVersion,
  type Scope,
} from '../central/store.ts';
import type { PgState } from './postgres.ts';

export class PgCentralStore implements CentralReader, CentralHistory {
  private readonly state: PgState;
  private rows: CentralRow[] = [];
  private readonly appliedBy = new Map<string, AppliedState>();
  private reloading: Promise<void> | undefined;
  /** Called after a reload brought a version this collector had not seen. */
  onChange: (() => void) | undefined;

  private constructor(state: PgState) {
    this.state = state;
    state.listeners.add((topic) => {
      if (topic === 'central' || topic === 'reconnect') void this.reload();
    });
  }

  static async open(state: PgState): Promise<PgCentralStore> {
    const s = new PgCentralStore(state);
    await s.reload();
    const applied = await state.pool.query<{ agent_id: string; version: number; errors: string; at: number }>('SELECT * FROM central_config_state');
    for (const r of applied.rows) s.appliedBy.set(r.agent_id, { agentId: r.agent_id, version: r.version, errors: JSON.parse(r.errors) as string[], at: r.at });
    return s;
  }

  reload(): Promise<void> {
    this.reloading ??= (async () => {
      const before = this.latestVersion();
      const r = await this.state.pool.query<CentralRow>('SELECT * FROM central_configs ORDER BY version DESC');
      this.rows = r.rows;
      if (this.latestVersion() !== before) this.onChange?.();
    })()
      .catch(() => {})
      .finally(() => {
        this.reloading = undefined;
      });
    return this.reloading;
  }

  async push(input: { scope: Scope; target: string; config: unknown } & ConfigChange): Promise<ConfigVersion> {
    const body = checkedBody(input);
    return this.remember(await this.tx((c) => this.insert(c, input.scope, input.scope === 'global' ? '' : input.target, body, input)));
  }

  /** `config rollback`: as the SQLite store's, a new version with the earlier document. */
  async rollback(version: number, input: ConfigChange = {}): Promise<ConfigVersion> {
    const r = await this.state.pool.query<CentralRow>('SELECT * FROM central_configs WHERE version = $1', [version]);
    return this.push(rollbackInput(r.rows[0] ? toVersion(r.rows[0]) : undefined, version, input));
  }

  async previous(scope: Scope, target: string): Promise<ConfigVersion | undefined> {
    const r = await this.state.pool.query<CentralRow>('SELECT * FROM central_configs WHERE scope = $1 AND target = $2 ORDER BY version DESC LIMIT 2', [
      scope,
      scope === 'global' ? '' : target,
    ]);
    return previousOf(r.rows);
  }

  /** `config delete`: a tombstone version, as the SQLite store's; two at once make one. */
  async remove(scope: Scope, target: string, input: ConfigChange = {}): Promise<ConfigVersion> {
    const row = await this.tx(async (c) => {
      // One delete at a time: the second sees the first's tombstone and is refused.
      await c.query('LOCK TABLE central_configs IN SHARE ROW EXCLUSIVE MODE');
      const cur = await c.query<CentralRow>('SELECT * FROM central_configs WHERE scope = $1 AND target = $2 ORDER BY version DESC LIMIT 1', [
        scope,
        scope === 'global' ? '' : target,
      ]);
      return this.insert(c, scope, deletable(scope, target, cur.rows[0]), 'null', input);
    });
    return this.remember(row);
  }

  /** A new version, announced to every collector (NOTIFY) when the transaction commits. */
  private async insert(c: pg.PoolClient, scope: Scope, target: string, body: string, input: ConfigChange): Promise<CentralRow> {
    const r = await c.query<CentralRow>(
      'INSERT INTO central_configs (scope, target, body, author, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
      [scope, target, body, input.author ?? '', input.comment ?? '', Date.now()],
    );
    await c.query(`SELECT pg_notify('canh_state', 'central')`);
    return r.rows[0]!;
  }

  /** A committed version into the mirror, at once (the NOTIFY's reload brings the same). */
  private remember(row: CentralRow): ConfigVersion {
    this.rows = [row, ...this.rows.filter((x) => x.version !== row.version)].sort((a, b) => b.version - a.version);
    return toVersion(row);
  }

  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.state.transaction(fn);
  }

  get(version: number): ConfigVersion | undefined {
    const r = this.rows.find((x) => x.version === version);
    return r ? toVersion(r) : undefined;
  }

  history(limit = 50): ConfigVersion[] {
    return this.rows.slice(0, limit).map(toVersion);
  }

  latestVersion(): number {
    return this.rows[0]?.version ?? 0;
  }

  resolve(agent: AgentRecord): ConfigVersion | undefined {
    const site = `${agent.agency}/${agent.site}`;
    const rows = this.rows.filter(
      (r) =>
        r.scope === 'global' ||
        (r.scope === 'agency' && r.target === agent.agency) ||
        (r.scope === 'site' && r.target === site) ||
        (r.scope === 'agent' && r.target === agent.name),
    );
    return resolveRows(rows);
  }

  recordResult(agentId: string, version: number, errors: string[]): void {
    const at = Date.now();
    this.appliedBy.set(agentId, { agentId, version, errors, at });
    this.state.enqueue({
      statements: [
        {
          sql: 'INSERT INTO central_config_state (agent_id, version, errors, at) VALUES ($1, $2, $3, $4) ON CONFLICT (agent_id) DO UPDATE SET version = excluded.version, errors = excluded.errors, at = excluded.at',
          params: [agentId, version, JSON.stringify(errors), at],
        },
      ],
      fenced: false,
      topics: [],
    });
  }

  applied(agentId: string): AppliedState | undefined {
    return this.appliedBy.get(agentId);
  }
}
