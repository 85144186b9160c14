// What the receiver's modules share: one agent connection (Conn), the counters, and the
// receiver's state (Receiver) that CollectorServer (../server.ts) builds and each module reads.
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import type { PointEncoder, Hello } from '@canh/protocol';
import type { CollectorConfig } from '../config.ts';
import type { AgentRecord, AgentRegistry } from '../registry/types.ts';
import type { InfluxWriter } from '../influx/writer.ts';
import type { AckHistogram } from '../ack-histogram.ts';
import type { Identity } from '../identity.ts';
import type { EventTimes } from '../event-times.ts';
import type { CentralReader } from '../central/store.ts';
import type { CollectorHooks } from './hooks.ts';
import type { Backpressure } from './backpressure.ts';

/** What the receiver needs of the writer: one InfluxWriter, or the set of targets (influx/targets.ts). */
export type BatchSink = Pick<InfluxWriter, 'writeText' | 'write' | 'room' | 'stats' | 'ping' | 'onProgress'>;

export interface Conn {
  ws: WebSocket;
  agent: AgentRecord;
  identity: Identity;
  /** Encodes this agent's points, reusing each series' tags (the identity never changes on a connection). */
  encoder: PointEncoder;
  remote: string;
  hello?: Hello;
  /** Monotonic time (performance.now()) of the last frame, for liveness. */
  heardAt: number;
  tokens: number;
  /** Monotonic time of the last refill of the rate limit's bucket. */
  lastRefill: number;
  replaced: boolean;
  /** Over its own rate limit: not read from until the timer ends. */
  throttle?: NodeJS.Timeout;
  /** Not read from while the InfluxDB write queue is full (Backpressure). */
  held: boolean;
  /** When (monotonic) it was last resumed after a hold (Backpressure). */
  resumedAt: number;
  helloTimer?: NodeJS.Timeout;
  /** Central config version last sent to (or reported by) this agent. */
  configVersion?: number;
}

export interface CollectorStats {
  connected: number;
  batches: number;
  points: number;
  events: number;
  refusedPoints: number;
  authFailures: number;
  invalidMessages: number;
  /** Steps of the wall clock larger than 30 s seen since start. */
  clockSteps: number;
}

/** The receiver's state, built by CollectorServer and shared by its modules. */
export interface Receiver {
  readonly config: CollectorConfig;
  readonly registry: AgentRegistry;
  readonly writer: BatchSink;
  readonly log: Logger;
  readonly hooks: CollectorHooks;
  readonly central: CentralReader | undefined;
  /** More of the collector's state for /healthz (config reloads). */
  readonly health: (() => Record<string, unknown>) | undefined;
  /** Where each security event is stored (collector/src/event-times.ts). */
  readonly eventTimes: EventTimes;
  /** Last byte of a batch read → its ack written (bench:connections reads it from /healthz). */
  readonly ackLatency: AckHistogram;
  readonly stats: CollectorStats;
  /** One connection per agent id. */
  readonly conns: Map<string, Conn>;
  readonly backpressure: Backpressure<Conn>;
  /** Messages dropped unacked for a disk or I/O error (full disk), and when that was last logged. */
  readonly diskErrors: { count: number; loggedAt: number };
  stopping: boolean;
}
