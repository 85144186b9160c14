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

/** A record's place in the spool without its frame: what the transport chooses from before it reads a frame. */
export interface SpoolEntry {
  seq: number;
  points: number;
  events: number;
  /** The frame's size in bytes (UTF-8). */
  bytes: number;
}

export interface SpoolStats {
  batches: number;
  bytes: number;
  /** Points dropped since start because the spool was full (oldest first). */
  droppedPoints: number;
  droppedEvents: number;
  /** Points dropped after they had been sent but before their ack came: maybe stored. */
  droppedUnackedPoints: number;
  /**
   * Of droppedPoints / droppedEvents: the batches the disk would not take (full, below the
   * free-space floor, or a write error), newest first, counted as they were refused.
   */
  droppedDiskFullPoints?: number;
  droppedDiskFullEvents?: number;
  /** Appends are refused now because the disk is full (a state: it clears when space returns). */
  diskFull?: boolean;
}

export interface Spool {
  /**
   * Store a batch; returns its sequence number. May drop the oldest records to stay bounded.
   * undefined: the batch was not kept (the disk is full) and is counted as dropped; never throws for that.
   */
  append(make: (seq: number) => { frame: string; points: number; events: number }): number | undefined;
  /** Records not yet acked with seq > after, in order. */
  after(seq: number, limit: number): SpoolRecord[];
  /**
   * The same records without their frames. A backlog can hold thousands of batches: the
   * transport picks what to send from these and reads only the frames it sends (read()),
   * so its memory does not grow with what waits on disk.
   */
  index(seq: number, limit: number): SpoolEntry[];
  /** The frame of one unacked record; undefined when it is not in the spool (acked, dropped, or unreadable: then counted as lost). */
  read(seq: number): string | Buffer | undefined;
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
