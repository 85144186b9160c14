import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import def, { EDITOR_FILES, SCRIPT_EXTENSIONS, type FileIntegrity } from './index.ts';
import { classify, diffSnapshots, excluded, resolveStatic, skippableEditorFile, type Entry } from './diff.ts';
import { changesToEvents } from './events.ts';
import { readmeExample, recorder, testContext, until, sleep } from '../testing.ts';

const entry = (over: Partial<Entry> = {}): Entry => ({
  kind: 'file',
  size: 1,
  mode: 0o100644,
  uid: 0,
  gid: 0,
  mtimeMs: 1,
  ctimeMs: 1,
  ino: 1,
  sha256: 'a',
  ...over,
});

describe('file_integrity pure logic', () => {
  it('finds added, modified, deleted and permission changes within the prefixes only', () => {
    const before = { '/w/a': entry(), '/w/b': entry(), '/w/c': entry(), '/x/d': entry() };
    const after = { '/w/a': entry({ sha256: 'b', ctimeMs: 2 }), '/w/c': entry({ mode: 0o100777 }), '/w/e': entry(), '/x/f': entry() };
    const changes = diffSnapshots(before, after, ['/w']);
    expect(changes.map((c) => `${c.change} ${c.path}`)).toEqual(['modified /w/a', 'deleted /w/b', 'permissions /w/c', 'added /w/e']);
  });

  it('a touch or a new ctime alone is not a modification when the hash is equal', () => {
    expect(diffSnapshots({ '/f': entry() }, { '/f': entry({ mtimeMs: 9, ctimeMs: 9 }) }, ['/f'])).toEqual([]);
  });

  it('classifies system files with their ATT&CK technique and web roots as defacement', () => {
    const scope = { webRoots: ['/var/www/html'], staticPaths: resolveStatic(['static', '/srv/x'], ['/var/www/html']), paths: ['/etc/cron.d'] };
    expect(scope.staticPaths).toEqual(['/var/www/html/static', '/srv/x']);
    expect(classify('/root/.ssh/authorized_keys', 'modified', scope)).toMatchObject({ type: 'file_modified', severity: 'high', mitre: 'T1098.004' });
    expect(classify('/etc/cron.d/evil', 'added', scope)).toMatchObject({ type: 'file_added', severity: 'high', mitre: 'T1053.003', root: '/etc/cron.d' });
    expect(classify('/etc/sudoers.d/x', 'permissions', scope)).toMatchObject({ type: 'file_permissions_changed', mitre: 'T1548.003' });
    expect(classify('/var/www/html/index.php', 'modified', scope)).toMatchObject({ type: 'possible_defacement', severity: 'high', mitre: 'T1491.002' });
    expect(classify('/var/www/html/static/logo.png', 'deleted', scope)).toMatchObject({ type: 'possible_defacement', severity: 'critical' });
    expect(classify('/opt/app.conf', 'modified', scope)).toMatchObject({ type: 'file_modified', severity: 'medium' });
  });

  it('the default excludes hide no web shell: every name below is looked at', () => {
    const cfg = def.config.parse({});
    expect(cfg.editor_files).toEqual(EDITOR_FILES);
    const rule = { editorFiles: cfg.editor_files, scriptExtensions: cfg.script_extensions };
    const hidden = (name: string, mode?: number) => excluded(`/var/www/html/${name}`, cfg.exclude) || skippableEditorFile(`/var/www/html/${name}`, rule, mode);
    // Names web-shell kits and attackers use, some of them dressed as editor files.
    const shells = [
      '.#cmd.php',
      '#cmd.php',
      'cmd.php',
      '.cmd.php',
      'up/.#s.phtml',
      '.#x.php5',
      'x.php7',
      'wso.PHP',
      'c99.php.swp',
      'r57.php~.php',
      '.#shell.jsp',
      'cmd.jspx',
      '.#cmd.aspx',
      'cmd.asp',
      'cmd.ashx',
      'x.asa',
      'x.cer',
      '.#test.cgi',
      'x.pl',
      '.#x.sh',
      '.#x.py',
      'x.rb',
      '.#x.cfm',
      '.#x.shtml',
      '.htaccess',
      '.#.htaccess',
      'web.config',
      'x.phar',
      'x.inc',
      'lib.so~.so',
      'x.jsp.swp',
      'index.php.swx',
    ];
    expect(shells.filter((n) => hidden(n))).toEqual([]);
    // An editor file with an executable bit (a CGI or a dropped ELF) is looked at too.
    expect(hidden('.#run', 0o100755)).toBe(false);
    expect(hidden('backup~', 0o100700)).toBe(false);
    // What the editor rule is for: swap and backup files of content that cannot run.
    expect(['.index.html.swp', 'style.css~', '.#notes.txt', '#draft.md#', 'a.swo', 'cmd.php~', '#x.php#'].filter((n) => !hidden(n, 0o100644))).toEqual([]);
    expect(SCRIPT_EXTENSIONS).toEqual(expect.arrayContaining(['php', 'phtml', 'jsp', 'asp', 'aspx', 'cgi', 'sh', 'py', 'pl']));
  });

  it('groups a burst into one event per kind of change with a count', () => {
    const changes = Array.from({ length: 300 }, (_, i) => ({ path: `/var/www/html/p${i}.html`, change: 'added' as const, new: entry() }));
    changes.push({ path: '/var/www/html/static/a.css', change: 'added', new: entry() });
    const evs = changesToEvents(changes, { webRoots: ['/var/www/html'], staticPaths: ['/var/www/html/static'], paths: [] }, 5);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ type: 'possible_defacement', severity: 'critical', count: 301 });
    expect(String(evs[0]!.evidence!.paths_sample)).toContain('and 291 more');
  });
});

