// The agent registry: who may connect, and the identity (host, agency, site) the
// collector stamps on everything an agent sends. Behind an interface so that a
// multi-collector deployment can move it to PostgreSQL without touching callers.

export interface AgentRecord {
  id: string;
  name: string;
  agency: string;
  site: string;
  createdAt: number;
  revokedAt: number | null;
  lastSeen: number | null;
  version: string | null;
  connected: boolean;
}

export interface AgentRegistry {
  /** Register an agent; returns the record and the token, which is never stored. */
  add(input: { name: string; agency: string; site: string }): { agent: AgentRecord; token: string };
  /** The agent a token belongs to, unless unknown or revoked. */
  authenticate(token: string): AgentRecord | undefined;
  revoke(nameOrId: string): AgentRecord | undefined;
  /** Delete a revoked agent's row (`agent remove`); false when it is unknown or not revoked. */
  remove(id: string): boolean;
  list(): AgentRecord[];
  get(nameOrId: string): AgentRecord | undefined;
  isRevoked(id: string): boolean;
  /** Names (hosts) of the agents revoked and not yet removed. */
  revokedNames(): string[];
  markSeen(id: string, at: number, version?: string, connected?: boolean): void;
  close(): void;
}
