// Every canh-collector command given bad input: a message with its CANH_ERR_ code, exit 2,
// never a stack trace (issue 26: "no stack trace ever for user error"). One table, one loop,
// through the CLI's own main() (a process each would take minutes on a loaded machine);
// a few rows also as real processes, for the exit status and what reaches the terminal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERROR_CODES } from '@canh/core';
import { main } from '../collector/src/cli.ts';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'collector', 'src', 'cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'canh-cli-errors-'));
const cfg = join(dir, 'collector.yaml');
const saved = process.env.CANH_COLLECTOR_CONFIG;
process.env.CANH_COLLECTOR_CONFIG = cfg;
afterAll(() => {
  if (saved === undefined) delete process.env.CANH_COLLECTOR_CONFIG;
  else process.env.CANH_COLLECTOR_CONFIG = saved;
  rmSync(dir, { recursive: true, force: true });
});

function spawnRun(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, CANH_COLLECTOR_CONFIG: cfg } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** main() with standard output and error captured; a bug (not a CanhError) rejects, as it would crash. */
async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const [w1, w2] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

beforeAll(async () => {
  // InfluxDB on a port nothing listens on: every row must fail before it is asked.
  writeFileSync(cfg, `state_dir: ${join(dir, 'state')}\ninflux: { url: "http://127.0.0.1:9" }\nalerting: { timezone: Asia/Ho_Chi_Minh }\n`);
  writeFileSync(join(dir, 'bad.yaml'), 'influx: { url: 42 }\n');
  writeFileSync(join(dir, 'broken.yaml'), 'inputs: [\n  - type: kernel\n');
  writeFileSync(join(dir, 'wrong.yaml'), 'inputs:\n  - type: no_such_input\n');
  writeFileSync(join(dir, 'good.yaml'), 'inputs:\n  - type: mem\n');
  expect((await run(['agent', 'add', '--name', 'live-01', '--agency', 'so-tttt', '--site', 'dc'])).code).toBe(0);
  expect((await run(['agent', 'add', '--name', 'old-01', '--agency', 'so-tttt', '--site', 'dc'])).code).toBe(0);
  expect((await run(['agent', 'revoke', 'old-01'])).code).toBe(0);
});