describe('file_integrity on real files', () => {
  let dir: string;
  let state: string;
  let running: FileIntegrity[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'canh-fim-'));
    state = join(dir, 'state');
    mkdirSync(join(dir, 'etc/sudoers.d'), { recursive: true });
    mkdirSync(join(dir, 'www/static'), { recursive: true });
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
    writeFileSync(join(dir, 'etc/sudoers.d/admins'), '%admins ALL=(ALL) ALL\n');
    writeFileSync(join(dir, 'www/index.html'), '<h1>Sở Nội vụ</h1>\n');
    writeFileSync(join(dir, 'www/static/app.js'), 'console.log(1)\n');
  });
  afterEach(async () => {
    for (const r of running) await r.stop?.();
    running = [];
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (over: Record<string, unknown> = {}) => {
    const cfg = def.config.parse({
      paths: [join(dir, 'etc/passwd'), join(dir, 'etc/sudoers.d')],
      web_roots: [join(dir, 'www')],
      static_paths: ['static'],
      debounce: '50ms',
      ...over,
    });
    const rec = recorder();
    const fim = def.create(cfg, testContext(state)) as FileIntegrity;
    running.push(fim);
    void fim.start!(rec.acc);
    return { fim, ...rec };
  };

  it('records a baseline on the first run without events, then sees changes by watch', async () => {
    const { fim, events } = start();
    await fim.idle();
    expect(events).toEqual([]);
    expect(existsSync(join(state, 'baseline-file_integrity.json'))).toBe(true);

    const oldHash = JSON.parse(readFileSync(join(state, 'baseline-file_integrity.json'), 'utf8')).data.entries[join(dir, 'etc/passwd')].sha256;
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nevil:x:0:0::/:/bin/sh\n');
    writeFileSync(join(dir, 'etc/sudoers.d/backdoor'), 'evil ALL=(ALL) NOPASSWD: ALL\n');
    chmodSync(join(dir, 'etc/sudoers.d/admins'), 0o666);
    expect(await until(() => events.length >= 3)).toBe(true);
    await sleep(200);
    await fim.idle();
    const byType = Object.fromEntries(events.map((e) => [e.type, e]));
    expect(Object.keys(byType).sort()).toEqual(['file_added', 'file_modified', 'file_permissions_changed']);
    expect(byType.file_modified!.evidence).toMatchObject({ path: join(dir, 'etc/passwd'), old_sha256: oldHash });
    expect(byType.file_modified!.evidence!.new_sha256).not.toBe(oldHash);
    expect(byType.file_permissions_changed!.evidence).toMatchObject({ old_mode: '0644', new_mode: '0666' });

    events.length = 0;
    unlinkSync(join(dir, 'etc/sudoers.d/backdoor'));
    expect(await until(() => events.some((e) => e.type === 'file_deleted'))).toBe(true);
  });

  it('finds the same changes by the periodic scan when watching is off', async () => {
    const { fim, events } = start({ watch: false });
    await fim.idle();
    writeFileSync(join(dir, 'www/index.html'), '<h1>hacked by x</h1>\n');
    writeFileSync(join(dir, 'www/static/app.js'), 'alert(1)\n');
    await sleep(100);
    expect(events).toEqual([]); // nothing without watch until the scan runs
    await fim.scanNow();
    expect(events.map((e) => [e.type, e.severity, e.mitre, e.evidence!.path]).sort()).toEqual([
      ['possible_defacement', 'critical', 'T1491.002', join(dir, 'www/static/app.js')],
      ['possible_defacement', 'high', 'T1491.002', join(dir, 'www/index.html')],
    ]);
  });

  it('no flood after a restart; a change made while stopped is reported once', async () => {
    const first = start();
    await first.fim.idle();
    await first.fim.stop!();
    writeFileSync(join(dir, 'www/index.html'), 'changed while the agent was down\n');
    const second = start();
    await second.fim.idle();
    expect(second.events.map((e) => [e.type, e.evidence!.change, e.evidence!.path])).toEqual([
      ['possible_defacement', 'modified', join(dir, 'www/index.html')],
    ]);
    await second.fim.stop!();
    const third = start();
    await third.fim.idle();
    expect(third.events).toEqual([]);
  });

  it('a corrupt baseline is set aside and rebuilt, not fatal', async () => {
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'baseline-file_integrity.json'), '{"format":1,"data":{"roots":[');
    const { fim, events } = start();
    await fim.idle();
    expect(events).toEqual([]);
    expect(JSON.parse(readFileSync(join(state, 'baseline-file_integrity.json'), 'utf8')).data.roots).toContain(join(dir, 'www'));
  });

  it('a burst of 500 files under a web root gives a handful of events whose counts add up', async () => {
    const { fim, events } = start({ debounce: '300ms' });
    await fim.idle();
    mkdirSync(join(dir, 'www/shell'));
    for (let i = 0; i < 500; i++) writeFileSync(join(dir, 'www/shell', `f${i}.php`), `<?php system($_GET[${i}]);`);
    expect(await until(() => events.reduce((n, e) => n + (e.count ?? 1), 0) >= 501, 10_000)).toBe(true);
    await sleep(500);
    await fim.idle();
    expect(events.length).toBeLessThanOrEqual(5);
    expect(events.every((e) => e.type === 'possible_defacement')).toBe(true);
    expect(events.reduce((n, e) => n + (e.count ?? 1), 0)).toBe(501); // 500 files + the folder
  });

  it('the scan alone finds additions, deletions and permission changes too', async () => {
    const { fim, events } = start({ watch: false });
    await fim.idle();
    writeFileSync(join(dir, 'etc/sudoers.d/new'), 'x ALL=(ALL) ALL\n');
    unlinkSync(join(dir, 'www/index.html'));
    chmodSync(join(dir, 'etc/passwd'), 0o600);
    await fim.scanNow();
    expect(events.map((e) => `${e.type} ${e.evidence!.change} ${e.evidence!.path}`).sort()).toEqual([
      `file_added added ${join(dir, 'etc/sudoers.d/new')}`,
      `file_permissions_changed permissions ${join(dir, 'etc/passwd')}`,
      `possible_defacement deleted ${join(dir, 'www/index.html')}`,
    ]);
  });

  it('exclude globs keep caches out', async () => {
    const { fim, events } = start({ watch: false, exclude: ['**/cache/**', '**/cache'] });
    await fim.idle();
    mkdirSync(join(dir, 'www/cache'));
    writeFileSync(join(dir, 'www/cache/x'), 'tmp');
    await fim.scanNow();
    expect(events).toEqual([]);
  });

  it('a web shell named like an editor file (.#cmd.php) is reported; an editor swap file is not', async () => {
    const { fim, events } = start({ watch: false });
    await fim.idle();
    writeFileSync(join(dir, 'www/.#cmd.php'), '<?php system($_GET["c"]); ?>\n');
    writeFileSync(join(dir, 'www/.index.html.swp'), 'vim swap');
    writeFileSync(join(dir, 'www/.#run'), '#!/bin/sh\nid\n', { mode: 0o755 });
    await fim.scanNow();
    expect(events.map((e) => `${e.type} ${String(e.evidence!.path)}`).sort()).toEqual([
      `possible_defacement ${join(dir, 'www/.#cmd.php')}`,
      `possible_defacement ${join(dir, 'www/.#run')}`,
    ]);
  });

  it('README example parses with the schema', () => {
    expect(readmeExample(import.meta.dirname, def)).toMatchObject({ web_roots: ['/var/www/html'] });
  });
});
