// What the owner (the agent) tells its link to the collector: where, who, and the bounds
// of the window, the backoff and liveness. Every part of the transport reads these.
export interface TransportOptions {
  /** One collector, or several serving the same agents (failover in list order). */
  url?: string;
  urls?: readonly string[];
  /** Where in `urls` to begin (default: a random place, so agents spread over the collectors). */
  firstUrl?: number;
  token: string;
  hostname: string;
  agentVersion: string;
  pingIntervalMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  maxInFlight: number;
  /** Bounds of a frame that merges a backlog's batches (defaults: 1000 points, 4 MiB). */
  maxBatchPoints?: number;
  maxMessageBytes?: number;
  caFile?: string;
  insecureSkipVerify?: boolean;
  /**
   * The owner calls checkLiveness() at least every pingIntervalMs, and the transport keeps
   * no liveness timer. A timer moved by every frame still wakes the process once per
   * interval at its old deadline (Node does not move libuv's timer later), on an agent
   * that is otherwise woken only by its tick and the ack (docs/benchmarks.md, fifth round).
   */
  livenessByOwner?: boolean;
  /**
   * The owner calls rest() when a tick's batch has left and wake() when the next tick
   * begins: between the two the socket is not read, so the ack of that batch waits in the
   * kernel and is read at the next tick instead of waking the agent on its own.
   */
  readAtTicks?: boolean;
}

export type TransportState = 'connecting' | 'connected' | 'disconnected' | 'stopped';
