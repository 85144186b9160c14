// Follows a growing log file the way `tail -F` does, for log-reading detectors, and remembers
// where it stopped (inode + offset in the agent's state_dir) so that a restart neither
// rereads nor skips lines. Rotation by rename (logrotate's default) is handled by finishing
// the old file before reading the new one from its start; copytruncate by starting over at
// offset 0 when the file shrinks. Lines are delivered whole: a line still being written
// waits for its newline. On Linux, on a local file system, the kernel says when the file
// changes (inotify through fs.watch: the file itself, or its folder while the path names no
// file or another one), and an idle log costs no wake-up at all; a poll every `safetyMs`
// stays as the net for lost notifications (a full inotify queue); a caller that is woken
// regularly anyway (a detector's gather on the agent's tick) says so with `ticked` and calls
// tick(), and that net then rides on its wake-up: one synchronous `stat` of the path, no
// timer of the follower's own. Elsewhere (other systems, network and FUSE file systems,
// whose remote writes inotify does not see) it polls every `pollMs` as before.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, statfs, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { StateStore } from '../inputs/types.ts';

export interface Position {
  ino: number;
  offset: number;
}

export interface FollowOptions {
  path: string;
  /** Where the position is kept across restarts (ctx.state), and under which name. */
  state: StateStore;
  stateName: string;
  /** With no saved position: read the file from its start instead of only new lines. */
  fromBeginning: boolean;
  pollMs: number;
  /** Lines longer than this are cut (a hostile writer must not exhaust memory). */
  maxLineBytes?: number;
  log: Logger;
  onLines(lines: string[]): void;
  /**
   * True while what was read cannot be passed on (the spool's backlog is full): the follower
   * stops reading between chunks, keeps its position, and tries again every pollMs.
   */
  paused?(): boolean;
  /** Called every `pollMs` (a detector's periodic work rides on the poll's timer: one wake-up instead of two). */
  onPoll?(): void;
  /** Follow the kernel's change notifications where they are reliable (Linux, local file systems); default true. */
  watch?: boolean;
  /** With notifications: how often the file is polled all the same (default 60 s). */
  safetyMs?: number;
  /**
   * The caller calls tick() at least every `safetyMs` (a detector's gather, on the agent's
   * tick): with notifications the follower then arms no timer of its own, and tick() makes
   * the safety poll when it is due. Without notifications (or with onPoll) it changes nothing.
   */
  ticked?: boolean;
}

// statfs f_type of file systems whose changes made elsewhere inotify does not report.
const REMOTE_FS = new Set([
  0x6969, // NFS
  0x517b, // SMB
  0xff534d42, // CIFS
  0xfe534d42, // SMB2
  0x65735546, // FUSE (sshfs, s3fs, ...)
  0x00c36400, // Ceph
  0x01021997, // 9p
  0x5346414f, // AFS
  0x73757245, // Coda
  0x7461636f, // OCFS2
  0x01161970, // GFS2
  0x47504653, // GPFS
  0x0bd00bd0, // Lustre
]);

const CHUNK = 64 * 1024;
/** Lines handed to onLines at a time (at most). */
const GROUP = 64;

/** How often a followed file is polled all the same when the kernel tells of its changes (safetyMs). */
export const SAFETY_MS = 60_000;

export class LogFollower {
  private readonly o: FollowOptions;
  private fh: FileHandle | undefined;
  private ino = 0;
  /** Offset just past the last newline delivered. */
  private offset = 0;
  private partial: Buffer = Buffer.alloc(0);
  /** The read buffer, kept: a poll a second must not allocate 64 KiB each time. */
  private buf: Buffer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private savedKey = '';
  private lastProblem = '';
  /** The inode the path names, as last seen (0: none). */
  private pathIno = 0;
  private watcher: FSWatcher | undefined;
  /** What the watcher follows: the file's inode, or 0 for the folder (waiting for the file). */
  private watching = -1;
  /** Whether change notifications are used (decided at start). */
  private notified = false;
  /** A poll asked for by a notification, not yet run. */
  private due: NodeJS.Timeout | undefined;
  private lastPollAt = -Infinity;
  private lastFullAt = 0;
  /** Notifications that asked for a poll (tests; the README's cost figures). */
  notifications = 0;
  linesRead = 0;
  /** Reads put off because the spool's backlog was full (paused). */
  waits = 0;

