// The journal source: entries as `journalctl -o json` prints them (fields per systemd.journal-fields(7)).
import { describe, expect, it } from 'vitest';
import { journalArgs, parseJournalEntry } from './journal.ts';
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
    expect(recordFrom(e.header)).toMatchObject({ kind: 'auth_failure', src: '2001:db8::9', pid: 4242, time: 1732700153123, user: 'x from 6.6.6.6 port 1 ssh2' });
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
