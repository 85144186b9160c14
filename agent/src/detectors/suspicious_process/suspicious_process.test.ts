import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import def from './index.ts';
import { formatCmdline, judgeExe, parseStartTime, parseStatus } from './parse.ts';
import { readmeExample, recorder, testContext, sleep } from '../testing.ts';

const data = (f: string) => readFileSync(join(import.meta.dirname, 'testdata', f), 'utf8');
const DIRS = ['/tmp', '/var/tmp', '/dev/shm'];

describe('suspicious_process pure logic', () => {
  it('judges executable paths', () => {
    expect(judgeExe('/usr/bin/sleep', DIRS)).toBeUndefined();
    expect(judgeExe('/tmp/x/kinsing', DIRS)).toMatchObject({ reason: 'temp_dir', severity: 'high', mitre: 'T1059' });
    expect(judgeExe('/tmpfoo/bin', DIRS)).toBeUndefined();
    expect(judgeExe('/dev/shm/.x (deleted)', DIRS)).toMatchObject({ reason: 'temp_dir', severity: 'high' });
    expect(judgeExe('/home/u/.cache/x (deleted)', DIRS)).toMatchObject({ reason: 'deleted', severity: 'high', mitre: 'T1036' });
    expect(judgeExe('/usr/sbin/sshd (deleted)', DIRS)).toMatchObject({ reason: 'deleted', severity: 'low' });
    expect(judgeExe('/memfd:payload (deleted)', DIRS)).toMatchObject({ reason: 'memfd', severity: 'high', mitre: 'T1620' });
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
    expect(readmeExample(import.meta.dirname, def)).toMatchObject({ dirs: ['/tmp', '/var/tmp', '/dev/shm'] });
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
        evidence: expect.objectContaining({ pid: fromTmp.pid, exe: join(dir, 'sleep'), cmdline: `${join(dir, 'sleep')} 300`, user: 'root', reason: 'temp_dir', ppid: process.pid }),
      }),
    ]);
    events.length = 0;
    await det.gather!(acc);
    await def.create(def.config.parse({}), testContext(state)).gather!(acc); // after a restart
    expect(events.filter((e) => e.evidence!.pid === fromTmp.pid)).toEqual([]);
  });

  it('reports a process whose executable was deleted', async () => {
    // With no temp folders configured, only the deleted-binary rule can match.
    const det = def.create(def.config.parse({ dirs: ['/nonexistent'] }), testContext(join(dir, 'state2')));
    const { acc, events } = recorder();
    await det.gather!(acc);
    expect(events.filter((e) => e.evidence!.pid === fromTmp.pid)).toEqual([]);
    expect(events.filter((e) => e.evidence!.pid === deleted.pid)).toEqual([
      expect.objectContaining({ severity: 'high', mitre: 'T1036', evidence: expect.objectContaining({ exe: `${join(dir, 'gone')} (deleted)`, reason: 'deleted' }) }),
    ]);
  });

  it('an allowlisted executable is not reported', async () => {
    const det = def.create(def.config.parse({ allow_exes: [join(dir, 'sleep'), join(dir, 'gone')] }), testContext(join(dir, 'state3')));
    const { acc, events } = recorder();
    await det.gather!(acc);
    expect(events.filter((e) => e.evidence!.pid === fromTmp.pid || e.evidence!.pid === deleted.pid)).toEqual([]);
  });
});
