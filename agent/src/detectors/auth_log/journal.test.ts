// The journal source: entries as `journalctl -o json` prints them (fields per systemd.journal-fields(7)).
import { describe, expect, it, vi } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { memoryState } from '../../state.ts';
import { JournalFollower, journalArgs, parseJournalEntry } from './journal.ts';
import { recordFrom } from './parse.ts';

describe('journal entries', () => {
  const line = JSON.stringify({
    __CURSOR: 's=abc;i=1f2',
    __REALTIME_TIMESTAMP: '1732700153123456',
    _HOSTNAME: 'web1',
    SYSLOG_IDENTIFIER: 'sshd',
    _PID: '4242',
    SYSLOG_FACILITY: '10',
    MESSAGE: 'Failed password for invalid user x from 6.6.6.6 port 1 ssh2 from 2001:db8::9 port 52000 ssh2',
  });

  it('become auth records with the journal time, pid and the real source address', () => {
    const e = parseJournalEntry(line)!;
    expect(e.cursor).toBe('s=abc;i=1f2');
    expect(recordFrom(e.header)).toMatchObject({
      kind: 'auth_failure',
      src: '2001:db8::9',
      pid: 4242,
      time: 1732700153123,
      user: 'x from 6.6.6.6 port 1 ssh2',
    });
  });

  it('binary MESSAGE arrays are decoded; garbage is skipped', () => {
    const bytes = [...Buffer.from('Invalid user bob from 198.51.100.9 port 22')];
    const e = parseJournalEntry(JSON.stringify({ SYSLOG_IDENTIFIER: 'sshd', MESSAGE: bytes }))!;
    expect(recordFrom(e.header)).toMatchObject({ kind: 'invalid_user', src: '198.51.100.9' });
    for (const g of ['', 'not json', '[]', 'null', '{"MESSAGE": 5}', '{"MESSAGE":"x"}']) expect(parseJournalEntry(g)).toBeUndefined();
  });

  it('arguments: only new entries on a first run, after the cursor later', () => {
    expect(journalArgs(undefined, false)).toEqual(['-f', '-o', 'json', '--no-pager', 'SYSLOG_FACILITY=4', 'SYSLOG_FACILITY=10', '-n', '0']);
    expect(journalArgs('s=abc', false).at(-1)).toBe('--after-cursor=s=abc');
  });
});

describe('JournalFollower', () => {
  it('keeps its cursor in ctx.state and resumes after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-journal-'));
    try {
      // A real process in journalctl's place: records its arguments, prints two entries, waits.
      const script = join(dir, 'journalctl');
      const entry = (i: number) =>
        JSON.stringify({ __CURSOR: `s=x;i=${i}`, SYSLOG_IDENTIFIER: 'sshd', MESSAGE: `Invalid user u${i} from 198.51.100.${i} port 22` });
      writeFileSync(script, `#!/bin/sh\necho "$@" >> '${join(dir, 'args')}'\necho '${entry(1)}'\necho '${entry(2)}'\nexec sleep 60\n`);
      chmodSync(script, 0o755);
      const state = memoryState();
      const run = async () => {
        const got: string[] = [];
        const f = new JournalFollower({
          command: script,
          state,
          stateName: 'journal-auth_log.cursor',
          fromBeginning: false,
          log: pino({ level: 'silent' }),
          onEntry: (e) => got.push(e.cursor ?? ''),
        });
        await f.start();
        await vi.waitFor(() => expect(got).toHaveLength(2), { timeout: 20_000, interval: 50 });
        await f.stop();
        return got;
      };
      expect(await run()).toEqual(['s=x;i=1', 's=x;i=2']);
      expect(state.saved.get('journal-auth_log.cursor')).toBe('s=x;i=2');
      await run();
      const args = readFileSync(join(dir, 'args'), 'utf8').trim().split('\n');
      expect(args[0]).toContain('-n 0');
      expect(args[1]).toContain('--after-cursor=s=x;i=2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
