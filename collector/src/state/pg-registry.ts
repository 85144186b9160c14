// The agent registry in PostgreSQL: the same AgentRegistry as the SQLite one, read from a
// mirror (so a token is checked before the WebSocket upgrade without a round trip) and
// written through PgState's queue. Another collector's add or revoke arrives by NOTIFY.
import { randomBytes, randomUUID } from 'node:crypto';
import { CanhError } from '@canh/core';
import type { AgentRecord, AgentRegistry } from '../registry/types.ts';
import { hashToken, NAME_RE, toRecord, type AgentRow } from '../registry/sqlite.ts';
import type { PgState } from './postgres.ts';

/** The mirror also keeps the token's hash (the SQLite registry asks its table instead). */
type Row = AgentRow & { token_hash: string };

export class PgRegistry implements AgentRegistry {
  private readonly state: PgState;
  private byId = new Map<string, Row>();
  private byToken = new Map<string, Row>();
  /** removed_agents: names removed whose host the revocation pass has not cleaned up yet. */
  private removed = new Map<string, number>();
  private reloading: Promise<void> | undefined;
  private again = false;

  private constructor(state: PgState) {
    this.state = state;
    state.listeners.add((topic) => {
      if (topic === 'agents' || topic === 'reconnect') void this.reload();
    });
  }

  static async open(state: PgState): Promise<PgRegistry> {
    const r = new PgRegistry(state);
    await r.reload();
    return r;
  }

