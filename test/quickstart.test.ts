// The README's first command, for real: deploy/quickstart.sh brings up InfluxDB, the
// collector and an agent for this host; the host's data lands in InfluxDB with its tags.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
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
      env: { CANH_STATE_DIR: state, CANH_INFLUX_PORT: String(influxPort), CANH_INFLUX_RPC_PORT: String(rpcPort), CANH_COLLECTOR_PORT: String(collectorPort), PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH ?? ''}` },
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
  }, 120_000);
});
