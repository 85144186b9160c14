// Central configuration held by the collector for groups of agents: global, per agency,
// per site, or for one agent. The most specific scope wins (agent > site > agency >
// global), and within a scope the latest version. Versions are global and increasing, so
// an agent's running version says exactly which document it runs.
import type { DatabaseSync } from 'node:sqlite';
import { CanhError } from '@canh/core';
import type { AgentRecord } from '../registry/types.ts';
import { MAX_CENTRAL_CONFIG_BYTES } from '@canh/protocol';

export type Scope = 'global' | 'agency' | 'site' | 'agent';

export interface ConfigVersion {
  version: number;
  scope: Scope;
  target: string;
  config: unknown;
  author: string;
  comment: string;
  createdAt: number;
  /** A `config delete`: the scope and target have no config from this version on. */
  deleted: boolean;
}

export interface AppliedState {
  agentId: string;
  version: number;
  errors: string[];
  at: number;
}

export interface CentralRow {
  version: number;
  scope: Scope;
  target: string;
  body: string;
  author: string;
  comment: string;
  created_at: number;
}

type Row = CentralRow;

const RANK: Record<Scope, number> = { agent: 3, site: 2, agency: 1, global: 0 };

/** What the receiver needs of central config, over SQLite or PostgreSQL (state/pg-central.ts). */
export interface CentralReader {
  get(version: number): ConfigVersion | undefined;
  history(limit?: number): ConfigVersion[];
  latestVersion(): number;
  resolve(agent: AgentRecord): ConfigVersion | undefined;
  recordResult(agentId: string, version: number, errors: string[]): void;
  applied(agentId: string): AppliedState | undefined;
}

/** Who changes the history, and why (`--author`, `--comment`). */
export interface ConfigChange {
  author?: string;
  comment?: string;
}

/**
 * What `config push|rollback|delete` write, over SQLite (at once) or PostgreSQL (a round
 * trip, state/pg-central.ts): history stays append-only, each change is a new version.
 */
export interface CentralHistory {
  push(input: { scope: Scope; target: string; config: unknown } & ConfigChange): ConfigVersion | Promise<ConfigVersion>;
  /** The document of an earlier version, current again for its scope and target. */
  rollback(version: number, input?: ConfigChange): ConfigVersion | Promise<ConfigVersion>;
  /** The version before the current one of a scope and target. */
  previous(scope: Scope, target: string): ConfigVersion | undefined | Promise<ConfigVersion | undefined>;
  /** A tombstone: the scope and target have no central config from this version on. */
  remove(scope: Scope, target: string, input?: ConfigChange): ConfigVersion | Promise<ConfigVersion>;
}

/** What a rollback to `version` pushes (both backends); refused for a missing or deleted version. */
export function rollbackInput(old: ConfigVersion | undefined, version: number, input: ConfigChange) {
  if (!old || old.deleted) throw new CanhError('CANH_ERR_CENTRAL_NOT_FOUND', `no config version ${version} to roll back to (see: config history)`);
  return { scope: old.scope, target: old.target, config: old.config, author: input.author, comment: input.comment || `rollback to version ${version}` };
}

/** The newest two rows of a scope and target (newest first): the earlier one, unless a tombstone. */
export function previousOf(rows: readonly Row[]): ConfigVersion | undefined {
  const v = rows.map(toVersion);
  return v.length === 2 && !v[1]!.deleted ? v[1] : undefined;
}

/** The target as stored (global has none), after checking there is something to delete. */
export function deletable(scope: Scope, target: string, current: Row | undefined): string {
  const t = scope === 'global' ? '' : target;
  if (!current || current.body === 'null')
    throw new CanhError('CANH_ERR_CENTRAL_NOT_FOUND', `no central config for ${scope}${t ? ` ${t}` : ''} to delete (see: config history)`);
  return t;
}

/**
 * The config an agent gets from the rows that apply to it (newest first, both backends):
 * the newest row of each scope decides that scope, a deleted scope (tombstone, body
 * 'null') gives nothing, and the most specific scope left wins.
 */
export function resolveRows(rows: readonly Row[]): ConfigVersion | undefined {
  const newest = new Map<Scope, Row>();
  for (const r of rows) if (!newest.has(r.scope)) newest.set(r.scope, r);
  let best: Row | undefined;
  let tomb: Row | undefined;
  for (const r of newest.values()) {
    if (r.body === 'null') {
      if (!tomb || r.version > tomb.version) tomb = r;
    } else if (!best || RANK[r.scope] > RANK[best.scope]) best = r;
  }
  if (best) return toVersion(best);
  // Everything that applied was deleted: an empty central config, so the agent goes back
  // to its local file (sending nothing would leave it running the deleted one).
  return tomb ? { ...toVersion(tomb), config: {} } : undefined;
}

