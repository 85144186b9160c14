import { describe, expect, it } from 'vitest';
import processes from './index.ts';
import { parseProcStat } from './parse.ts';
import { fakeContext, hostContext, recorder, testdata, type FakeOptions } from '../testing.ts';
import type { InputContext } from '../types.ts';

const FIELDS = ['blocked', 'zombies', 'stopped', 'running', 'sleeping', 'total', 'unknown', 'dead', 'paging', 'total_threads', 'idle'];

async function gatherWith(ctx: InputContext) {
  const acc = recorder();
  await processes.create(processes.config.parse({}), ctx).gather!(acc);
  return acc.points;
}
const gather = (opts: FakeOptions) => gatherWith(fakeContext(opts));

const stat = (pid: number, comm: string, state: string, threads: number) =>
  `${pid} (${comm}) ${state} 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 ${threads} 0 100 1000 50 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;

describe('processes', () => {
  it('counts the captured processes by state, and their threads', async () => {
    const [p] = await gather({ root: testdata('processes', 'host') });
    // Captured: 10 idle kernel threads (I), 15 sleeping processes, one with 13 threads.
    expect(p).toMatchObject({ name: 'processes', tags: {} });
    expect(p!.fields).toEqual({
      blocked: 0,
      zombies: 0,
      stopped: 0,
      running: 0,
      sleeping: 15,
      total: 25,
      unknown: 0,
      dead: 0,
      paging: 0,
      total_threads: 37,
      idle: 10,
    });
    expect([...p!.int].sort()).toEqual([...FIELDS].sort());
  });

  it('maps every state letter, and reads command names with spaces and parentheses', async () => {
    const files: Record<string, string> = {};
    ['R', 'S', 'D', 'Z', 'T', 't', 'X', 'W', 'I', 'P', 'Q'].forEach((s, i) => (files[`/proc/${i + 1}/stat`] = stat(i + 1, 'we ir) d (x', s, 2)));
    const [p] = await gather({ files });
    expect(p!.fields).toEqual({
      running: 1,
      sleeping: 1,
      blocked: 1,
      zombies: 1,
      stopped: 2,
      dead: 1,
      paging: 1,
      idle: 1,
      parked: 1,
      unknown: 1,
      total: 11,
      total_threads: 22,
    });
  });

  it('treats a process that vanished mid-read as normal churn, and skips unreadable garbage', async () => {
    const ctx = fakeContext({
      files: {
        '/proc/1/stat': stat(1, 'init', 'S', 1),
        '/proc/2/stat': 'garbage without parens',
        '/proc/3/stat': '3 (x)',
        '/proc/self/stat': stat(9, 'me', 'R', 1),
      },
    });
    const readdir = ctx.readdir;
    ctx.readdir = async (p) => [...(await readdir(p)), '4242', 'net', 'self'];
    const [p] = await gatherWith(ctx);
    expect(p!.fields).toMatchObject({ sleeping: 1, total: 1, total_threads: 1 });
    expect(parseProcStat('5 (a) S 1 2')).toEqual({ state: 'S', threads: undefined });
  });

  it('says clearly when /proc cannot be listed', async () => {
    await expect(gather({})).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_UNREADABLE' });
  });

  it('reads this machine: at least this process runs, and states add up to the total', async () => {
    const [p] = await gatherWith(hostContext());
    const f = p!.fields as Record<string, number>;
    expect(f.total).toBeGreaterThan(1);
    expect(f.running).toBeGreaterThanOrEqual(1);
    expect(f.total_threads).toBeGreaterThanOrEqual(f.total!);
    const states = Object.entries(f)
      .filter(([k]) => k !== 'total' && k !== 'total_threads')
      .reduce((s, [, v]) => s + v, 0);
    expect(states).toBe(f.total);
  });
});
