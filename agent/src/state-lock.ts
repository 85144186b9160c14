// One agent per state_dir: two agents on one spool would cut each other's records (the
// second opening truncates what the first is still writing) and the first would keep
// running without sending. Node has no flock(), so the lock is a file created with O_EXCL
// holding the owner's pid and start time; a lock whose process is gone (or whose pid now
// belongs to another process) is stale and taken over.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CanhError } from '@canh/core';

export const LOCK_FILE = 'agent.lock';

interface Holder {
  pid: number;
  /** Start time of the process (Linux: /proc/<pid>/stat field 22), against pid reuse. */
  start?: string;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(h: Holder): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(h.pid);
  return h.start === undefined || now === undefined || now === h.start;
}

function readHolder(file: string): Holder | 'unreadable' | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return 'unreadable';
  }
  try {
    const h = JSON.parse(text) as Holder;
    return Number.isInteger(h.pid) && h.pid > 0 ? h : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

export interface StateLock {
  readonly file: string;
  /** Remove the lock if it is still ours; safe to call twice. */
  release(): void;
}

export function lockStateDir(dir: string): StateLock {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const file = join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, start: startTime(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(me));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          const h = readHolder(file);
          if (h && h !== 'unreadable' && h.pid === me.pid) rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const h = readHolder(file);
    // Being written this very moment by a starting agent: a young unreadable lock is held.
    const st = statSync(file, { throwIfNoEntry: false });
    const young = h === 'unreadable' && st !== undefined && Date.now() - st.mtimeMs < 10_000;
    // The same process (an Agent made again in one process, as tests do after a simulated crash) takes it over.
    if ((h !== undefined && h !== 'unreadable' && h.pid !== process.pid && alive(h)) || young) {
      const who = h === 'unreadable' ? 'another canh-agent' : `another canh-agent (pid ${h!.pid})`;
      throw new CanhError(
        'CANH_ERR_AGENT_STATE_LOCKED',
        `${who} is using the state folder ${dir} (${LOCK_FILE}): two agents on one state_dir would cut each other's spool; stop the other one, or give this one its own agent.state_dir`,
      );
    }
    rmSync(file, { force: true });
  }
  throw new CanhError('CANH_ERR_AGENT_STATE_LOCKED', `could not take the lock ${file} after 3 tries: another agent keeps starting on the same state_dir`);
}
