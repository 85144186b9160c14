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
  /** Delete a revoked agent's row (`agent remove`) with what it applied of the central config
   *  (`central_config_state`) and its session row, and record its name as removed until the
   *  leader's revocation pass has cleaned up its host (forgetRemoved); false when it is
   *  unknown or not revoked. */
  remove(id: string): boolean;
  /** When an agent of this name was removed, while its host waits for the clean-up. */
  removedAt(name: string): number | undefined;
  /** The revocation pass cleaned these hosts up: removed names among them are forgotten. */
  forgetRemoved(names: readonly string[]): void;
  list(): AgentRecord[];
  get(nameOrId: string): AgentRecord | undefined;
  isRevoked(id: string): boolean;
  /** Names (hosts) of the agents revoked, and of those removed whose clean-up is still due. */
  revokedNames(): string[];
  markSeen(id: string, at: number, version?: string, connected?: boolean): void;
  close(): void;
}
