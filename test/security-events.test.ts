// End to end: failed ssh logins appended to a real auth log file are followed by a real
// in-process agent (auth_log detector), sent over WebSocket to the collector, and land in a
// real InfluxDB as ONE brute_force security_event tagged with the agent's registry identity.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';

let p: Pipeline;
let dir: string;
beforeAll(async () => {
  p = await startPipeline();
  dir = mkdtempSync(join(tmpdir(), 'canh-authlog-e2e-'));
});
afterAll(async () => {
  await p?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const failed = (ip: string, user: string, port: number) =>
  `${new Date().toISOString()} web1 sshd[${port}]: Failed password for ${user} from ${ip} port ${port} ssh2\n`;

describe('auth_log → collector → InfluxDB', () => {
  it('failed logins appended to the log become one brute_force event; old lines are not replayed', async () => {
    const log = join(dir, 'auth.log');
    // History from before the agent started: must not be reported (first run starts at the end).
    writeFileSync(log, Array.from({ length: 10 }, (_, i) => failed('192.0.2.200', 'root', 1000 + i)).join(''));
    await p.addAgent({
      name: 'web1',
      agency: 'so-tttt',
      site: 'dc1',
      detectors: [{ type: 'auth_log', path: log, poll_interval: '100ms', threshold: 5, window: '10m' }],
    });
    await p.waitFor('SELECT * FROM "agent"', (rows) => rows.length > 0);
    for (let i = 0; i < 7; i++) appendFileSync(log, failed('198.51.100.23', i % 2 ? 'admin' : 'root', 40000 + i));
    const rows = await p.waitFor(`SELECT * FROM security_event WHERE "type" = 'brute_force'`, (r) => r.length >= 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      host: 'web1',
      agency: 'so-tttt',
      site: 'dc1',
      detector: 'auth_log',
      severity: 'high',
      mitre: 'T1110.001',
      src_ip: '198.51.100.23',
      count: 5,
      user_count: 2,
    });
    expect(String(rows[0]!.message)).toContain('198.51.100.23');
    // The two failures after the threshold wait for the window's update; none for the old address.
    const all = await p.query(`SELECT * FROM security_event`);
    expect(all.filter((r) => r.src_ip === '192.0.2.200')).toEqual([]);
  });
});
