// The spool holds every batch from the moment it is made until the collector acks it.
// Sequence numbers increase for the life of the spool (across restarts for a disk spool),
// so the collector's acks name exactly one batch.

export interface SpoolRecord {
  seq: number;
  /** The encoded `batch` message, ready to send: text, or its UTF-8 bytes (the disk spool's, sent as they are). */
  frame: string | Buffer;
  points: number;
  events: number;
}

export interface SpoolStats {
  batches: number;
  bytes: number;
  /** Points dropped since start because the spool was full (oldest first). */
  droppedPoints: number;
  droppedEvents: number;
  /** Points dropped after they had been sent but before their ack came: maybe stored. */
  droppedUnackedPoints: number;
}

export interface Spool {
  /** Store a batch; returns its sequence number. May drop the oldest records to stay bounded. */
  append(make: (seq: number) => { frame: string; points: number; events: number }): number;
  /** Records not yet acked with seq > after, in order. */
  after(seq: number, limit: number): SpoolRecord[];
  /** Oldest unacked seq, or undefined when empty. */
  first(): number | undefined;
  ack(seq: number): boolean;
  /** The transport sent this batch (its ack may still come). Used to report drops honestly. */
  markSent(seq: number): void;
  /** No ack will come for now (the link is down): what waits for a sync should not wait for one. */
  acksStopped?(): void;
  /**
   * Acks are read up to this long after they arrive (the transport reads the socket only at
   * the agent's ticks between them): an ack read within spool_fsync_interval plus this
   * of its batch's append still counts as prompt.
   */
  acksReadWithin?(ms: number): void;
  stats(): SpoolStats;
  /** Flush what is buffered and release files. Safe to call twice. */
  close(): Promise<void> | void;
}
