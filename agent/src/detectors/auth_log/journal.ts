// The systemd journal as a source of auth messages, for hosts without /var/log/auth.log:
// `journalctl -f -o json` restricted to the auth and authpriv facilities, resumed after the
// cursor saved in the agent's state_dir. parseJournalEntry is pure; JournalFollower runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { StateStore } from '../../inputs/types.ts';
import type { Header } from './header.ts';

export interface JournalEntry {
  header: Header;
  cursor?: string;
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  // The journal writes non-UTF-8 or binary messages as an array of byte values.
  if (Array.isArray(v) && v.length < 65_536 && v.every((b) => typeof b === 'number')) return Buffer.from(v as number[]).toString('utf8');
  return undefined;
}

/** One line of `journalctl -o json`; undefined when it is not an entry we can use. */
export function parseJournalEntry(line: string): JournalEntry | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  const message = text(d.MESSAGE);
  const program = text(d.SYSLOG_IDENTIFIER) ?? text(d._COMM);
  if (message === undefined || !program) return undefined;
  const us = Number(text(d.__REALTIME_TIMESTAMP));
  const pid = Number(text(d.SYSLOG_PID) ?? text(d._PID));
  return {
    header: {
      program,
      message,
      time: Number.isFinite(us) && us > 0 ? Math.floor(us / 1000) : undefined,
      pid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
      host: text(d._HOSTNAME),
    },
    cursor: text(d.__CURSOR),
  };
}

/** Arguments for journalctl: follow auth/authpriv, after `cursor`, or only new entries. */
export function journalArgs(cursor: string | undefined, fromBeginning: boolean): string[] {
  const args = ['-f', '-o', 'json', '--no-pager', 'SYSLOG_FACILITY=4', 'SYSLOG_FACILITY=10'];
  if (cursor) args.push(`--after-cursor=${cursor}`);
  else if (!fromBeginning) args.push('-n', '0');
  else args.push('-n', 'all');
  return args;
}

export class JournalFollower {
  private child: ChildProcess | undefined;
  private cursor: string | undefined;
  private saved: string | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly o: { command: string; state: StateStore; stateName: string; fromBeginning: boolean; log: Logger; onEntry(e: JournalEntry): void };

  constructor(o: JournalFollower['o']) {
    this.o = o;
  }

  async start(): Promise<void> {
    this.cursor = ((await this.o.state.read(this.o.stateName).catch(() => undefined)) ?? '').trim() || undefined;
    this.saved = this.cursor;
    this.spawn();
  }

  /** The cursor is saved a second after it moved: no timer while the journal is quiet. */
  private saveSoon(): void {
    if (this.saveTimer || this.stopped) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save().catch((err: unknown) => this.o.log.warn({ err }, 'cannot save the journal cursor; retrying at the next entry'));
    }, 1000);
  }

  private spawn(): void {
    if (this.stopped) return;
    const child = spawn(this.o.command, journalArgs(this.cursor, this.o.fromBeginning), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.on('error', (err) => {
      this.o.log.warn({ err, code: 'CANH_ERR_DETECTOR_JOURNAL_UNAVAILABLE' }, 'cannot run journalctl: install systemd tools or set source: file with a path');
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = parseJournalEntry(line);
      if (!e) return;
      if (e.cursor) {
        this.cursor = e.cursor;
        this.saveSoon();
      }
      this.o.onEntry(e);
    });
    child.on('close', (code) => {
      if (this.stopped) return;
      this.o.log.warn(
        { code, stderr, errcode: 'CANH_ERR_DETECTOR_JOURNAL_UNAVAILABLE' },
        'journalctl exited; restarting in 10 s (the agent needs to be root or in group systemd-journal)',
      );
      setTimeout(() => this.spawn(), 10_000).unref();
    });
  }

  private async save(): Promise<void> {
    if (!this.cursor || this.cursor === this.saved) return;
    const c = this.cursor;
    await this.o.state.write(this.o.stateName, c);
    this.saved = c;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.child?.kill('SIGTERM');
    await this.save().catch(() => {});
  }
}
