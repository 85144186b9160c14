// Sessions ended from outside the connection: a token revoked in the registry, or a newer
// session of the agent on another collector.
import { CloseCode } from '@canh/protocol';
import type { Receiver } from './types.ts';

/** Close every connection whose token the registry now calls revoked. */
export function closeRevoked(r: Receiver): void {
  for (const c of r.conns.values()) {
    if (r.registry.isRevoked(c.agent.id)) {
      r.log.warn({ agent: c.agent.name }, 'token revoked; closing connection');
      c.ws.close(CloseCode.UNAUTHORIZED, 'token revoked');
    }
  }
}

/** Close an agent's connection here because a newer session of it lives on another collector. */
export function closeReplaced(r: Receiver, agentId: string): boolean {
  const c = r.conns.get(agentId);
  if (!c) return false;
  // Online elsewhere: its disconnection here is no "offline".
  c.replaced = true;
  c.ws.close(CloseCode.REPLACED, 'replaced by a newer connection of this agent (another collector)');
  r.log.info({ agent: c.agent.name }, 'a newer session of this agent on another collector replaces this one');
  return true;
}
