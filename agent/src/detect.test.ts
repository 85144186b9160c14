// `canh-agent detect` as users run it: the real CLI in a child process, no config file, a
// fixture from a file and from standard input.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const fixtures = join(repo, 'agent', 'src', 'detectors', 'auth_log', 'testdata', 'third-party');
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, [join(repo, 'agent/src/cli.ts'), ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, CANH_AGENT_CONFIG: '/nonexistent.yaml' },
  });
const jsonLines = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('canh-agent detect', () => {
  it('auth_log --file: recognised lines with numbers, then events, then a summary', () => {
    const r = cli(['detect', 'auth_log', '--file', join(fixtures, 'beats-test.log')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = jsonLines(r.stdout);
    // The zone the log's zone-less times are read in and where it came from, and the mode.
    expect(out[0]).toEqual({ detector: 'auth_log', timezone: expect.any(String), timezone_from: expect.any(String), mode: 'normal' });
    expect(out.find((o) => o.line === 4)).toMatchObject({
      line: 4,
      kind: 'auth_failure',
      user: 'root',
      src: '116.31.116.24',
      port: 29160,
      method: 'password',
      service: 'ssh',
      counts: true,
    });
    expect(
      out
        .filter((o) => o.event)
        .map((o) => (o.event as { type: string }).type)
        .sort(),
    ).toEqual(['account_created', 'group_created', 'sudo_not_allowed']);
    expect(out.at(-1)).toEqual({ summary: { lines: 10, recognised: 10, unrecognised: 0, events: 3 } });
  });

  it('auth_log from standard input with --set', () => {
    const text = readFileSync(join(fixtures, 'beats-secure-rhel7.log'), 'utf8').split('\n').slice(0, 5).join('\n');
    const out = jsonLines(cli(['detect', 'auth_log', '--set', 'threshold=2'], text).stdout);
    const ev = out.filter((o) => o.event).map((o) => o.event as { type: string; count: number; evidence: { src_ip: string } });
    expect(ev[0]).toMatchObject({ type: 'brute_force', count: 2, evidence: { src_ip: '202.109.143.106' } });
  });

  it('auth_log streams: verdicts come out while standard input is still open', async () => {
    const child = spawn(process.execPath, [join(repo, 'agent/src/cli.ts'), 'detect', 'auth_log', '--set', 'mode=aggressive', '--set', 'timezone=UTC'], {
      env: { ...process.env, CANH_AGENT_CONFIG: '/nonexistent.yaml' },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const line = (i: number) => `Dec  1 10:00:00 h sshd[${i}]: Connection closed by 192.0.2.${i % 250} port ${1000 + i} [preauth]\n`;
    child.stdin.write(Array.from({ length: 2500 }, (_, i) => line(i + 1)).join(''));
    // The input is not closed: a detect that read all of it first would print nothing yet.
    const deadline = Date.now() + 60_000;
    while (!out.includes('"line":2000') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('"line":2000');
    const first = out
      .split('\n')
      .slice(0, 2)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first[0]).toEqual({ detector: 'auth_log', timezone: 'UTC', timezone_from: 'config', mode: 'aggressive' });
    // In aggressive mode a pre-auth disconnect counts (normal mode would say counts: false).
    expect(first[1]).toMatchObject({ line: 1, kind: 'disconnect', src: '192.0.2.1', counts: true, level: 'ddos' });
    child.stdin.end();
    await new Promise((r) => child.on('close', r));
    expect(out.trim().split('\n').at(-1)).toContain('"summary":{"lines":2500');
  });

  it('a reader that goes away (detect | head -1): exit 0, no stack trace', async () => {
    const child = spawn(process.execPath, [join(repo, 'agent/src/cli.ts'), 'detect', 'auth_log', '--set', 'timezone=UTC'], {
      env: { ...process.env, CANH_AGENT_CONFIG: '/nonexistent.yaml' },
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // detect may end before it has read all we write: our own write then meets EPIPE.
    child.stdin.on('error', () => {});
    const line = (i: number) => `Dec  1 10:00:00 h sshd[${i}]: Failed password for root from 192.0.2.${i % 250} port ${1000 + i} ssh2\n`;
    // More verdicts than a pipe holds (64 KiB), so detect writes after the reader is gone.
    const first = new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.stdin.write(Array.from({ length: 2000 }, (_, i) => line(i + 1)).join(''));
    await first;
    child.stdout.destroy();
    child.stdin.end(Array.from({ length: 20_000 }, (_, i) => line(i + 2001)).join(''));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(err).not.toContain('EPIPE');
    expect(code).toBe(0);
  });

  it('windows_eventlog from a wevtutil XML file', () => {
    const r = cli(['detect', 'windows_eventlog', '-f', join(repo, 'agent/src/detectors/windows_eventlog/testdata/account-changes.xml')]);
    const out = jsonLines(r.stdout);
    expect(out.filter((o) => o.event_id).length).toBe(16);
    expect(out.at(-1)).toEqual({ summary: { events_read: 16, recognised: 16, events: 16 } });
  });

  it('errors carry a code and a way out', () => {
    const a = cli(['detect', 'nope']);
    expect([a.status, a.stderr]).toEqual([1, expect.stringContaining('CANH_ERR_DETECT_UNKNOWN')]);
    const b = cli(['detect', 'auth_log', '--file', '/nonexistent/auth.log']);
    expect(b.stderr).toContain('CANH_ERR_DETECT_UNREADABLE');
    // A directory opens but cannot be read: the same coded error, not a stack trace.
    const d = cli(['detect', 'auth_log', '--file', fixtures]);
    expect([d.status, d.stderr]).toEqual([1, expect.stringContaining('(EISDIR)')]);
    expect(d.stderr).toContain('CANH_ERR_DETECT_UNREADABLE');
    const c = cli(['detect', 'auth_log', '--set', 'threshold=zero'], '');
    expect(c.stderr).toContain('CANH_ERR_DETECT_BAD_SETTING');
  });
});

describe('detect line batches', () => {
  it('split any chunking of the input, even inside a UTF-8 character, into the lines of the whole', async () => {
    const { lineBatches } = await import('./detect.ts');
    const text =
      Array.from({ length: 400 }, (_, i) => `l${i} người dùng ${'x'.repeat(i % 37)}${i % 5 === 0 ? '\r' : ''} é€😀`).join('\n') + '\nlast without newline';
    const bytes = Buffer.from(text);
    const expected = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length;) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const n = 1 + (seed % (round < 10 ? 7 : 3000));
        chunks.push(bytes.subarray(at, at + n));
        at += n;
      }
      const got: string[] = [];
      for await (const batch of lineBatches(
        (async function* () {
          yield* chunks;
        })(),
      ))
        got.push(...batch);
      expect(got).toEqual(expected);
    }
  });
});

describe('detect --set values', () => {
  it('words and decimal integers read without the yaml package get what YAML gives them; the rest is left to YAML', async () => {
    const { plainScalar, parseSettings } = await import('./detect.ts');
    const { parse } = await import('yaml');
    const plain = [
      'UTC',
      'Europe/Berlin',
      'Etc/GMT-3',
      'America/Port-au-Prince',
      '600s',
      '10m',
      'aggressive',
      'y',
      'No',
      'Infinity',
      'a.b',
      'x_1',
      '5',
      '0',
      '86400',
      '123456789012345',
    ];
    for (const v of plain) expect(plainScalar(v), v).toStrictEqual(parse(v));
    const left = [
      'true',
      'False',
      'NULL',
      '',
      '~',
      '.inf',
      '.NaN',
      '-5',
      '+5',
      '012',
      '0x1F',
      '0o17',
      '1e3',
      '1.5',
      '1234567890123456',
      '[a, b]',
      '{a: 1}',
      '"5"',
      "'x'",
      'a: b',
      'a #c',
      ' UTC',
      'UTC ',
    ];
    for (const v of left) expect(plainScalar(v), v).toBeUndefined();
    expect(await parseSettings(['threshold=5', 'timezone=UTC', 'ports=[22, 2222]', 'strict=true'])).toStrictEqual({
      threshold: 5,
      timezone: 'UTC',
      ports: [22, 2222],
      strict: true,
    });
  });
});