  constructor(o: FollowOptions) {
    this.o = o;
  }

  /** Loads the saved position and reads what is due; then follows the file in the background. */
  async start(): Promise<void> {
    this.notified = await this.notifiable();
    await this.resume();
    await this.poll();
    this.arm();
    this.lastFullAt = Date.now();
    const safety = this.o.safetyMs ?? SAFETY_MS;
    // With notifications the timer only serves onPoll (and the safety poll); without onPoll it wakes for the safety poll only.
    const every = !this.notified || this.o.onPoll ? this.o.pollMs : safety;
    // The caller's ticks carry the safety poll (tick()): no wake-up of the follower's own.
    if (this.notified && this.o.ticked && !this.o.onPoll) return;
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        const full = !this.notified || Date.now() - this.lastFullAt >= safety;
        if (full) this.lastFullAt = Date.now();
        void (full ? this.poll().then(() => this.arm()) : Promise.resolve())
          .then(() => this.o.onPoll?.())
          .catch((err: unknown) => this.o.log.error({ err }, 'log poll handler failed'))
          .finally(loop);
      }, every);
    };
    loop();
  }

  /**
   * For a `ticked` follower with notifications, on the caller's tick: the safety poll when
   * `safetyMs` has passed since the last one. The path is on a local file system (that is
   * when notifications are used), so its `stat` is made at once, without a trip through the
   * thread pool: when it names the file being followed at the size read so far (or still no
   * file) and the watch is set, nothing was missed; otherwise a poll reads what was.
   */
  tick(): void {
    if (!this.notified || !this.o.ticked || this.o.onPoll || this.stopped) return;
    const now = Date.now();
    if (now - this.lastFullAt < (this.o.safetyMs ?? SAFETY_MS)) return;
    this.lastFullAt = now;
    let st: { ino: number; size: number } | undefined;
    try {
      st = statSync(this.o.path, { throwIfNoEntry: false });
    } catch {
      st = undefined; // not ours to see (EACCES): the poll says so
    }
    const caughtUp = this.fh ? st !== undefined && st.ino === this.ino && st.size === this.offset + this.partial.length : st === undefined;
    if (caughtUp && this.watcher) return;
    void this.poll().then(() => this.arm());
  }

  /** Whether the kernel's change notifications can be trusted for this path. */
  private async notifiable(): Promise<boolean> {
    if (this.o.watch === false || process.platform !== 'linux') return false;
    const fs = await statfs(dirname(this.o.path)).catch(() => undefined);
    return fs !== undefined && !REMOTE_FS.has(fs.type);
  }

  /** Watches the file the path names, or its folder while it names no file or not ours yet. */
  private arm(): void {
    if (!this.notified || this.stopped) return;
    const target = this.fh && this.ino === this.pathIno ? this.ino : 0;
    if (this.watcher && this.watching === target) return;
    this.watcher?.close();
    this.watcher = undefined;
    const base = basename(this.o.path);
    try {
      const w =
        target !== 0
          ? watch(this.o.path, { persistent: false }, () => this.changed())
          : watch(dirname(this.o.path), { persistent: false }, (_ev, name) => {
              if (name === null || String(name) === base) this.changed();
            });
      w.on('error', (err) => {
        this.o.log.debug({ err, path: this.o.path }, 'log watch ended; watching again after the next poll');
        w.close();
        if (this.watcher === w) this.watcher = undefined;
        this.changed();
      });
      this.watcher = w;
      this.watching = target;
    } catch (err) {
      // The folder is gone or the inotify limit is reached: poll every pollMs until a watch can be set again.
      this.o.log.debug({ err, path: this.o.path }, 'cannot watch the log; polling');
      this.changed(this.o.pollMs);
    }
  }

  /** A notification: poll at once, or when pollMs has passed since the last poll (a busy log is read at most once per pollMs). */
  private changed(min = 0): void {
    if (this.stopped || this.due) return;
    this.notifications++;
    const wait = Math.max(min, this.lastPollAt + this.o.pollMs - Date.now(), 0);
    this.due = setTimeout(() => {
      this.due = undefined;
      void this.poll().then(() => this.arm());
    }, wait);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.due) clearTimeout(this.due);
    this.watcher?.close();
    this.watcher = undefined;
    await this.polling;
    await this.save();
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
  }

  private async loadState(): Promise<Position | undefined> {
    try {
      const p = JSON.parse((await this.o.state.read(this.o.stateName)) ?? 'null') as Partial<Position> | null;
      if (p && typeof p.ino === 'number' && typeof p.offset === 'number' && p.offset >= 0) return { ino: p.ino, offset: p.offset };
    } catch {
      // No or unreadable position: behave as on a first run.
    }
    return undefined;
  }

  private async save(): Promise<void> {
    const key = `${this.ino}:${this.offset}`;
    if (key === this.savedKey || !this.ino) return;
    await this.o.state.write(this.o.stateName, JSON.stringify({ path: this.o.path, ino: this.ino, offset: this.offset }));
    this.savedKey = key;
  }

  private async resume(): Promise<void> {
    const saved = await this.loadState();
    const st = await stat(this.o.path).catch(() => undefined);
    if (saved && st && st.ino !== saved.ino) {
      // Rotated while the agent was stopped: finish the old file if it is still beside us.
      const old = await this.findRotated(saved.ino);
      if (old) {
        await this.openAt(old, saved.ino, saved.offset);
        await this.drain(true);
      }
      if (st) await this.openAt(this.o.path, st.ino, 0);
      return;
    }
    if (!st) {
      this.problem('missing', { path: this.o.path }, 'log file does not exist yet; waiting for it');
      return;
    }
    const offset = saved ? (saved.offset > st.size ? 0 : saved.offset) : this.o.fromBeginning ? 0 : st.size;
    await this.openAt(this.o.path, st.ino, offset);
  }

  private async findRotated(ino: number): Promise<string | undefined> {
    const dir = dirname(this.o.path);
    const base = basename(this.o.path);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) {
      if (n === base || !n.startsWith(base) || /\.(gz|bz2|xz|zst)$/.test(n)) continue;
      const s = await stat(join(dir, n)).catch(() => undefined);
      if (s?.ino === ino) return join(dir, n);
    }
    return undefined;
  }

  private async openAt(path: string, ino: number, offset: number): Promise<void> {
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
    try {
      this.fh = await open(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.problem(
        code ?? 'open',
        { err, path, code: code === 'EACCES' ? 'CANH_ERR_DETECTOR_LOG_UNREADABLE' : undefined },
        code === 'EACCES' ? 'cannot read the log file: run the agent as root or in the group that owns it (adm on Debian)' : 'cannot open the log file',
      );
      return;
    }
    this.ino = ino;
    this.offset = offset;
    this.partial = Buffer.alloc(0);
    this.lastProblem = '';
  }

  private problem(key: string, obj: object, msg: string): void {
    if (key === this.lastProblem) return;
    this.lastProblem = key;
    this.o.log.warn(obj, msg);
  }

  /** Read from the open file to its end and deliver complete lines (all of them when `final`). */
  private async drain(final: boolean): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    const buf = (this.buf ??= Buffer.allocUnsafe(CHUNK));
    let pos = this.offset + this.partial.length;
    for (;;) {
      // A rotated file is finished all the same (its path names another file now).
      if (!final && this.o.paused?.()) {
        // Nothing is lost: the rest stays in the file, and the position where reading stopped.
        this.waits++;
        this.changed(this.o.pollMs);
        return;
      }
      // The unfinished line goes first and the file's next bytes after it, in the kept
      // buffer: a large log read at once allocates nothing per chunk (a Buffer.concat of
      // 64 KiB each before: 1 GiB of allocations, and their memory, for a 1 GiB log).
      const kept = this.partial.length;
      const inPlace = kept <= CHUNK / 2;
      if (inPlace) this.partial.copy(buf, 0);
      const at = inPlace ? kept : 0;
      const { bytesRead } = await fh.read(buf, at, CHUNK - at, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      this.split(inPlace ? buf.subarray(0, kept + bytesRead) : Buffer.concat([this.partial, buf.subarray(0, bytesRead)]));
    }
    if (final && this.partial.length) {
      // A rotated file is complete: its unterminated last line is a line.
      const rest = this.partial;
      this.partial = Buffer.alloc(0);
      this.offset += rest.length;
      this.deliver([this.text(rest, 0, rest.length)]);
    }
  }

  private split(data: Buffer): void {
    let lines: string[] = [];
    let start = 0;
    let nl: number;
    while ((nl = data.indexOf(0x0a, start)) !== -1) {
      lines.push(this.text(data, start, nl));
      start = nl + 1;
      // Handed on in small groups: a young-generation collection copies every line still
      // held, and a 64 KiB chunk's ~600 lines held while they are parsed were most of what
      // it copied (bench:detect-live, --trace-gc).
      if (lines.length === GROUP) {
        this.deliver(lines);
        lines = [];
      }
    }
    this.offset += start;
    this.partial = Buffer.from(data.subarray(start));
    const max = this.o.maxLineBytes ?? 64 * 1024;
    if (this.partial.length > max) {
      // An endless line: deliver what we have and move on rather than buffer without bound.
      lines.push(this.text(this.partial, 0, this.partial.length));
      this.offset += this.partial.length;
      this.partial = Buffer.alloc(0);
    }
    this.deliver(lines);
  }

  /** Bytes start..end of `b` as text (cut at maxLineBytes), a trailing "\r" taken off; no Buffer view made per line. */
  private text(b: Buffer, start: number, end: number): string {
    const max = this.o.maxLineBytes ?? 64 * 1024;
    const s = b.toString('utf8', start, Math.min(end, start + max));
    return s.charCodeAt(s.length - 1) === 13 ? s.slice(0, -1) : s;
  }

  private deliver(lines: string[]): void {
    if (!lines.length) return;
    this.linesRead += lines.length;
    try {
      this.o.onLines(lines);
    } catch (err) {
      this.o.log.error({ err }, 'log line handler failed');
    }
  }

  /** One round: read new lines, then notice rotation or truncation. Serialised. */
  poll(): Promise<void> {
    this.lastPollAt = Date.now();
    this.polling = (this.polling ?? Promise.resolve())
      .then(() => this.pollOnce())
      .catch((err: unknown) => {
        this.o.log.warn({ err, path: this.o.path }, 'reading the log failed; retrying next poll');
      });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    if (!this.fh) {
      const st = await stat(this.o.path).catch(() => undefined);
      this.pathIno = st?.ino ?? 0;
      if (!st) return;
      // The file appeared after we started (or after a rotation): all of it is new.
      await this.openAt(this.o.path, st.ino, st.ino === this.ino ? this.offset : 0);
    }
    if (!this.fh) return;
    // The idle case in one trip through the thread pool: the path still names our file (same
    // inode, so the same size an fstat would give) and nothing was written since the last read.
    const now = await stat(this.o.path).catch(() => undefined);
    this.pathIno = now?.ino ?? 0;
    if (now && now.ino === this.ino && now.size === this.offset + this.partial.length) return this.save();
    const cur = await this.fh.stat();
    if (cur.size < this.offset) {
      this.o.log.info({ path: this.o.path, was: this.offset, now: cur.size }, 'log file was truncated; reading it from the start');
      this.offset = 0;
      this.partial = Buffer.alloc(0);
    }
    // Nothing written since the last read: no read (one trip through the thread pool less per idle poll).
    if (cur.size !== this.offset + this.partial.length) await this.drain(false);
    const st = await stat(this.o.path).catch(() => undefined);
    this.pathIno = st?.ino ?? 0;
    if (st && st.ino !== this.ino) {
      // Rotated: whatever was written to the old file before the rename comes first.
      await this.drain(true);
      await this.openAt(this.o.path, st.ino, 0);
      await this.drain(false);
    } else if (!st) {
      await this.drain(true);
    }
    await this.save();
  }
}