const C = (name: string) => join(dir, name);
const cases: [string[], string][] = [
  [['frobnicate'], 'CANH_ERR_CLI_USAGE'],
  [['--bogus'], 'CANH_ERR_CLI_USAGE'],
  [['serve', 'now'], 'CANH_ERR_CLI_USAGE'],
  [['--validate', '--config', C('missing.yaml')], 'CANH_ERR_CONFIG_UNREADABLE'],
  [['--validate', '--config', C('bad.yaml')], 'CANH_ERR_CONFIG_INVALID'],
  [['agent', 'add', '--name', 'x'], 'CANH_ERR_CLI_USAGE'],
  [['agent', 'add', '--name', 'bad name!', '--agency', 'a', '--site', 's'], 'CANH_ERR_REGISTRY_BAD_NAME'],
  [['agent', 'add', '--name', 'live-01', '--agency', 'so-tttt', '--site', 'dc'], 'CANH_ERR_REGISTRY_EXISTS'],
  [['agent', 'frob'], 'CANH_ERR_CLI_USAGE'],
  [['agent', 'list', '--agnecy', 'x'], 'CANH_ERR_CLI_USAGE'],
  [['agent', 'revoke'], 'CANH_ERR_CLI_USAGE'],
  [['agent', 'revoke', 'nobody'], 'CANH_ERR_REGISTRY_NOT_FOUND'],
  [['agent', 'remove', 'nobody'], 'CANH_ERR_REGISTRY_NOT_FOUND'],
  [['agent', 'remove', 'live-01'], 'CANH_ERR_REGISTRY_NOT_REVOKED'],
  [['silence', 'add', 'hots=vm', '--duration', '2h', '--comment', 'x', '--author', 'a'], 'CANH_ERR_SILENCE_INVALID'],
  [['silence', 'add', 'host=vm', '--until', '12/13/2027 06:00', '--comment', 'x', '--author', 'a'], 'CANH_ERR_SILENCE_INVALID'],
  [['silence', 'add', 'host=vm', '--duration', 'soon', '--comment', 'x', '--author', 'a'], 'CANH_ERR_SILENCE_INVALID'],
  [['silence', 'add', '--durration', '2h'], 'CANH_ERR_CLI_USAGE'],
  [['silence', 'expire'], 'CANH_ERR_CLI_USAGE'],
  [['silence', 'expire', 'no-such-silence'], 'CANH_ERR_SILENCE_NOT_FOUND'],
  [['silence', 'frob'], 'CANH_ERR_CLI_USAGE'],
  [['maintenance', 'add', '--agency', 'so-tttt', '--start', '22:00', '--end', '02:00', '--comment', 'c', '--author', 'a'], 'CANH_ERR_MAINTENANCE_INVALID'],
  [
    ['maintenance', 'add', '--name', 'n', '--agency', 'so-tttt', '--from', '12/13/2027 06:00', '--until', '2027-12-14', '--comment', 'c', '--author', 'a'],
    'CANH_ERR_MAINTENANCE_INVALID',
  ],
  [['maintenance', 'add', '--name', 'n', 'hots=db', '--start', '22:00', '--end', '02:00', '--comment', 'c', '--author', 'a'], 'CANH_ERR_MAINTENANCE_INVALID'],
  [
    ['maintenance', 'add', '--name', 'n', '--agency', 'a', '--start', '22:00', '--end', '2am', '--comment', 'c', '--author', 'a'],
    'CANH_ERR_MAINTENANCE_INVALID',
  ],
  [
    ['maintenance', 'add', '--name', 'n', '--agency', 'a', '--from', '2020-01-01', '--until', '2020-01-02', '--comment', 'c', '--author', 'a'],
    'CANH_ERR_MAINTENANCE_INVALID',
  ],
  [
    ['maintenance', 'add', '--name', 'n', '--agency', 'a', '--start', '22:00', '--end', '02:00', '--tz', 'Mars/Base', '--comment', 'c', '--author', 'a'],
    'CANH_ERR_MAINTENANCE_INVALID',
  ],
  [['maintenance', 'remove', 'no-such-window'], 'CANH_ERR_MAINTENANCE_NOT_FOUND'],
  [['maintenance', 'remove'], 'CANH_ERR_CLI_USAGE'],
  [['maintenance', 'frob'], 'CANH_ERR_CLI_USAGE'],
  [['alert', 'ack', 'web-01'], 'CANH_ERR_CLI_USAGE'],
  [['alert', 'ack'], 'CANH_ERR_CLI_USAGE'],
  [['alert', 'ack', '42', '--author', 'an'], 'CANH_ERR_ALERT_NOT_FOUND'],
  [['alert', 'ack', '42', '--author', ' '], 'CANH_ERR_ACK_INVALID'],
  [['alert', 'ack', '42', '--author', 'an', '--comment', 'x'.repeat(501)], 'CANH_ERR_ACK_INVALID'],
  [['alert', 'frob'], 'CANH_ERR_CLI_USAGE'],
  [['alert', 'list', '--lang', 'fr'], 'CANH_ERR_CLI_USAGE'],
  [['agent', 'list', '--lang', 'vn'], 'CANH_ERR_CLI_USAGE'],
  [['silence', 'list', '--lang', 'english'], 'CANH_ERR_CLI_USAGE'],
  [['alerts', 'reload'], 'CANH_ERR_API_DISABLED'],
  [['alerts', 'frob'], 'CANH_ERR_CLI_USAGE'],
  [['alerts', 'reload', '--config', C('bad.yaml')], 'CANH_ERR_CONFIG_INVALID'],
  [['config', 'push', '--global'], 'CANH_ERR_CLI_USAGE'],
  [['config', 'push', '--file', C('good.yaml')], 'CANH_ERR_CLI_USAGE'],
  [['config', 'push', '--file', C('good.yaml'), '--global', '--agency', 'so-tttt'], 'CANH_ERR_CLI_USAGE'],
  [['config', 'push', '--file', C('missing.yaml'), '--global'], 'CANH_ERR_CONFIG_UNREADABLE'],
  [['config', 'push', '--file', C('broken.yaml'), '--global'], 'CANH_ERR_CONFIG_INVALID'],
  [['config', 'push', '--file', C('wrong.yaml'), '--global'], 'CANH_ERR_CONFIG_INVALID'],
  [['config', 'push', '--file', C('good.yaml'), '--agency', 'so-ttt'], 'CANH_ERR_CONFIG_UNKNOWN_TARGET'],
  [['config', 'push', '--file', C('good.yaml'), '--agent', 'nobody'], 'CANH_ERR_REGISTRY_NOT_FOUND'],
  [['config', 'show', '--agent', 'nobody'], 'CANH_ERR_REGISTRY_NOT_FOUND'],
  [['config', 'rollback', 'latest'], 'CANH_ERR_CLI_USAGE'],
  [['config', 'rollback', '999'], 'CANH_ERR_CENTRAL_NOT_FOUND'],
  [['config', 'rollback', '--agency', 'so-tttt'], 'CANH_ERR_CENTRAL_NOT_FOUND'],
  [['config', 'rollback'], 'CANH_ERR_CLI_USAGE'],
  [['config', 'delete'], 'CANH_ERR_CLI_USAGE'],
  [['config', 'delete', '--global'], 'CANH_ERR_CENTRAL_NOT_FOUND'],
  [['config', 'history', 'now'], 'CANH_ERR_CLI_USAGE'],
  [['config', 'frob'], 'CANH_ERR_CLI_USAGE'],
  [['backup'], 'CANH_ERR_CLI_USAGE'],
  [['backup', '--to', C('b'), '--force'], 'CANH_ERR_CLI_USAGE'],
  [['backup', '--to', C('b'), '--influx-host', 'not a host'], 'CANH_ERR_CLI_USAGE'],
  [['backup', '--to', C('bad.yaml'), '--no-influx'], 'CANH_ERR_BACKUP_TARGET'],
  [['backup', '--to', C('b2'), '--influx-host', '127.0.0.1:1'], 'CANH_ERR_BACKUP_INFLUXD'],
  [['restore'], 'CANH_ERR_CLI_USAGE'],
  [['restore', '--from', dir, '--no-influx'], 'CANH_ERR_RESTORE_SOURCE'],
  [['report', '--month', '2026-13'], 'CANH_ERR_REPORT_BAD_MONTH'],
  [['report', '--month', '11/2026'], 'CANH_ERR_REPORT_BAD_MONTH'],
  [['report', '--tz', 'Mars/Olympus'], 'CANH_ERR_REPORT_BAD_TIMEZONE'],
  [['report', '--lang', 'fr'], 'CANH_ERR_REPORT_BAD_OPTION'],
  [['report', '--format', 'odt'], 'CANH_ERR_REPORT_BAD_OPTION'],
  [['report', 'november'], 'CANH_ERR_CLI_USAGE'],
];

