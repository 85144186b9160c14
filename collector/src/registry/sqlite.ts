// The agent registry in one SQLite file (node:sqlite). Tokens are 256-bit random
// strings; only their SHA-256 is stored, which is enough for secrets of that entropy
// and keeps lookups a single indexed query.
import { DatabaseSync } from 'node:sqlite';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CanhError } from '@canh/core';
import type { AgentRecord, AgentRegistry } from './types.ts';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export const NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,127}$/u;

/** A row of the agents table, as both backends store it (state/pg-registry.ts too). */
export interface AgentRow {
  id: string;
  name: string;
  agency: string;
  site: string;
  created_at: number;
  revoked_at: number | null;
  last_seen: number | null;
  version: string | null;
  connected: number;
}

export function toRecord(r: AgentRow): AgentRecord {
  return {
    id: r.id,
    name: r.name,
    agency: r.agency,
    site: r.site,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    lastSeen: r.last_seen,
    version: r.version,
    connected: r.connected === 1,
  };
}

export class SqliteRegistry implements AgentRegistry {
  readonly db: DatabaseSync;

  constructor(file: string) {
    this.db = new DatabaseSync(file);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS agents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        agency TEXT NOT NULL,
        site TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_seen INTEGER,
        version TEXT,
        connected INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS removed_agents (name TEXT PRIMARY KEY, removed_at INTEGER NOT NULL);
    `);
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
    const id = randomUUID();
    const now = Date.now();
    this.db
      .prepare('INSERT INTO agents (id, name, agency, site, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, input.name, input.agency, input.site, hashToken(token), now);
    // A new agent of a removed one's name is judged afresh, not cleaned up.
    this.db.prepare('DELETE FROM removed_agents WHERE name = ?').run(input.name);
    return { agent: this.get(id)!, token };
  }

  authenticate(token: string): AgentRecord | undefined {
    if (!token) return undefined;
    const r = this.db.prepare('SELECT * FROM agents WHERE token_hash = ? AND revoked_at IS NULL').get(hashToken(token)) as AgentRow | undefined;
    return r ? toRecord(r) : undefined;
  }

  revoke(nameOrId: string): AgentRecord | undefined {
    const a = this.get(nameOrId);
    if (!a) return undefined;
    this.db.prepare('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(Date.now(), a.id);
    return this.get(a.id);
  }

  /** Delete a revoked agent's row (`agent remove`) with its `central_config_state` row, and
   *  record the name for the revocation pass; false when it is unknown or not revoked. */
  remove(id: string): boolean {
    const a = this.get(id);
    if (!a || a.revokedAt === null) return false;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.db.prepare('DELETE FROM agents WHERE id = ? AND revoked_at IS NOT NULL').run(a.id);
      this.db
        .prepare('INSERT INTO removed_agents (name, removed_at) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET removed_at = excluded.removed_at')
        .run(a.name, Date.now());
      // central/store.ts creates the table; a registry used before any collector ran has none.
      if (this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'central_config_state'").get())
        this.db.prepare('DELETE FROM central_config_state WHERE agent_id = ?').run(a.id);
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    return true;
  }

  removedAt(name: string): number | undefined {
    const r = this.db.prepare('SELECT removed_at FROM removed_agents WHERE name = ?').get(name) as { removed_at: number } | undefined;
    return r?.removed_at;
  }

  forgetRemoved(names: readonly string[]): void {
    if (names.length) this.db.prepare('DELETE FROM removed_agents WHERE name IN (SELECT value FROM json_each(?))').run(JSON.stringify(names));
  }

  list(): AgentRecord[] {
    return (this.db.prepare('SELECT * FROM agents ORDER BY agency, site, name').all() as unknown as AgentRow[]).map(toRecord);
  }

  get(nameOrId: string): AgentRecord | undefined {
    const r = this.db.prepare('SELECT * FROM agents WHERE id = ? OR name = ?').get(nameOrId, nameOrId) as AgentRow | undefined;
    return r ? toRecord(r) : undefined;
  }

  isRevoked(id: string): boolean {
    const r = this.db.prepare('SELECT revoked_at FROM agents WHERE id = ?').get(id) as { revoked_at: number | null } | undefined;
    return !r || r.revoked_at !== null;
  }

  revokedNames(): string[] {
    const rows = this.db.prepare('SELECT name FROM agents WHERE revoked_at IS NOT NULL UNION SELECT name FROM removed_agents').all() as { name: string }[];
    return rows.map((r) => r.name);
  }

  markSeen(id: string, at: number, version?: string, connected?: boolean): void {
    this.db
      .prepare('UPDATE agents SET last_seen = ?, version = COALESCE(?, version), connected = COALESCE(?, connected) WHERE id = ?')
      .run(at, version ?? null, connected === undefined ? null : connected ? 1 : 0, id);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
