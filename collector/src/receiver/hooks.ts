// What the rest of the collector attaches to the receiver: the alert engine's stream of
// batches and agent states, and extra HTTP routes (status page, API).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Batch } from '@canh/protocol';
import type { AgentRecord } from '../registry/types.ts';
import type { Identity } from '../identity.ts';

/** Run several hook sets as one: every onBatch/onAgentState, the first http that handles. */
export function combineHooks(...sets: (CollectorHooks | undefined)[]): CollectorHooks {
  const hs = sets.filter((h): h is CollectorHooks => h !== undefined);
  return {
    onBatch: (id, agent, batch) => {
      for (const h of hs) h.onBatch?.(id, agent, batch);
    },
    onAgentState: (id, agent, online, at) => {
      for (const h of hs) h.onAgentState?.(id, agent, online, at);
    },
    http: async (req, res) => {
      for (const h of hs) if (h.http && (await h.http(req, res))) return true;
      return false;
    },
  };
}

export interface CollectorHooks {
  /** Every valid batch, as it arrives (the alert engine evaluates on the stream). */
  onBatch?(identity: Identity, agent: AgentRecord, batch: Batch): void;
  onAgentState?(identity: Identity, agent: AgentRecord, online: boolean, at: number): void;
  /** Extra HTTP routes (status page, API); return true when handled. */
  http?(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
}
