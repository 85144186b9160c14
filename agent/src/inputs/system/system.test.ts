import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import system from './index.ts';
import { UTMP_RECORD_SIZE, formatUptime, parseLoadavg, parseUptime, parseUtmpUsers } from './parse.ts';
import { fakeContext, hostContext, recorder, testdata, type FakeOptions } from '../testing.ts';
import type { InputContext } from '../types.ts';

/** One glibc x86_64 utmp record: ut_type at 0, ut_pid at 4, ut_line at 8, ut_user at 44, ut_host at 76. */
function utmpRecord(type: number, user: string, line = 'pts/0', host = '10.0.0.7'): Uint8Array {
  const b = new Uint8Array(UTMP_RECORD_SIZE);
  const v = new DataView(b.buffer);
  v.setInt16(0, type, true);
  v.setInt32(4, 4242, true);
  const enc = new TextEncoder();
  b.set(enc.encode(line), 8);
  b.set(enc.encode(user), 44);
  b.set(enc.encode(host), 76);
  // Binary noise where the timestamps and addresses live: bytes that are not UTF-8.
  b.set([0xff, 0xfe, 0x80, 0xc3], 340);
  return b;
}

function utmp(...records: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let off = 0;
  for (const r of records) {
    out.set(r, off);
    off += r.length;
  }
  return out;
}

const BOOT_TIME = 2,
  LOGIN = 6,
  USER_PROCESS = 7,
  DEAD_PROCESS = 8;

async function gatherWith(ctx: InputContext) {
  const acc = recorder();
  await system.create(system.config.parse({}), ctx).gather!(acc);
  return acc.points;
}
const gather = (opts: FakeOptions) => gatherWith(fakeContext(opts));

describe('system', () => {
  it('reports load, CPUs, users and uptime from captured files and a utmp with sessions', async () => {
    const files = {
      '/var/run/utmp': utmp(
        utmpRecord(BOOT_TIME, 'reboot', '~'),
        utmpRecord(USER_PROCESS, 'alice'),
        utmpRecord(LOGIN, 'LOGIN', 'tty1'),
        utmpRecord(USER_PROCESS, 'bob', 'pts/1'),
        utmpRecord(USER_PROCESS, 'alice', 'pts/2'),
        utmpRecord(DEAD_PROCESS, 'carol', 'pts/3'),
        utmpRecord(USER_PROCESS, 'nguyễn', 'pts/4'),
      ),
    };
    const [p] = await gather({ root: testdata('system', 'host'), files });
    // Captured: loadavg "0.11 0.09 0.02 2/130 7835", uptime "1720.24 3347.75", two CPUs.
    expect(p).toEqual({
      name: 'system',
      tags: {},
      fields: { load1: 0.11, load5: 0.09, load15: 0.02, n_cpus: 2, n_users: 4, n_unique_users: 3, uptime: 1720, uptime_format: ' 0:28' },
      int: ['n_cpus', 'n_users', 'n_unique_users', 'uptime'],
      time: undefined,
    });
  });

  it('leaves n_users out when there is no utmp (containers), or the context cannot read bytes', async () => {
    const [p] = await gather({ root: testdata('system', 'host') });
    expect(p!.fields).not.toHaveProperty('n_users');
    expect(p!.fields).toHaveProperty('load1');
    const ctx = fakeContext({ root: testdata('system', 'host'), files: { '/var/run/utmp': utmp(utmpRecord(USER_PROCESS, 'x')) } });
    delete ctx.readFileBytes;
    expect((await gatherWith(ctx))[0]!.fields).not.toHaveProperty('n_unique_users');
    // A context that says utmp is absent is believed: no read is tried.
    const told = fakeContext({ root: testdata('system', 'host'), files: { '/var/run/utmp': utmp(utmpRecord(USER_PROCESS, 'x')) } });
    told.exists = (path) => path !== '/var/run/utmp';
    expect((await gatherWith(told))[0]!.fields).not.toHaveProperty('n_users');
    told.exists = () => true;
    expect((await gatherWith(told))[0]!.fields).toMatchObject({ n_users: 1 });
  });

  it('ignores a trailing partial utmp record and reads a full 32-byte user name', () => {
    const long = 'u'.repeat(32);
    const buf = utmp(utmpRecord(USER_PROCESS, long), utmpRecord(USER_PROCESS, 'cut').subarray(0, 100));
    expect(parseUtmpUsers(buf)).toEqual([long]);
    expect(parseUtmpUsers(new Uint8Array(0))).toEqual([]);
  });

  it('formats uptime as Telegraf does', () => {
    expect(formatUptime(0)).toBe(' 0:00');
    expect(formatUptime(59 * 60 + 59)).toBe(' 0:59');
    expect(formatUptime(86_400 + 2 * 3600 + 5 * 60)).toBe('1 day,  2:05');
    expect(formatUptime(5 * 86_400 + 16 * 3600 + 51 * 60 + 7)).toBe('5 days, 16:51');
  });

  it('rejects garbage load and uptime with a coded error, not a TypeError', async () => {
    expect(parseLoadavg('0.1 0.2')).toBeUndefined();
    expect(parseLoadavg('a b c')).toBeUndefined();
    expect(parseUptime('')).toBeUndefined();
    const files = { '/proc/loadavg': 'garbage\n', '/proc/uptime': '1 2\n', '/proc/stat': 'cpu0 1 2 3 4\n' };
    await expect(gather({ files })).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_BAD_DATA' });
    await expect(gather({ files: { ...files, '/proc/loadavg': '1 2 3 1/1 1', '/proc/uptime': 'x' } })).rejects.toMatchObject({
      code: 'CANH_ERR_INPUT_BAD_DATA',
    });
    await expect(gather({})).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_UNREADABLE' });
  });

  it('reads this machine: CPU count, load and uptime agree with the OS', async () => {
    const uptimeNow = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    // Read before and after the gather: it lies between, however long the gather took.
    const before = Math.floor(uptimeNow());
    const [p] = await gatherWith(hostContext());
    const after = Math.ceil(uptimeNow());
    const f = p!.fields;
    expect(f.n_cpus).toBe(cpus().length);
    expect(f.load1).toBeGreaterThanOrEqual(0);
    expect(f.uptime).toBeGreaterThanOrEqual(before);
    expect(f.uptime).toBeLessThanOrEqual(after);
    expect(f.uptime_format).toMatch(/^(\d+ days?, )?[ \d]\d:\d\d$/);
  });
});
