// A table mirrored in memory by every collector: read at load, read again when PostgreSQL
// NOTIFYs its topic (another collector or the CLI wrote) or the connection came back.
// Reads are answered from the mirror; writes go through the state's queue.
import type { PgState } from './postgres.ts';

export abstract class PgMirror {
  protected readonly state: PgState;
  private readonly listener: (topic: string) => void;

  protected constructor(state: PgState, topic: string) {
    this.state = state;
    this.listener = (t) => {
      if (t === topic || t === 'reconnect') void this.reload().catch(() => {});
    };
    state.listeners.add(this.listener);
  }

  /** Reads the table again into the mirror. */
  protected abstract reload(): Promise<void>;

  /** The first read; a mirror that cannot be read stops following its topic. */
  protected async loaded(): Promise<this> {
    try {
      await this.reload();
    } catch (err) {
      this.close();
      throw err;
    }
    return this;
  }

  /** Stop following changes (the state itself is closed by its owner). */
  close(): void {
    this.state.listeners.delete(this.listener);
  }
}