describe('canh-collector: bad input gives a coded message, exit 2, no stack trace', () => {
  it.each(cases)('%j → %s', async (args, code) => {
    expect(ERROR_CODES).toContain(code);
    const r = await run(args);
    expect(r.err).toContain(`(${code})`);
    expect(r.code).toBe(2);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.err).not.toMatch(/node:internal|\.ts:\d+/);
    expect(r.err.startsWith('canh-collector: ')).toBe(true);
  });
});

describe('canh-collector as a process: exit status 2 and no stack trace on the terminal', () => {
  it.each([
    [['frobnicate'], 'CANH_ERR_CLI_USAGE'],
    [['report', '--tz', 'Mars/Olympus'], 'CANH_ERR_REPORT_BAD_TIMEZONE'],
    [['config', 'push', '--file', C('broken.yaml'), '--global'], 'CANH_ERR_CONFIG_INVALID'],
  ] as [string[], string][])('%j → %s', (args, code) => {
    const r = spawnRun(args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`(${code})`);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('canh-collector: what the bad-input rows protect still works', () => {
  it('agent remove takes a revoked agent out of the registry', async () => {
    expect((await run(['agent', 'remove', 'old-01', '--lang', 'en'])).out).toContain('agent old-01 removed');
    expect((await run(['agent', 'list'])).out).not.toContain('old-01');
    // Again: nothing more to remove until the collector's clean-up has forgotten the name.
    const again = await run(['agent', 'remove', 'old-01', '--lang', 'en']);
    expect(again.code).toBe(0);
    expect(again.out).toContain('agent old-01 was already removed');
  });
  it('config rollback and delete: new versions, shown in the history', async () => {
    const push = async (interval: string) => {
      writeFileSync(C('c.yaml'), `agent: { interval: ${interval} }\n`);
      return run(['config', 'push', '--file', C('c.yaml'), '--agency', 'so-tttt', '--author', 'an']);
    };
    expect((await push('10s')).out).toMatch(/^Đã lưu cấu hình phiên bản 1 cho cơ quan so-tttt;/);
    expect((await push('1s')).out).toMatch(/^Đã lưu cấu hình phiên bản 2 /);
    expect((await run(['config', 'rollback', '--agency', 'so-tttt'])).out).toMatch(
      /^Đã lưu cấu hình phiên bản 3 cho cơ quan so-tttt \(rollback to version 1\)/,
    );
    expect((await run(['config', 'show', '--agent', 'live-01'])).out).toMatch(/live-01\tso-tttt\tdc\t3\tcơ quan so-tttt/);
    expect((await run(['config', 'rollback', '2'])).out).toMatch(/^Đã lưu cấu hình phiên bản 4 cho cơ quan so-tttt \(rollback to version 2\)/);
    expect((await run(['config', 'delete', '--agency', 'so-tttt'])).out).toMatch(/^Đã xoá cấu hình tập trung của cơ quan so-tttt \(phiên bản 5\)/);
    const history = (await run(['config', 'history'])).out;
    expect(history).toMatch(/\n5 \(đã xoá\)\tcơ quan\tso-tttt\t/);
    // Nothing applies any more: the agent is sent an empty config (its local file runs).
    expect((await run(['config', 'show', '--agent', 'live-01', '--json'])).out).toContain('"assigned":5');
    const again = await run(['config', 'delete', '--agency', 'so-tttt']);
    expect(again.code).toBe(2);
    expect(again.err).toContain('(CANH_ERR_CENTRAL_NOT_FOUND)');
  });
});
