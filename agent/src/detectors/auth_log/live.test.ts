// The live detector on a real file: lines of a watched service that no pattern knows are
// counted (the agent's unparsed_lines) and at most 5 samples an hour are logged, the attacker's
// text bounded and in a field of its own.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import authLog from './index.ts';
import { recorder, testContext, until } from '../testing.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('auth_log following a file', () => {
  it('counts unrecognised lines of watched services, logs 5 samples, and still detects', async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-auth-live-'));
    const path = join(dir, 'auth.log');
    const unknown = Array.from(
      { length: 8 },
      (_, i) => `Dec  1 10:00:0${i} h sshd[${i}]: Failed telepathy for nobody (a future OpenSSH form) ${'z'.repeat(400)}`,
    );
    const other = 'Dec  1 10:00:09 h CRON[5]: (root) CMD (run-parts /etc/cron.hourly)';
    const fails = Array.from(
      { length: 5 },
      (_, i) => `Dec  1 10:00:1${i} h sshd[${20 + i}]: Failed password for root from 198.51.100.30 port ${5000 + i} ssh2`,
    );
    writeFileSync(path, '');
    const logged: Record<string, unknown>[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({ write: (c: Buffer, _e, cb) => (logged.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) }),
    );
    const ctx = testContext(dir, { log });
    const input = authLog.create(authLog.config.parse({ path, from_beginning: true, poll_interval: '100ms', timezone: 'UTC' }), ctx);
    const { acc, events } = recorder('auth_log');
    await input.start!(acc);
    try {
      appendFileSync(path, [...unknown, other, ...fails].join('\n') + '\n');
      expect(await until(() => events.some((e) => e.type === 'brute_force'))).toBe(true);
      expect(input.selfCounters!()).toEqual({ unparsed_lines: 8 });
      const samples = logged.filter((l) => typeof l.sample === 'string');
      expect(samples).toHaveLength(5);
      expect((samples[0]!.sample as string).length).toBeLessThanOrEqual(300);
      expect(String(samples[0]!.msg)).not.toContain('telepathy');
      expect(events.find((e) => e.type === 'brute_force')).toMatchObject({ evidence: { src_ip: '198.51.100.30', service: 'ssh' } });
      expect(logged.find((l) => l.timezone)).toMatchObject({ timezone: 'UTC', mode: 'normal' });
    } finally {
      await input.stop!();
    }
  });
});
