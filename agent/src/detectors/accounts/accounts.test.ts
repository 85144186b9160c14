import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import def from './index.ts';
import { isLoginShell, privilegedMembers } from './parse.ts';
import { parseGroup, parsePasswd } from '../passwd.ts';
import { readmeExample, recorder, sleep, testContext } from '../testing.ts';

const data = (f: string) => readFileSync(join(import.meta.dirname, 'testdata', f), 'utf8');

describe('accounts parsing (captured Debian files)', () => {
  it('parses passwd and group', () => {
    const p = parsePasswd(data('passwd-debian.txt'));
    const g = parseGroup(data('group-debian.txt'));
    expect(p.malformed).toBe(0);
    expect(g.malformed).toBe(0);
    expect(p.users.find((u) => u.name === 'root')).toEqual({ name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' });
    expect(privilegedMembers(p.users, g.groups, ['sudo', 'root'])).toEqual({ root: ['root'], sudo: [] });
  });

  it('hostile lines are skipped and counted, never a crash', () => {
    const p = parsePasswd('root:x:0:0:root:/root:/bin/bash\n\u0000\u00ff:::\nx:y:z\nbad:x:-1:0:::/bin/sh\n+::::::\n' + 'a'.repeat(100_000));
    expect(p.users.map((u) => u.name)).toEqual(['root']);
    expect(p.malformed).toBe(4);
  });

  it('tells login shells from nologin ones', () => {
    expect(isLoginShell('/bin/bash')).toBe(true);
    expect(isLoginShell('/usr/sbin/nologin')).toBe(false);
    expect(isLoginShell('/bin/false')).toBe(false);
    expect(isLoginShell('/bin/sync')).toBe(false);
  });

  it('README example parses with the schema', () => {
    expect(readmeExample(import.meta.dirname, def)).toMatchObject({ privileged_groups: ['sudo', 'wheel', 'adm', 'root'] });
  });
});

describe('accounts on real files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'canh-accounts-'));
    writeFileSync(join(dir, 'passwd'), data('passwd-debian.txt'));
    writeFileSync(join(dir, 'group'), data('group-debian.txt'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const make = () => def.create(def.config.parse({ passwd_file: join(dir, 'passwd'), group_file: join(dir, 'group') }), testContext(join(dir, 'state')));

  it('first run is quiet; then each kind of change gives its event; a restart gives none', async () => {
    const det = make();
    const { acc, events } = recorder();
    await det.gather!(acc);
    expect(events).toEqual([]);

    const passwd = data('passwd-debian.txt')
      .replace(/^games:.*\n/m, '')
      .replace('www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin', 'www-data:x:33:33:www-data:/var/www:/bin/bash');
    writeFileSync(join(dir, 'passwd'), `${passwd}toor:x:0:0::/root:/bin/sh\nnguyenvana:x:1001:1001::/home/nguyenvana:/bin/bash\n`);
    writeFileSync(join(dir, 'group'), data('group-debian.txt').replace('sudo:x:27:', 'sudo:x:27:nguyenvana'));
    await det.gather!(acc);
    expect(events.map((e) => `${e.type} ${e.severity} ${e.mitre ?? '-'} ${String(e.evidence!.user)}`).sort()).toEqual([
      'account_created medium T1136.001 nguyenvana',
      'account_created medium T1136.001 toor',
      'account_deleted low - games',
      'privileged_group_member_added high T1098 nguyenvana',
      'privileged_group_member_added high T1098 toor', // primary group root
      'system_account_login_shell high T1098 www-data',
      'uid0_account critical T1078.003 toor',
    ]);

    events.length = 0;
    await det.gather!(acc);
    expect(events).toEqual([]);
    const restarted = make();
    await restarted.gather!(acc);
    expect(events).toEqual([]);
  });

  it('a second uid 0 that already exists is reported once on the first run', async () => {
    writeFileSync(join(dir, 'passwd'), `${data('passwd-debian.txt')}backup:x:0:0::/root:/bin/bash\n`);
    const { acc, events } = recorder();
    await make().gather!(acc);
    await make().gather!(acc);
    expect(events.map((e) => e.type)).toEqual(['uid0_account']);
  });

  it('unchanged files are not read again; a change, even of the same size, is', async () => {
    let reads = 0;
    const ctx = testContext(join(dir, 'state'));
    const counted = { ...ctx, readFile: (p: string) => (reads++, ctx.readFile(p)) };
    const det = def.create(def.config.parse({ passwd_file: join(dir, 'passwd'), group_file: join(dir, 'group') }), counted);
    const { acc, events } = recorder();
    // Files changed within the last second are read every time (two writes in one timestamp tick look alike).
    await sleep(1100);
    await det.gather!(acc);
    expect(reads).toBe(2);
    await det.gather!(acc);
    await det.gather!(acc);
    expect(reads).toBe(2);
    // Same size: a system account given a login shell (/usr/sbin/nologin → /usr/local/bin/sh).
    const passwd = data('passwd-debian.txt');
    const changed = passwd.replace('www-data:/var/www:/usr/sbin/nologin', 'www-data:/var/www:/usr/local/bin/sh');
    expect(changed.length).toBe(passwd.length);
    expect(changed).not.toBe(passwd);
    writeFileSync(join(dir, 'passwd'), changed);
    await det.gather!(acc);
    expect(reads).toBe(4);
    expect(events.map((e) => e.type)).toEqual(['system_account_login_shell']);
  });

  it('an unreadable or emptied passwd file reports nothing and keeps the baseline', async () => {
    const det = make();
    const { acc, events } = recorder();
    await det.gather!(acc);
    writeFileSync(join(dir, 'passwd'), '');
    await det.gather!(acc);
    rmSync(join(dir, 'passwd'));
    await det.gather!(acc);
    writeFileSync(join(dir, 'passwd'), data('passwd-debian.txt'));
    await det.gather!(acc);
    expect(events).toEqual([]);
  });
});
