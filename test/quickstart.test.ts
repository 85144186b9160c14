// The README's first command, for real: deploy/quickstart.sh brings up InfluxDB, the
// collector and an agent for this host; the host's data lands in InfluxDB with its tags,
// the example alert is mailed into the state's mail folder and listed on the status page,
// and when one of its processes exits the script says which.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { simpleParser } from 'mailparser';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { spawnManaged, type ManagedProcess } from './helpers/process.ts';
import { freePort } from './helpers/ports.ts';

const root = join(import.meta.dirname, '..');
let proc: ManagedProcess | undefined;
const state = mkdtempSync(join(tmpdir(), 'canh-quickstart-'));

afterAll(async () => {
  await proc?.stop(10_000);
  rmSync(state, { recursive: true, force: true });
});

describe('quick start', () => {
  it('brings up InfluxDB, the collector and a local agent whose data can be queried', async () => {
    const [influxPort, rpcPort, collectorPort] = [await freePort(), await freePort(), await freePort()];
    proc = spawnManaged('bash', [join(root, 'deploy/quickstart.sh')], {
      name: 'quickstart',
      env: {
        CANH_STATE_DIR: state,
        CANH_INFLUX_PORT: String(influxPort),
        CANH_INFLUX_RPC_PORT: String(rpcPort),
        CANH_COLLECTOR_PORT: String(collectorPort),
        PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
      },
    });
    await proc.waitForLine(/Canh is running/, 60_000);
    expect(proc.tail().join('\n')).toContain(`http://127.0.0.1:${collectorPort}/status`);
    const q = async (sql: string) => {
      const r = await fetch(`http://127.0.0.1:${influxPort}/query?db=canh&epoch=ms&q=${encodeURIComponent(sql)}`);
      return (await r.json()) as { results: { series?: { tags?: Record<string, string>; values: unknown[][] }[] }[] };
    };
    const deadline = Date.now() + 60_000;
    let series: { tags?: Record<string, string>; values: unknown[][] }[] = [];
    while (Date.now() < deadline) {
      series = (await q('SELECT count(*) FROM mem GROUP BY host, agency')).results[0]?.series ?? [];
      if (series.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(series[0]?.tags).toEqual({ host: hostname(), agency: 'local' });
    const health = await fetch(`http://127.0.0.1:${collectorPort}/healthz`);
    expect(health.status).toBe(200);

    // Alerting out of the box: the example rule's mail lands in the mail folder.
    const mailDir = join(state, 'mail');
    const mailDeadline = Date.now() + 90_000;
    let mails: string[] = [];
    while (Date.now() < mailDeadline && !mails.length) {
      mails = readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
      if (!mails.length) await new Promise((r) => setTimeout(r, 500));
    }
    expect(mails.length).toBeGreaterThan(0);
    const eml = await simpleParser(readFileSync(join(mailDir, mails[0]!)));
    expect(eml.subject).toMatch(/^\[FIRING:1\] Cảnh báo: Ví dụ cảnh báo của bản chạy thử — /);
    expect(eml.text).toContain('Việc cần làm: Không cần làm gì: đây là ví dụ.');
    expect(eml.text).toContain(`Trang trạng thái: http://127.0.0.1:${collectorPort}/status?lang=vi`);
    // The status page lists it (its mail viewer).
    const password = readFileSync(join(state, 'status-password'), 'utf8');
    const login = await fetch(`http://127.0.0.1:${collectorPort}/login`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({ user: 'admin', password, next: '/status' }),
    });
    const sid = (login.headers.getSetCookie().find((c) => c.startsWith('canh_session=')) ?? '').split(';')[0]!;
    const page = await (await fetch(`http://127.0.0.1:${collectorPort}/status`, { headers: { cookie: sid } })).text();
    expect(page).toContain('Ví dụ cảnh báo của bản chạy thử');
    expect(page).toContain('data-mail=');

    // One process exits: the script names it.
    const agentPid = execFileSync('pgrep', ['-f', `agent/src/cli.ts run --config ${join(state, 'agent.yaml')}`], { encoding: 'utf8' })
      .trim()
      .split('\n')[0]!;
    process.kill(Number(agentPid), 'SIGKILL');
    await proc.waitForLine(/quickstart: agent \(pid \d+\) exited/, 30_000);
    expect(proc.tail().join('\n')).toContain(`${join(state, 'logs', 'agent.log')}`);
  }, 240_000);
});
