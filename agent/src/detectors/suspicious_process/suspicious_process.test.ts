import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync, openSync, closeSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import def from './index.ts';
import {
  execMappings,
  formatCmdline,
  interpreterOf,
  isLoader,
  judgeExe,
  loadedProgram,
  memoryMounts,
  mountPoints,
  parseStartTime,
  parseStatus,
  scriptArg,
} from './parse.ts';
import { writableLocations } from './locations.ts';
import { parseForks, parseLoadavg, sweptSince } from './pids.ts';
import { ProcessWatch } from './watch.ts';
import { readmeExample, recorder, testContext, sleep, until, type Recorded } from '../testing.ts';

const data = (f: string) => readFileSync(join(import.meta.dirname, 'testdata', f), 'utf8');
const DIRS = ['/tmp', '/var/tmp', '/dev/shm'];

describe('suspicious_process pure logic', () => {
  it('judges executable paths', () => {
    expect(judgeExe('/usr/bin/sleep', DIRS)).toBeUndefined();
    expect(judgeExe('/tmp/x/kinsing', DIRS)).toMatchObject({ reason: 'temp_dir', severity: 'high', mitre: 'T1059' });
    expect(judgeExe('/tmp/x/kinsing', ['/', '/tmp'])).toMatchObject({ why: 'is in /tmp, a world-writable folder' });
    expect(judgeExe('/tmpfoo/bin', DIRS)).toBeUndefined();
    expect(judgeExe('/dev/shm/.x (deleted)', DIRS)).toMatchObject({ reason: 'temp_dir', severity: 'high' });
    expect(judgeExe('/home/u/.cache/x (deleted)', DIRS)).toMatchObject({ reason: 'deleted', severity: 'high', mitre: 'T1036' });
    expect(judgeExe('/usr/sbin/sshd (deleted)', DIRS)).toMatchObject({ reason: 'deleted', severity: 'low' });
    expect(judgeExe('/memfd:payload (deleted)', DIRS)).toMatchObject({ reason: 'memfd', severity: 'high', mitre: 'T1620' });
  });

  it('finds the program the dynamic loader mapped (captured maps of `ld-linux.so /dev/shm/y`)', () => {
    const maps = data('maps-loader.txt');
    expect(isLoader('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).toBe(true);
    expect(isLoader('/lib/ld-musl-x86_64.so.1')).toBe(true);
    expect(isLoader('/lib/ld-linux-armhf.so.3 (deleted)')).toBe(true);
    expect(isLoader('/usr/bin/ldd')).toBe(false);
    expect(isLoader('/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe(false);
    expect(execMappings(maps)).toEqual(['/usr/lib/x86_64-linux-gnu/libc.so.6', '/dev/shm/y', '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2']);
    expect(loadedProgram(maps, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).toBe('/dev/shm/y');
    // A payload named like a library is still found when nothing else is there.
    const lib = maps.replaceAll('/dev/shm/y', '/tmp/evil.so');
    expect(loadedProgram(lib, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).toBe('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(loadedProgram(maps.replaceAll('/dev/shm/y', '/dev/shm/y (deleted)'), '/lib64/ld-linux-x86-64.so.2 (deleted)')).toBe('/dev/shm/y (deleted)');
    expect(loadedProgram('garbage\n', '/lib64/ld-linux-x86-64.so.2')).toBeUndefined();
  });

  it('knows interpreters by their real executable and finds the script they run', () => {
    expect(interpreterOf('/usr/bin/python3.11')).toBe('python');
    expect(interpreterOf('/usr/bin/perl5.36.0')).toBe('perl');
    expect(interpreterOf('/usr/bin/php8.2')).toBe('php');
    expect(interpreterOf('/usr/bin/dash')).toBe('shell');
    expect(interpreterOf('/usr/bin/node')).toBe('node');
    expect(interpreterOf('/bin/busybox')).toBe('busybox');
    expect(interpreterOf('/usr/sbin/nginx')).toBeUndefined();
    expect(interpreterOf('/usr/bin/python3-config')).toBeUndefined();
    expect(scriptArg('python', ['python3', '-u', '-W', 'ignore', '/tmp/miner.py', '--threads', '4'])).toBe('/tmp/miner.py');
    expect(scriptArg('python', ['python3', '-c', 'import os'])).toBeNull();
    expect(scriptArg('python', ['python3', '-m', 'http.server'])).toBeNull();
    expect(scriptArg('python', ['python3', '-Bc', 'x'])).toBeNull();
    expect(scriptArg('shell', ['bash', '-x', '/dev/shm/x.sh'])).toBe('/dev/shm/x.sh');
    expect(scriptArg('shell', ['sh', '-o', 'errexit', 'x.sh'])).toBe('x.sh');
    expect(scriptArg('shell', ['sh', '-ec', 'curl x | sh'])).toBeNull();
    expect(scriptArg('shell', ['-bash'])).toBe('-');
    expect(scriptArg('shell', ['bash', '-s'])).toBe('-');
    expect(scriptArg('python', ['python3', '-'])).toBe('-');
    expect(scriptArg('shell', ['bash', '-c', 'while read x; do :; done < /tmp/list'])).toBeNull();
    expect(scriptArg('perl', ['perl', '-I', '/usr/share/perl', '/tmp/x.pl'])).toBe('/tmp/x.pl');
    expect(scriptArg('perl', ['perl', '-e', 'sleep 1'])).toBeNull();
    expect(scriptArg('php', ['php', '-d', 'memory_limit=-1', '-f', '/var/tmp/s.php'])).toBe('/var/tmp/s.php');
    expect(scriptArg('node', ['node', '--require', '/opt/x.js', '/tmp/app.js'])).toBe('/tmp/app.js');
    expect(scriptArg('node', ['node', '--max-old-space-size=64', '/tmp/app.js'])).toBe('/tmp/app.js');
    expect(scriptArg('busybox', ['busybox', 'sh', '/tmp/x'])).toBe('/tmp/x');
    expect(scriptArg('busybox', ['busybox', 'wget', '/tmp/x'])).toBeNull();
    expect(scriptArg('python', ['python3', '--', '/tmp/-x.py'])).toBe('/tmp/-x.py');
  });

  it('reads memory file systems and mount points from /proc/mounts', () => {
    const m = data('mounts.txt');
    expect(memoryMounts(m)).toEqual(['/run', '/dev/shm', '/run/lock', '/tmp', '/run/user/1000', '/srv/my scratch']);
    expect(mountPoints(m)).toContain('/boot/efi');
    expect(memoryMounts('garbage\n\n')).toEqual([]);
  });

  it('parses captured /proc/<pid> files', () => {
    expect(parseStatus(data('status.txt'))).toMatchObject({ uid: 0, name: 'cp' });
    expect(parseStartTime(data('stat.txt'))).toBe('211710');
    expect(parseStartTime('1 (a) b) c) R 1 2')).toBeUndefined();
    expect(parseStartTime('garbage')).toBeUndefined();
    expect(formatCmdline(data('cmdline.bin'))).toBe('sleep 300');
    expect(formatCmdline('a\u0000b\u001b[31m\u0000', 5)).toBe('a b?[…');
  });

  it('README example parses with the schema', () => {
    expect(readmeExample(import.meta.dirname, def)).toMatchObject({ dirs: ['/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/var/crash'], host_dirs: true });
  });
});

describe('suspicious_process on real processes', () => {
  let dir: string;
  let fromTmp: ChildProcess;
  let deleted: ChildProcess;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-susp-'));
    copyFileSync('/bin/sleep', join(dir, 'sleep'));
    copyFileSync('/bin/sleep', join(dir, 'gone'));
    fromTmp = spawn(join(dir, 'sleep'), ['300'], { stdio: 'ignore' });
    deleted = spawn(join(dir, 'gone'), ['301'], { stdio: 'ignore' });
    await sleep(200);
    unlinkSync(join(dir, 'gone'));
  });
  afterAll(() => {
    fromTmp.kill('SIGKILL');
    deleted.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a process run from a copied binary under /tmp, once', async () => {
    const state = join(dir, 'state1');
    const det = def.create(def.config.parse({}), testContext(state));
    const { acc, events } = recorder();
    await det.gather!(acc);
    const mine = events.filter((e) => e.evidence!.pid === fromTmp.pid);
    expect(mine).toEqual([
      expect.objectContaining({
        type: 'suspicious_process',
        severity: 'high',
        evidence: expect.objectContaining({
          pid: fromTmp.pid,
          exe: join(dir, 'sleep'),
          cmdline: `${join(dir, 'sleep')} 300`,
          user: 'root',
          reason: 'temp_dir',
          ppid: process.pid,
        }),
      }),
    ]);
    events.length = 0;
    await det.gather!(acc);
    await def.create(def.config.parse({}), testContext(state)).gather!(acc); // after a restart
    expect(events.filter((e) => e.evidence!.pid === fromTmp.pid)).toEqual([]);
  });

  it('reports a process whose executable was deleted', async () => {
    // With no temp folders configured, only the deleted-binary rule can match.
    const det = def.create(def.config.parse({ dirs: ['/nonexistent'], host_dirs: false }), testContext(join(dir, 'state2')));
    const { acc, events } = recorder();
    await det.gather!(acc);
    expect(events.filter((e) => e.evidence!.pid === fromTmp.pid)).toEqual([]);
    expect(events.filter((e) => e.evidence!.pid === deleted.pid)).toEqual([
      expect.objectContaining({
        severity: 'high',
        mitre: 'T1036',
        message: `process ${deleted.pid} (user root) runs ${join(dir, 'gone')}; the file was deleted after the process started`,
        evidence: expect.objectContaining({ exe: `${join(dir, 'gone')} (deleted)`, reason: 'deleted', via: 'exe' }),
      }),
    ]);
  });

  it('an allowlisted executable is not reported', async () => {
    const det = def.create(def.config.parse({ allow_exes: [join(dir, 'sleep'), join(dir, 'gone')] }), testContext(join(dir, 'state3')));
    const { acc, events } = recorder();
    await det.gather!(acc);
    expect(events.filter((e) => e.evidence!.pid === fromTmp.pid || e.evidence!.pid === deleted.pid)).toEqual([]);
  });
});

const readlinkOr = (p: string) => {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
};

/** Events about one pid. */
const about = (events: Recorded[], pid: number | undefined) => events.filter((e) => e.evidence!.pid === pid);

describe('suspicious_process: the program that runs, not argv[0] (real processes)', () => {
  let shm: string;
  let tmp: string;
  const procs: ChildProcess[] = [];
  const run = (cmd: string, args: string[], opts: { stdin?: string } = {}) => {
    const fd = opts.stdin ? openSync(opts.stdin, 'r') : undefined;
    // Its own process group, so the shells' `sleep` children go with them at the end.
    const p = spawn(cmd, args, { stdio: [fd ?? 'ignore', 'ignore', 'ignore'], detached: true });
    if (fd !== undefined) closeSync(fd);
    procs.push(p);
    return p;
  };
  beforeAll(() => {
    shm = mkdtempSync('/dev/shm/canh-susp-');
    tmp = mkdtempSync(join(tmpdir(), 'canh-susp-'));
    copyFileSync('/bin/sleep', join(shm, 'y'));
    writeFileSync(join(tmp, 'x.py'), 'import time\ntime.sleep(300)\n');
    writeFileSync(join(shm, 'x.sh'), 'sleep 300\n');
    writeFileSync(join(shm, 'in.sh'), 'sleep 300\n');
    writeFileSync(join(tmp, 'x.pl'), 'sleep 300;\n');
    writeFileSync(join(tmp, 'x.js'), 'setTimeout(() => {}, 300_000);\n');
  });
  afterAll(() => {
    for (const p of procs) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(shm, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  const gatherFor = async (pid: number | undefined, state: string, cfg: object = {}) => {
    const det = def.create(def.config.parse(cfg), testContext(state));
    const { acc, events } = recorder();
    // Wait until the child has exec'd what it runs (its maps or argv are in place).
    await until(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').length > 0, 5000);
    await sleep(100);
    await det.gather!(acc);
    return { det, acc, events };
  };

  it('a binary copied into /dev/shm, run directly', async () => {
    const p = run(join(shm, 'y'), ['300']);
    const { events } = await gatherFor(p.pid, join(tmp, 's1'));
    expect(about(events, p.pid)).toEqual([
      expect.objectContaining({
        severity: 'high',
        mitre: 'T1059',
        evidence: expect.objectContaining({ program: join(shm, 'y'), via: 'exe', reason: 'temp_dir' }),
      }),
    ]);
  });

  it('the same binary started through the dynamic loader', async () => {
    const p = run('/lib64/ld-linux-x86-64.so.2', [join(shm, 'y'), '301']);
    await until(() => readFileSync(`/proc/${p.pid}/maps`, 'utf8').includes(join(shm, 'y')), 5000);
    const { events } = await gatherFor(p.pid, join(tmp, 's2'));
    const ev = about(events, p.pid);
    expect(ev).toEqual([
      expect.objectContaining({ severity: 'high', evidence: expect.objectContaining({ program: join(shm, 'y'), via: 'loader', reason: 'temp_dir' }) }),
    ]);
    expect(isLoader(String(ev[0]!.evidence!.exe))).toBe(true);
    expect(ev[0]!.message).toContain('through the dynamic loader');
  });

  it('python3 /tmp/x.py, bash /dev/shm/x.sh, perl x.pl (relative, from its folder), bash < /dev/shm/in.sh, node /tmp/x.js', async () => {
    const py = run('/usr/bin/python3', [join(tmp, 'x.py')]);
    const sh = run('/bin/bash', [join(shm, 'x.sh')]);
    const pl = spawn('/usr/bin/perl', ['x.pl'], { cwd: tmp, stdio: 'ignore', detached: true });
    procs.push(pl);
    const stdin = run('/bin/bash', [], { stdin: join(shm, 'in.sh') });
    const js = run('/usr/bin/node', ['--max-old-space-size=64', join(tmp, 'x.js')]);
    // Inline code reading a data file from /dev/shm on its standard input: not a script.
    writeFileSync(join(shm, 'list'), 'a\n');
    const loop = run('/bin/bash', ['-c', `while read x; do sleep 300; done < ${join(shm, 'list')}`]);
    await until(() => readlinkOr(`/proc/${loop.pid}/fd/0`) === join(shm, 'list'), 5000);
    await until(() => [py, sh, pl, stdin, js].every((p) => readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').length > 0), 5000);
    const { events } = await gatherFor(py.pid, join(tmp, 's3'));
    expect(about(events, py.pid)).toEqual([
      expect.objectContaining({
        severity: 'high',
        mitre: 'T1059.006',
        evidence: expect.objectContaining({ program: join(tmp, 'x.py'), via: 'interpreter', interpreter: 'python', reason: 'temp_dir' }),
      }),
    ]);
    expect(about(events, sh.pid)).toEqual([
      expect.objectContaining({
        mitre: 'T1059.004',
        evidence: expect.objectContaining({ program: join(shm, 'x.sh'), via: 'interpreter', interpreter: 'shell' }),
      }),
    ]);
    expect(about(events, pl.pid)).toEqual([
      expect.objectContaining({ mitre: 'T1059', evidence: expect.objectContaining({ program: join(tmp, 'x.pl'), interpreter: 'perl' }) }),
    ]);
    expect(about(events, stdin.pid)).toEqual([expect.objectContaining({ evidence: expect.objectContaining({ program: join(shm, 'in.sh'), via: 'stdin' }) })]);
    expect(readlinkOr(`/proc/${loop.pid}/fd/0`)).toBe(join(shm, 'list'));
    expect(about(events, loop.pid)).toEqual([]);
    expect(about(events, js.pid)).toEqual([
      expect.objectContaining({ mitre: 'T1059.007', evidence: expect.objectContaining({ program: join(tmp, 'x.js'), interpreter: 'node' }) }),
    ]);
    expect(about(events, py.pid)[0]!.message).toBe(
      `process ${py.pid} (user root) runs ${join(tmp, 'x.py')} with /usr/bin/python3.11; the file is in /tmp, a world-writable folder`,
    );
  });

  it('a binary in /run/lock (found on the host, not in a fixed list) and an allowlisted script', async () => {
    const lockDir = mkdtempSync('/run/lock/canh-susp-');
    try {
      copyFileSync('/bin/sleep', join(lockDir, 'w'));
      const p = run(join(lockDir, 'w'), ['302']);
      const { events } = await gatherFor(p.pid, join(tmp, 's4'), { dirs: [] });
      expect(about(events, p.pid)).toEqual([
        expect.objectContaining({ evidence: expect.objectContaining({ program: join(lockDir, 'w'), reason: 'temp_dir' }) }),
      ]);
      const none = await gatherFor(p.pid, join(tmp, 's5'), { dirs: [], host_dirs: false });
      expect(about(none.events, p.pid)).toEqual([]);
      const allowed = await gatherFor(p.pid, join(tmp, 's6'), { allow_exes: [join(lockDir, 'w')] });
      expect(about(allowed.events, p.pid)).toEqual([]);
      const allowedDir = await gatherFor(p.pid, join(tmp, 's6b'), { allow_dirs: [lockDir] });
      expect(about(allowedDir.events, p.pid)).toEqual([]);
    } finally {
      rmSync(lockDir, { recursive: true, force: true });
    }
  });

  it('a binary run from memory (memfd_create + exec, no file on disk)', async () => {
    const code =
      "import os\nfd = os.memfd_create('kworker', 0)\nos.write(fd, open('/bin/sleep', 'rb').read())\nos.execv(f'/proc/self/fd/{fd}', ['kworker', '304'])\n";
    const p = run('/usr/bin/python3', ['-c', code]);
    await until(() => (readlinkOr(`/proc/${p.pid}/exe`) ?? '').startsWith('/memfd:'), 5000);
    const { events } = await gatherFor(p.pid, join(tmp, 's9'));
    expect(about(events, p.pid)).toEqual([
      expect.objectContaining({
        severity: 'high',
        mitre: 'T1620',
        evidence: expect.objectContaining({ reason: 'memfd', via: 'exe', exe: '/memfd:kworker (deleted)' }),
      }),
    ]);
  });

  it('one process is one event: its file deleted after start is not a second one, nor is a restart', async () => {
    copyFileSync('/bin/sleep', join(shm, 'z'));
    const p = run(join(shm, 'z'), ['303']);
    const state = join(tmp, 's7');
    const { det, acc, events } = await gatherFor(p.pid, state);
    expect(about(events, p.pid)).toHaveLength(1);
    unlinkSync(join(shm, 'z'));
    await det.gather!(acc);
    await def.create(def.config.parse({}), testContext(state)).gather!(acc);
    expect(about(events, p.pid)).toHaveLength(1);
  });

  it("computes the host locations: memory mounts, sticky world-writable folders, users' ~/.cache", async () => {
    const dirs = await writableLocations(testContext(join(tmp, 's8')), [], ['/home/alice', '/', '/nonexistent'], true);
    expect(dirs).toEqual(expect.arrayContaining(['/dev/shm', '/tmp', '/var/tmp', '/run/lock', '/home/alice/.cache']));
    expect(dirs).not.toContain('/');
    expect(dirs).not.toContain('/usr');
  });
});

describe('suspicious_process: the folder that holds a program', () => {
  it('is the longest listed folder the path is under, whatever the order, trailing slash or list reused', () => {
    const naive = (path: string, dirs: readonly string[]) => {
      let best: string | undefined;
      for (const d of dirs) if ((d === '/' || path.startsWith(d.endsWith('/') ? d : `${d}/`)) && (!best || d.length > best.length)) best = d;
      return best;
    };
    const dirs = ['/tmp', '/tmp/a', '/var/tmp/', '/dev/shm', '/home/u/.cache', '/run/lock'];
    const paths = [
      '/tmp/x',
      '/tmp/a/b/c',
      '/tmpfoo/x',
      '/tmp',
      '/var/tmp/y',
      '/var/tmpy',
      '/dev/shm/.x',
      '/home/u/.cache/z/y',
      '/home/u/.cachex',
      '/usr/bin/sleep',
      '/run/lock/w',
      'rel/tmp/x',
    ];
    for (const list of [dirs, [...dirs].reverse(), ['/', ...dirs], ['/']]) {
      for (const p of paths) {
        const v = judgeExe(p, list);
        const want = naive(p, list);
        expect(v?.why, `${p} in ${list.join(',')}`).toBe(want ? `is in ${want}, a world-writable folder` : undefined);
      }
    }
  });
});

describe('suspicious_process: which pids may be new (the pid cursor)', () => {
  it('reads the cursor, the threads and the forks', () => {
    expect(parseLoadavg('14.37 9.77 5.44 19/277 9397\n')).toEqual({ threads: 277, cursor: 9397 });
    expect(parseLoadavg('garbage')).toBeUndefined();
    expect(parseForks('cpu  1 2 3\nintr 5 6\nctxt 7\nbtime 8\nprocesses 333948\nprocs_running 3\n')).toBe(333948);
    expect(parseForks('cpu 1\n')).toBeUndefined();
    const live = readFileSync('/proc/loadavg', 'utf8');
    expect(parseLoadavg(live)).toBeDefined();
    expect(parseForks(readFileSync('/proc/stat', 'utf8'))).toBeGreaterThan(0);
  });

  it('a pid outside the stretch the cursor swept is the same process; inside it, or after a possible full circle, maybe not', () => {
    const at = (cursor: number, forks: number, threads = 300) => ({ cursor, forks, threads });
    const s = sweptSince(at(1000, 50), at(1010, 60), 32768);
    expect(s).not.toBe('all');
    const f = s as (pid: number) => boolean;
    expect([999, 1000, 1001, 1010, 1011, 5].map(f)).toEqual([false, false, true, true, false, false]);
    // Wrapped past pid_max: the top and the bottom of the range were swept.
    const w = sweptSince(at(32760, 50), at(320, 70), 32768) as (pid: number) => boolean;
    expect([32761, 32767, 300, 320, 321, 20000].map(w)).toEqual([true, true, true, true, false, false]);
    // Nothing forked: nothing new.
    expect((sweptSince(at(1000, 50), at(1000, 50), 32768) as (pid: number) => boolean)(1000)).toBe(false);
    // Enough forks to come full circle, a counter gone backwards, or a cursor that moved without forks: all.
    expect(sweptSince(at(1000, 50), at(1010, 20_050), 32768)).toBe('all');
    expect(sweptSince(at(1000, 50), at(1010, 40), 32768)).toBe('all');
    expect(sweptSince(at(1000, 50), at(1010, 50), 32768)).toBe('all');
    // Forks that did not move this namespace's cursor (a child pid namespace): nothing new here.
    expect((sweptSince(at(1000, 50), at(1000, 60), 32768) as (pid: number) => boolean)(1000)).toBe(false);
    expect(sweptSince(at(1000, 50), at(1010, 60), 0)).toBe('all');
  });
});

describe('suspicious_process after the first gather: only new pids in full, executables of the others (real processes)', () => {
  let shm: string;
  const procs: ChildProcess[] = [];
  beforeAll(() => {
    shm = mkdtempSync('/dev/shm/canh-susp-diff-');
    copyFileSync('/bin/sleep', join(shm, 'y'));
  });
  afterAll(() => {
    for (const p of procs) {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(shm, { recursive: true, force: true });
  });
  const run = (cmd: string, args: string[]) => {
    const p = spawn(cmd, args, { stdio: 'ignore', detached: true });
    procs.push(p);
    return p;
  };

  it('a process started after the first gather is reported at the next one, which is not a full pass', async () => {
    const watch = new ProcessWatch(def.config.parse({}), testContext(join(shm, 's1')));
    const { acc, events } = recorder();
    await watch.gather(acc);
    expect(watch.fullPasses).toBe(1);
    const p = run(join(shm, 'y'), ['306']);
    await until(() => readlinkOr(`/proc/${p.pid}/exe`) === join(shm, 'y'), 5000);
    await watch.gather(acc);
    expect(watch.fullPasses).toBe(1);
    expect(about(events, p.pid)).toEqual([expect.objectContaining({ evidence: expect.objectContaining({ program: join(shm, 'y'), via: 'exe' }) })]);
    await watch.gather(acc);
    expect(about(events, p.pid)).toHaveLength(1);
  });

  it('a process known as harmless that execs a payload in place (same pid) is reported at the next gather', async () => {
    const fifo = join(shm, 'go');
    execFileSync('mkfifo', [fifo]);
    // bash waits on the fifo, then replaces itself with the payload: the pid stays.
    const p = run('/bin/bash', ['-c', `read _ < ${fifo}; exec ${join(shm, 'y')} 307`]);
    await until(() => readlinkOr(`/proc/${p.pid}/exe`) === '/usr/bin/bash', 5000);
    const watch = new ProcessWatch(def.config.parse({}), testContext(join(shm, 's2')));
    const { acc, events } = recorder();
    await watch.gather(acc);
    expect(about(events, p.pid)).toEqual([]);
    writeFileSync(fifo, 'x\n');
    expect(await until(() => readlinkOr(`/proc/${p.pid}/exe`) === join(shm, 'y'), 5000)).toBe(true);
    await watch.gather(acc);
    expect(watch.fullPasses).toBe(1);
    expect(about(events, p.pid)).toEqual([expect.objectContaining({ evidence: expect.objectContaining({ program: join(shm, 'y'), via: 'exe' }) })]);
  });

  it('with a procfs that is not its own (HOST_PROC), every gather looks at every process in full', async () => {
    const watch = new ProcessWatch(def.config.parse({}), testContext(join(shm, 's3'), { procRoot: '/proc/.' }));
    const { acc, events } = recorder();
    await watch.gather(acc);
    const p = run(join(shm, 'y'), ['308']);
    await until(() => readlinkOr(`/proc/${p.pid}/exe`) === join(shm, 'y'), 5000);
    await watch.gather(acc);
    expect(watch.fullPasses).toBe(2);
    expect(about(events, p.pid)).toHaveLength(1);
  });
});
