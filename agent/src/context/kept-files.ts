// procfs files and sysfs attributes kept open and read again from offset 0.
import { closeSync, openSync, readSync, readvSync } from 'node:fs';

/**
 * Files kept open by path (at most `max`) and read again from offset 0. A failed read of
 * a kept descriptor closes it and opens the path again once; a path whose first read
 * fails is not kept.
 */
abstract class KeptDescriptors {
  private readonly fds = new Map<string, number>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  protected abstract readAll(fd: number): string;

  protected readKept(path: string): string {
    const fd = this.fds.get(path);
    if (fd !== undefined) {
      try {
        return this.readAll(fd);
      } catch {
        this.forget(path);
      }
    }
    const opened = openSync(path, 'r');
    let text: string;
    try {
      text = this.readAll(opened);
    } catch (err) {
      closeSync(opened);
      throw err;
    }
    if (this.fds.size < this.max) this.fds.set(path, opened);
    else closeSync(opened);
    return text;
  }

  private forget(path: string): void {
    const fd = this.fds.get(path);
    this.fds.delete(path);
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // already unusable
    }
  }

  /** Descriptors kept now (tests). */
  get size(): number {
    return this.fds.size;
  }

  closeAll(): void {
    for (const p of [...this.fds.keys()]) this.forget(p);
  }
}

/**
 * procfs files an agent reads every tick (/proc/stat, /proc/meminfo, /proc/net/dev...),
 * kept open and read again from offset 0: the kernel writes them afresh at each read from
 * the start, and a read of a kept descriptor costs two system calls instead of open,
 * fstat, two reads and close (and the path walk through /proc). Only files whose identity
 * cannot change under the descriptor: not /proc/<pid>/ (a pid is reused), not sysfs
 * (an interface renamed keeps its files under another name: KeptAttributes).
 */
export class KeptFiles extends KeptDescriptors {
  private buf = Buffer.allocUnsafe(16 * 1024);
  /**
   * The buffer as readvSync takes it, and a small one for the read that finds the end:
   * readSync's argument checks allocate ~360 bytes a call under the agent's V8 options,
   * readvSync with an array it is given again ~50 (fewer young-generation collections).
   */
  private whole = [this.buf];
  private readonly probe = [Buffer.allocUnsafe(512)];

  constructor(max = 32) {
    super(max);
  }

  read(path: string): string {
    return this.readKept(path);
  }

  protected readAll(fd: number): string {
    let n = readvSync(fd, this.whole, 0);
    if (n < this.buf.length) {
      // The usual case: the file fit. One more read says it ended there.
      const more = readvSync(fd, this.probe, n);
      if (more === 0) return this.buf.toString('utf8', 0, n);
      // It did not (a procfs file may come in pieces): what came goes after the first
      // part, and the rest is read as below.
      if (n + more > this.buf.length) this.grow(n + more);
      this.probe[0]!.copy(this.buf, n, 0, more);
      n += more;
    }
    return this.readFrom(fd, n);
  }

  private grow(atLeast: number): void {
    let size = this.buf.length * 2;
    while (size < atLeast) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger);
    this.buf = bigger;
    this.whole = [bigger];
  }

  /** The rest of a file from byte `n` on, `n` bytes of it in the buffer already. */
  private readFrom(fd: number, from: number): string {
    let n = from;
    for (;;) {
      if (n === this.buf.length) this.grow(n + 1);
      const r = readSync(fd, this.buf, n, this.buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return this.buf.toString('utf8', 0, n);
  }
}

/**
 * Small sysfs attributes read every tick (an interface's `flags` and `speed`), kept open
 * and read again from offset 0 in one system call (sysfs hands out an attribute whole in
 * one read) instead of open, two reads and close. sysfs follows renames: a descriptor of
 * /sys/class/net/eth0/flags reads the same interface after it is renamed, under whatever
 * name. So the caller passes a `generation` saying which names mean which objects (the net
 * input: the interface names of /proc/net/dev in the kernel's order, which a rename, an
 * interface added or removed, or a swap of two names changes); when it changes, every
 * descriptor is closed first. A read that fails (the interface is gone: ENODEV) is
 * retried once on the path; a path whose read fails (the `speed` of an interface that is
 * down: EINVAL) is not kept.
 */
export class KeptAttributes extends KeptDescriptors {
  private generation: string | undefined;
  private readonly buf = Buffer.allocUnsafe(4096);
  /** The buffer as readvSync takes it (see KeptFiles.whole). */
  private readonly whole = [this.buf];

  constructor(max = 64) {
    super(max);
  }

  read(path: string, generation: string): string {
    if (generation !== this.generation) {
      this.closeAll();
      this.generation = generation;
    }
    return this.readKept(path);
  }

  protected readAll(fd: number): string {
    const n = readvSync(fd, this.whole, 0);
    return this.buf.toString('utf8', 0, n);
  }
}
