// Central configuration in PostgreSQL: read from a mirror like the SQLite store, but a
// push is a round trip (push() is async): versions come from PostgreSQL's identity column,
// so they stay global and increasing whichever collector or CLI pushes. The receivers of
// every collector learn of a new version by NOTIFY.
import type { AgentRecord } from '../registry/types.ts';
import {
  checkedBody,
  resolveRows,
  toVersion,
  type AppliedState,
  type CentralReader,
  type CentralRow,
  type ConfigVersion,
  type Scope,
} from '../central/store.ts';
import type { PgState } from './postgres.ts';

export class PgCentralStore implements CentralReader {
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

  async push(input: { scope: Scope; target: string; config: unknown; author?: string; comment?: string }): Promise<ConfigVersion> {
    const body = checkedBody(input);
    const c = await this.state.pool.connect();
    // Without a listener, a server gone while checked out would end the process.
    const onError = (): void => {};
    c.on('error', onError);
    try {
      await c.query('BEGIN');
      const r = await c.query<CentralRow>(
        'INSERT INTO central_configs (scope, target, body, author, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
        [input.scope, input.scope === 'global' ? '' : input.target, body, input.author ?? '', input.comment ?? '', Date.now()],
      );
      await c.query(`SELECT pg_notify('canh_state', 'central')`);
      await c.query('COMMIT');
      const row = r.rows[0]!;
      this.rows = [row, ...this.rows.filter((x) => x.version !== row.version)].sort((a, b) => b.version - a.version);
      return toVersion(row);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.removeListener('error', onError);
      c.release();
    }
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
