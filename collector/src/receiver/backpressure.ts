// Backpressure from the InfluxDB write queue: connections are not read from once the
// queue reaches the writer's high-water mark, oldest first. Their agents' batches wait in
// the sockets (and the agents' windows stop them from sending more) rather than on this
// process's heap; they are resumed a few at a time as the queue drains.

/** How long a connection resumed after a hold counts as about to deliver a batch. */
export const RESUME_GRACE_MS = 200;

/** What backpressure reads and sets on a connection (receiver/types.ts Conn). */
export interface Flow {
  ws: { pause(): void; resume(): void };
  /** Not read from while the write queue is full. */
  held: boolean;
  /** Over its own rate limit (rate-limit.ts): not read from until the timer ends. */
  throttle?: NodeJS.Timeout;
  /** Monotonic time of the last frame, for liveness. */
  heardAt: number;
  /** When (monotonic) it was last resumed after a hold. */
  resumedAt: number;
}

export class Backpressure<C extends Flow = Flow> {
  /** Held connections, oldest first. */
  private readonly held = new Set<C>();
  /**
   * Connections just resumed whose next batch has not arrived yet: their batches are
   * counted against the queue's room before they land, or every drain would resume far
   * too many. An agent with nothing to send stops counting after RESUME_GRACE_MS.
   */
  private readonly resumed = new Set<C>();
  /** Running mean of lines per batch: how much one resumed connection is expected to add. */
  private batchLines = 100;
  /** Lines the write queue still takes before its high-water mark. */
  private readonly room: () => number;

  constructor(room: () => number) {
    this.room = room;
  }

  /** A frame arrived on conn: if it was just resumed, its batch has landed. */
  heard(conn: C): void {
    if (this.resumed.size) this.resumed.delete(conn);
  }

  /** A batch of `lines` from conn was queued for writing; a full queue holds conn. */
  queued(conn: C, lines: number): void {
    this.batchLines += (lines - this.batchLines) / 16;
    if (this.room() <= 0) {
      // This batch is queued (and will be acked as usual); the next ones wait in the socket.
      this.held.delete(conn);
      this.held.add(conn);
      conn.held = true;
      this.applyPause(conn);
    }
  }

  /** Resume held connections, oldest first, as far as the write queue has room for their next batch. */
  release(now = performance.now()): void {
    if (!this.held.size) return;
    for (const conn of this.resumed) {
      if (now - conn.resumedAt < RESUME_GRACE_MS) break;
      this.resumed.delete(conn);
    }
    const perConn = Math.max(1, this.batchLines);
    let room = this.room() - this.resumed.size * perConn;
    for (const conn of this.held) {
      if (room <= 0) break;
      this.held.delete(conn);
      conn.held = false;
      // It was silent because we did not read it: liveness counts from now.
      conn.heardAt = now;
      conn.resumedAt = now;
      this.resumed.add(conn);
      this.applyPause(conn);
      room -= perConn;
    }
  }

  /** Read from conn unless it is held or over its rate limit. */
  applyPause(conn: C): void {
    if (conn.held || conn.throttle) conn.ws.pause();
    else conn.ws.resume();
  }

  /** conn is closed. */
  forget(conn: C): void {
    this.held.delete(conn);
    this.resumed.delete(conn);
  }

  /** Shutting down: read every connection again (their close frames must get through). */
  clear(conns: Iterable<C>): void {
    this.held.clear();
    this.resumed.clear();
    for (const c of conns) {
      c.held = false;
      if (c.throttle) clearTimeout(c.throttle);
      c.throttle = undefined;
      c.ws.resume();
    }
  }

  /** Connections held now, oldest first, and those resumed whose batch has not arrived (tests). */
  get state(): { held: C[]; resumed: C[] } {
    return { held: [...this.held], resumed: [...this.resumed] };
  }
}
