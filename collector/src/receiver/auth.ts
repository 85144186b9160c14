// The agent endpoint's door: an upgrade to /v1/agent with a bearer token the registry
// knows. The token is checked before the upgrade, so a bad one costs an HTTP 401 and
// never a socket.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AgentRecord } from '../registry/types.ts';
import { reject } from './http.ts';
import type { Receiver } from './types.ts';

/** The agent an upgrade request is allowed in as, and its address; undefined when refused (and answered). */
export function admit(r: Receiver, req: IncomingMessage, socket: Duplex): { agent: AgentRecord; remote: string } | undefined {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/v1/agent' || r.stopping) {
    reject(socket, r.stopping ? 503 : 404, r.stopping ? 'Service Unavailable' : 'Not Found');
    return undefined;
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const agent = m ? r.registry.authenticate(m[1]!) : undefined;
  const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
  if (!agent) {
    r.stats.authFailures++;
    r.log.warn({ remote, reason: m ? 'unknown or revoked token' : 'no bearer token' }, 'agent refused (401)');
    reject(socket, 401, 'Unauthorized');
    return undefined;
  }
  return { agent, remote };
}
