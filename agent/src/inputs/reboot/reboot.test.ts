// The reboot input on real files: a procfs-shaped folder whose btime and boot_id the test
// changes between gathers (a reboot cannot be staged in a test), plus this host's /proc.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import input, { config } from './index.ts';
import { parseBootId, parseBtime } from './parse.ts';
import { checkRecorder, readmeExample, realContext } from '../check-testing.ts';

const capturedStat = readFileSync(join(import.meta.dirname, 'testdata', 'proc-stat'), 'utf8');

function fakeProc() {
  const root = mkdtempSync(join(tmpdir(), 'canh-proc-'));
  mkdirSync(join(root, 'sys/kernel/random'), { recursive: true });
  const set = (btime: number, bootId?: string) => {
    writeFileSync(join(root, 'stat'), capturedStat.replace(/^btime \d+$/m, `btime ${btime}`));
    writeFileSync(join(root, 'sys/kernel/random/boot_id'), bootId ? `${bootId}\n` : '');
  };
  return { root, set };
}

const ID1 = 'd8517cf0-0ad1-44b3-a6b9-08dea443d24a';
const ID2 = '0f2b6f3e-5a7c-4d19-9b8e-2c1d4e5f6a7b';

describe('reboot', () => {
  it('is quiet on the first run and while the boot stays the same', async () => {
    const proc = fakeProc();
    const ctx = realContext({ procRoot: proc.root });
    proc.set(1_700_000_000, ID1);
    for (let i = 0; i < 2; i++) {
      const acc = checkRecorder();
      await input.create(config.parse({}), ctx).gather!(acc);
      expect(acc.events).toEqual([]);
    }
  });

  it('raises host_reboot when boot_id changes, once, also across agent restarts', async () => {
    const proc = fakeProc();
    const ctx = realContext({ procRoot: proc.root });
    proc.set(1_700_000_000, ID1);
    await input.create(config.parse({}), ctx).gather!(checkRecorder());
    proc.set(1_700_086_400, ID2);
    const acc = checkRecorder();
    await input.create(config.parse({}), ctx).gather!(acc);
    expect(acc.events).toEqual([
      expect.objectContaining({ type: 'host_reboot', severity: 'medium', evidence: { previous_boot_time: 1_700_000_000, boot_time: 1_700_086_400 } }),
    ]);
    const again = checkRecorder();
    await input.create(config.parse({}), ctx).gather!(again);
    expect(again.events).toEqual([]);
  });

  it('takes a btime shift with the same boot_id for a clock step', async () => {
    const proc = fakeProc();
    const ctx = realContext({ procRoot: proc.root });
    proc.set(1_700_000_000, ID1);
    await input.create(config.parse({}), ctx).gather!(checkRecorder());
    proc.set(1_700_007_200, ID1);
    const acc = checkRecorder();
    await input.create(config.parse({}), ctx).gather!(acc);
    expect(acc.events).toEqual([]);
  });

  it('falls back to btime with a tolerance where boot_id is missing', async () => {
    const proc = fakeProc();
    const ctx = realContext({ procRoot: proc.root });
    const gather = async () => {
      const acc = checkRecorder();
      await input.create(config.parse({ btime_tolerance: '60s' }), ctx).gather!(acc);
      return acc.events;
    };
    proc.set(1_700_000_000);
    await gather();
    proc.set(1_700_000_030);
    expect(await gather()).toEqual([]);
    proc.set(1_700_003_600);
    expect(await gather()).toHaveLength(1);
  });

  it('fails clearly on a /proc/stat without btime', async () => {
    const proc = fakeProc();
    writeFileSync(join(proc.root, 'stat'), 'cpu 1 2 3\n\u0000garbage btime x\n');
    await expect(input.create(config.parse({}), realContext({ procRoot: proc.root })).gather!(checkRecorder())).rejects.toMatchObject({
      code: 'CANH_ERR_INPUT_BAD_DATA',
    });
  });

  it("reads this host's /proc without an event", async () => {
    const ctx = realContext();
    for (let i = 0; i < 2; i++) {
      const acc = checkRecorder();
      await input.create(config.parse({}), ctx).gather!(acc);
      expect(acc.events).toEqual([]);
    }
    expect(JSON.parse(readFileSync(join(ctx.stateDir, 'reboot', 'last_boot.json'), 'utf8'))).toMatchObject({
      boot_time: parseBtime(readFileSync('/proc/stat', 'utf8')),
    });
  });

  it('parses btime and boot_id, refusing nonsense', () => {
    expect(parseBtime(capturedStat)).toBe(1795809728);
    expect(parseBtime('btime -5\n')).toBeUndefined();
    expect(parseBtime('btime 99999999999999999999\n')).toBeUndefined();
    expect(parseBootId(`${ID1}\n`)).toBe(ID1);
    expect(parseBootId('../../etc')).toBeUndefined();
  });

  it('parses the README example', () => {
    expect(readmeExample(import.meta.dirname, input)).toEqual({ btime_tolerance: 60_000 });
  });
});
