// One agent per state_dir: real agent processes on one folder (the second exits with
// CANH_ERR_AGENT_STATE_LOCKED and the first keeps its lock), and a stale lock of a
// process that is gone is taken over.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, lockStateDir } from './state-lock.ts';

const cli = join(import.meta.dirname, 'cli.ts');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function agentConfig(dir: string): string {
  const file = join(dir, 'agent.yaml');
  writeFileSync(join(dir, 'token'), 'x'.repeat(32));
  // No collector listens on port 9: the agent keeps measuring and retrying, which is all this needs.
  writeFileSync(
    file,
    `collector:\n  url: ws://127.0.0.1:9/v1/agent\n  token_file: ${join(dir, 'token')}\nagent:\n  state_dir: ${join(dir, 'state')}\n  interval: 1s\ninputs:\n  - type: mem\n`,
  );
  return file;
}

function runToEnd(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe('state_dir lock', () => {
  it('a second agent on the same state_dir exits with a coded error; the first keeps running', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-lock-'));
    const config = agentConfig(dir);
    const first = spawn(process.execPath, [cli, 'run', '--config', config], { stdio: 'ignore' });
    children.push(first);
    const lock = join(dir, 'state', LOCK_FILE);
    for (let i = 0; i < 600 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
    expect((JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid).toBe(first.pid);
    const second = await runToEnd([cli, 'run', '--config', config]);
    expect(second.code).toBe(1);
    expect(second.out).toContain('CANH_ERR_AGENT_STATE_LOCKED');
    expect(second.out).toContain(`pid ${first.pid}`);
    expect(first.exitCode).toBe(null);
    // Stopped in order, the first gives the lock back.
    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGTERM');
    await exited;
    expect(existsSync(lock)).toBe(false);
  }, 120_000);

  it('takes over the lock of a process that is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-lock-'));
    const gone = await runToEnd(['-e', 'console.log(process.pid)']);
    const deadPid = Number(gone.out.trim());
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid, start: '1' }));
    const lock = lockStateDir(dir);
    expect((JSON.parse(readFileSync(lock.file, 'utf8')) as { pid: number }).pid).toBe(process.pid);
    lock.release();
    lock.release();
    expect(existsSync(lock.file)).toBe(false);
  });

  it('takes over a lock whose pid now belongs to another process, refuses one of a live process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-lock-'));
    // pid 1 exists, but started at another time than this record says: the pid was reused.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, start: 'not-a-start-time' }));
    const lock = lockStateDir(dir);
    lock.release();
    // pid 1 with no start time recorded: alive, so the folder is taken.
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: 1 }));
    expect(() => lockStateDir(dir)).toThrow(/CANH_ERR_AGENT_STATE_LOCKED|another canh-agent \(pid 1\)/);
  });
});