/** A config as JSON, refused when agents could not read it. */
export function checkedBody(input: { scope: Scope; target: string; config: unknown }): string {
  if (input.scope !== 'global' && !input.target) throw new CanhError('CANH_ERR_CENTRAL_TARGET', `a ${input.scope} config needs a target`);
  const body = JSON.stringify(input.config);
  // Agents read no frame larger than MAX_COLLECTOR_FRAME_BYTES: a bigger config would
  // close their connections (1009) every time it is sent.
  const bytes = Buffer.byteLength(body);
  if (bytes > MAX_CENTRAL_CONFIG_BYTES)
    throw new CanhError(
      'CANH_ERR_CENTRAL_TOO_LARGE',
      `the config is ${bytes} bytes as JSON; agents accept at most ${MAX_CENTRAL_CONFIG_BYTES}: split it by agency or site`,
    );
  return body;
}

export class CentralConfigStore implements CentralReader, CentralHistory {
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS central_configs (
        version INTEGER PRIMARY KEY AUTOINCREMENT,
        scope TEXT NOT NULL,
        target TEXT NOT NULL,
        body TEXT NOT NULL,
        author TEXT NOT NULL,
        comment TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS central_config_state (
        agent_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        errors TEXT NOT NULL,
        at INTEGER NOT NULL
      );
    `);
  }

  push(input: { scope: Scope; target: string; config: unknown; author?: string; comment?: string }): ConfigVersion {
    const body = checkedBody(input);
    const r = this.db
      .prepare('INSERT INTO central_configs (scope, target, body, author, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(input.scope, input.scope === 'global' ? '' : input.target, body, input.author ?? '', input.comment ?? '', Date.now());
    return this.get(Number(r.lastInsertRowid))!;
  }

  /**
   * `config rollback`: the document of an earlier version becomes current again for its
   * scope and target, as a new version (history stays append-only, agents see a change).
   */
  rollback(version: number, input: ConfigChange = {}): ConfigVersion {
    return this.push(rollbackInput(this.get(version), version, input));
  }

  /** The version before the current one of a scope and target (what `config rollback --agency A` returns to). */
  previous(scope: Scope, target: string): ConfigVersion | undefined {
    return previousOf(
      this.db
        .prepare('SELECT * FROM central_configs WHERE scope = ? AND target = ? ORDER BY version DESC LIMIT 2')
        .all(scope, scope === 'global' ? '' : target) as unknown as Row[],
    );
  }

  /**
   * `config delete`: a scope and target stop having a central config (a tombstone version,
   * body JSON null, which no pushed config can be). Its agents fall back to the next less
   * specific scope, or to their local config (they are sent an empty central config).
   */
  remove(scope: Scope, target: string, input: ConfigChange = {}): ConfigVersion {
    const t0 = scope === 'global' ? '' : target;
    const cur = this.db.prepare('SELECT * FROM central_configs WHERE scope = ? AND target = ? ORDER BY version DESC LIMIT 1').get(scope, t0) as Row | undefined;
    const t = deletable(scope, target, cur);
    const r = this.db
      .prepare('INSERT INTO central_configs (scope, target, body, author, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(scope, t, 'null', input.author ?? '', input.comment ?? '', Date.now());
    return this.get(Number(r.lastInsertRowid))!;
  }

  get(version: number): ConfigVersion | undefined {
    const r = this.db.prepare('SELECT * FROM central_configs WHERE version = ?').get(version) as Row | undefined;
    return r ? toVersion(r) : undefined;
  }

  history(limit = 50): ConfigVersion[] {
    return (this.db.prepare('SELECT * FROM central_configs ORDER BY version DESC LIMIT ?').all(limit) as unknown as Row[]).map(toVersion);
  }

  latestVersion(): number {
    const r = this.db.prepare('SELECT MAX(version) AS v FROM central_configs').get() as { v: number | null };
    return r.v ?? 0;
  }

  /** The config that applies to an agent, or undefined when it is managed locally only. */
  resolve(agent: AgentRecord): ConfigVersion | undefined {
    const rows = this.db
      .prepare(
        `SELECT * FROM central_configs
         WHERE scope = 'global' OR (scope = 'agency' AND target = ?) OR (scope = 'site' AND target = ?) OR (scope = 'agent' AND target = ?)
         ORDER BY version DESC`,
      )
      .all(agent.agency, `${agent.agency}/${agent.site}`, agent.name) as unknown as Row[];
    return resolveRows(rows);
  }

  recordResult(agentId: string, version: number, errors: string[]): void {
    this.db
      .prepare(
        'INSERT INTO central_config_state (agent_id, version, errors, at) VALUES (?, ?, ?, ?) ON CONFLICT(agent_id) DO UPDATE SET version = excluded.version, errors = excluded.errors, at = excluded.at',
      )
      .run(agentId, version, JSON.stringify(errors), Date.now());
  }

  applied(agentId: string): AppliedState | undefined {
    const r = this.db.prepare('SELECT * FROM central_config_state WHERE agent_id = ?').get(agentId) as
      { agent_id: string; version: number; errors: string; at: number } | undefined;
    return r ? { agentId: r.agent_id, version: r.version, errors: JSON.parse(r.errors) as string[], at: r.at } : undefined;
  }
}

export function toVersion(r: Row): ConfigVersion {
  return {
    version: r.version,
    scope: r.scope,
    target: r.target,
    config: JSON.parse(r.body) as unknown,
    author: r.author,
    comment: r.comment,
    createdAt: r.created_at,
    deleted: r.body === 'null',
  };
}