  /** Re-read the table (another collector or the CLI changed it). */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        const rows = (await this.state.pool.query<Row>('SELECT * FROM agents')).rows;
        const removed = (await this.state.pool.query<{ name: string; removed_at: number }>('SELECT name, removed_at FROM removed_agents')).rows;
        this.removed = new Map(removed.map((r) => [r.name, Number(r.removed_at)]));
        const byId = new Map<string, Row>();
        const byToken = new Map<string, Row>();
        for (const r of rows) {
          // last_seen and connected are this collector's to say for its own agents.
          const mine = this.byId.get(r.id);
          const row =
            mine && (mine.last_seen ?? 0) > (r.last_seen ?? 0) ? { ...r, last_seen: mine.last_seen, connected: mine.connected, version: mine.version } : r;
          byId.set(r.id, row);
          byToken.set(r.token_hash, row);
        }
        this.byId = byId;
        this.byToken = byToken;
      } while (this.again);
    })()
      .catch(() => {
        // PostgreSQL away: the mirror stays as it was; the next notification or reconnect reloads it.
      })
      .finally(() => {
        this.reloading = undefined;
      });
    return this.reloading;
  }

  add(input: { name: string; agency: string; site: string }): { agent: AgentRecord; token: string } {
    for (const [k, v] of Object.entries(input)) {
      if (!NAME_RE.test(v)) {
        throw new CanhError('CANH_ERR_REGISTRY_BAD_NAME', `--${k} "${v}": use letters, digits, ".", "_" or "-" (at most 128, starting with a letter or digit)`);
      }
    }
    if (this.get(input.name))
      throw new CanhError('CANH_ERR_REGISTRY_EXISTS', `an agent named "${input.name}" already exists (revoke it first, or pick another name)`);
    const token = `canh_${randomBytes(32).toString('base64url')}`;
    const row: Row = {
      id: randomUUID(),
      name: input.name,
      agency: input.agency,
      site: input.site,
      token_hash: hashToken(token),
      created_at: Date.now(),
      revoked_at: null,
      last_seen: null,
      version: null,
      connected: 0,
    };
    this.byId.set(row.id, row);
    this.byToken.set(row.token_hash, row);
    this.removed.delete(row.name);
    this.state.enqueue({
      statements: [
        {
          sql: 'INSERT INTO agents (id, name, agency, site, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
          params: [row.id, row.name, row.agency, row.site, row.token_hash, row.created_at],
        },
        // A new agent of a removed one's name is judged afresh, not cleaned up.
        { sql: 'DELETE FROM removed_agents WHERE name = $1', params: [row.name] },
      ],
      fenced: false,
      topics: ['agents'],
    });
    return { agent: toRecord(row), token };
  }

  authenticate(token: string): AgentRecord | undefined {
    if (!token) return undefined;
    const r = this.byToken.get(hashToken(token));
    return r && r.revoked_at === null ? toRecord(r) : undefined;
  }

  revoke(nameOrId: string): AgentRecord | undefined {
    const r = this.row(nameOrId);
    if (!r) return undefined;
    if (r.revoked_at === null) {
      r.revoked_at = Date.now();
      this.state.enqueue({
        statements: [{ sql: 'UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', params: [r.revoked_at, r.id] }],
        fenced: false,
        topics: ['agents'],
      });
    }
    return toRecord(r);
  }

  /** Delete a revoked agent's row (`agent remove`) with its `central_config_state` and
   *  session rows, and record the name for the revocation pass; false when it is unknown or
   *  not revoked. */
  remove(id: string): boolean {
    const r = this.byId.get(id);
    if (!r || r.revoked_at === null) return false;
    this.byId.delete(id);
    this.byToken.delete(r.token_hash);
    const at = Date.now();
    this.removed.set(r.name, at);
    this.state.enqueue({
      statements: [
        { sql: 'DELETE FROM agents WHERE id = $1 AND revoked_at IS NOT NULL', params: [id] },
        {
          sql: 'INSERT INTO removed_agents (name, removed_at) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET removed_at = excluded.removed_at',
          params: [r.name, at],
        },
        { sql: 'DELETE FROM central_config_state WHERE agent_id = $1', params: [id] },
        { sql: 'DELETE FROM canh_agent_sessions WHERE agent_id = $1', params: [id] },
      ],
      fenced: false,
      topics: ['agents'],
    });
    return true;
  }

  removedAt(name: string): number | undefined {
    return this.removed.get(name);
  }

  forgetRemoved(names: readonly string[]): void {
    const gone = names.filter((n) => this.removed.delete(n));
    if (!gone.length) return;
    this.state.enqueue({
      statements: [{ sql: 'DELETE FROM removed_agents WHERE name = ANY($1::text[])', params: [gone] }],
      // The leader's, as the clean-up it follows: a former leader's clean-up is refused, so is this.
      fenced: true,
      topics: ['agents'],
    });
  }

  list(): AgentRecord[] {
    return [...this.byId.values()].sort((a, b) => cmp(a.agency, b.agency) || cmp(a.site, b.site) || cmp(a.name, b.name)).map(toRecord);
  }

  private row(nameOrId: string): Row | undefined {
    const r = this.byId.get(nameOrId);
    if (r) return r;
    for (const x of this.byId.values()) if (x.name === nameOrId) return x;
    return undefined;
  }

  get(nameOrId: string): AgentRecord | undefined {
    const r = this.row(nameOrId);
    return r ? toRecord(r) : undefined;
  }

  isRevoked(id: string): boolean {
    const r = this.byId.get(id);
    return !r || r.revoked_at !== null;
  }

  revokedNames(): string[] {
    const names = new Set([...this.byId.values()].filter((r) => r.revoked_at !== null).map((r) => r.name));
    for (const n of this.removed.keys()) names.add(n);
    return [...names];
  }

  markSeen(id: string, at: number, version?: string, connected?: boolean): void {
    const r = this.byId.get(id);
    if (r) {
      r.last_seen = at;
      if (version !== undefined) r.version = version;
      if (connected !== undefined) r.connected = connected ? 1 : 0;
    }
    this.state.enqueue({
      statements: [
        {
          // An older sighting from another collector never overwrites a newer one.
          sql: 'UPDATE agents SET last_seen = $1, version = COALESCE($2, version), connected = COALESCE($3, connected) WHERE id = $4 AND (last_seen IS NULL OR last_seen <= $1)',
          params: [at, version ?? null, connected === undefined ? null : connected ? 1 : 0, id],
        },
      ],
      fenced: false,
      topics: [],
    });
  }

  close(): void {
    // The PgState owns the connections; Collector.stop() closes it.
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
