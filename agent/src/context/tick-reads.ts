/**
 * One read of a file per tick. The inputs of one tick gather in the same turn of the event
 * loop, and some read the same file: `cpu` and `system` both read /proc/stat (whose
 * interrupt counters the kernel formats at every read), `mem` and `swap` /proc/meminfo.
 * Between open() (a tick begins: the agent's scheduler says so) and close() (its gathers
 * are done, or outlast the turn) they share one read, and so also one instant. Never
 * longer than the turn open() was called in, whatever happens; outside a tick (a gather
 * called directly, `canh-agent check`) every read is a read. Errors are shared the same way.
 */
export class TickReads {
  private memo: Map<string, { text: string } | { err: unknown }> | undefined;
  private turnEnd: NodeJS.Immediate | undefined;
  reads = 0;

  open(): void {
    this.memo ??= new Map();
    this.turnEnd ??= setImmediate(() => this.close());
  }

  close(): void {
    this.memo = undefined;
    if (this.turnEnd) clearImmediate(this.turnEnd);
    this.turnEnd = undefined;
  }

  read(path: string, readFile: (p: string) => string): string {
    const memo = this.memo;
    if (!memo) {
      this.reads++;
      return readFile(path);
    }
    let r = memo.get(path);
    if (!r) {
      this.reads++;
      try {
        r = { text: readFile(path) };
      } catch (err) {
        r = { err };
      }
      memo.set(path, r);
    }
    if ('err' in r) throw r.err;
    return r.text;
  }
}

/** The agent's: its scheduler opens and closes it around each tick. */
export const tickReads = new TickReads();
