// bench:detect-live at a small scale (issue 21): the same generated auth log, appended
// live, followed at the same time by a real canh-agent (the bundle, auth_log only, through
// a real collector into InfluxDB) and by Debian's fail2ban-server with a private config
// (sshd, postfix-sasl, dovecot and vsftpd jails, a ban action that only records). Every
// attack burst in the log is whole (6-12 failures), so both must report exactly the
// generated attacking addresses and no legitimate user. No figure is judged here: CPU
// and rates are the benchmark's (`npm run bench:detect-live`).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDetectLive } from '../bench/lib/detect-live.ts';
import { fail2banMissing } from '../bench/lib/fail2ban-server.ts';
import { explain, type AddressInfo } from '../bench/lib/live-log.ts';
import { tempDirCleanup } from './helpers/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'canh-detect-live-'));
const cleanup = tempDirCleanup(dir, !!process.env.CANH_TEST_KEEP);
afterAll(() => cleanup());

describe('live auth log: canh-agent and fail2ban-server on the same file', () => {
  it('both report every generated attacker, and only those', { timeout: 240_000 }, async () => {
    expect(fail2banMissing()).toBeUndefined();
    const res = await runDetectLive({
      dir,
      rate: 250,
      seconds: 3,
      agent: 'bundle',
      threshold: 5,
      windowS: 600,
      f2bBackend: 'polling',
      drainTimeoutS: 120,
      settleS: 1,
    });
    const sorted = (s: Set<string>) => [...s].sort();
    expect(res.log.attackers.size).toBeGreaterThan(40);
    expect(sorted(res.canh.found)).toEqual(sorted(res.log.attackers));
    expect(sorted(res.fail2ban.found)).toEqual(sorted(res.log.attackers));
    // The address sets hold no legitimate user (10.0.0.0/8) and no end marker.
    expect([...res.canh.found, ...res.fail2ban.found].filter((a) => !a.startsWith('198.1'))).toEqual([]);
    // fail2ban reported each attacker from the jail of its service; Canh names the same service.
    for (const a of res.log.attackers) {
      const service = [...res.log.byAddress.get(a)!.services][0]!;
      expect(res.fail2ban.via.get(a)).toBe({ ssh: 'sshd', postfix: 'postfix-sasl', dovecot: 'dovecot', vsftpd: 'vsftpd' }[service]);
      expect(res.canh.via.get(a)).toBe({ ssh: 'ssh', postfix: 'mail', dovecot: 'mail', vsftpd: 'ftp' }[service]);
    }
    // Both processes were measured over the window.
    expect(res.canh.cpuMs).toBeGreaterThan(0);
    expect(res.fail2ban.cpuMs).toBeGreaterThan(0);
    expect(res.lines).toBe(res.log.bodies.length);
  });
});

describe('a difference between the two is explained by what the log holds for the address', () => {
  const info = (attempts: number, invalidUser: number, userChange = 0): AddressInfo => ({
    ip: '198.18.0.9',
    services: new Set(['ssh']),
    attempts,
    invalidUser,
    userChange,
    lines: [' srv sshd[1]: Invalid user ax from 198.18.0.9 port 1', ' srv sshd[1]: Failed password for invalid user ax from 198.18.0.9 port 1 ssh2'],
  });
  it('a cut burst of invalid users: fail2ban counts two failures per attempt', () => {
    expect(explain(info(3, 2), 'fail2ban', 5)).toMatch(/3 failed attempts.*2 of them for an invalid user: fail2ban counts "Invalid user"/);
    expect(explain(info(3, 1), 'fail2ban', 5)).toMatch(/fewer than 5/);
  });
  it('a pre-auth close naming another user: fail2ban counts the user change', () => {
    expect(explain(info(3, 1, 1), 'fail2ban', 5)).toMatch(/1 of them for an invalid user.*1 connection\(s\) closed pre-auth naming another user/);
  });
  it('enough attempts for both: a detection difference, with the lines', () => {
    expect(explain(info(6, 0), 'canh', 5)).toMatch(/both should have found it[^]*Failed password for invalid user ax/);
  });
  it('an address not in the log', () => {
    expect(explain(undefined, 'canh', 5)).toMatch(/not in the log/);
  });
});
