// End to end: a host-state detector in a real agent, through a real collector, into a real
// InfluxDB. A page changed under a watched web root must arrive as a possible_defacement
// security_event carrying the agent's identity from the collector's registry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';
import { until } from '../agent/src/detectors/testing.ts';

describe('host-state detectors end to end', () => {
  let pipe: Pipeline;
  let www: string;
  beforeAll(async () => {
    pipe = await startPipeline();
    www = mkdtempSync(join(tmpdir(), 'canh-e2e-www-'));
    mkdirSync(join(www, 'static'));
    writeFileSync(join(www, 'index.html'), '<h1>Cổng thông tin điện tử</h1>\n');
    writeFileSync(join(www, 'static', 'logo.svg'), '<svg/>\n');
  });
  afterAll(async () => {
    await pipe?.stop();
    rmSync(www, { recursive: true, force: true });
  });

  it('a file changed under a web root is a possible_defacement event in InfluxDB', async () => {
    const agent = await pipe.addAgent({
      name: 'portal-web01',
      agency: 'so-tt-tt',
      site: 'dc1',
      detectors: [{ type: 'file_integrity', paths: [], web_roots: [www], static_paths: ['static'], debounce: '100ms' }],
    });
    expect(await until(() => existsSync(join(agent.stateDir, 'baseline-file_integrity.json')), 10_000)).toBe(true);

    writeFileSync(join(www, 'static', 'logo.svg'), '<svg><text>hacked</text></svg>\n');
    const rows = await pipe.waitFor(`SELECT * FROM security_event WHERE "type" = 'possible_defacement'`, (r) => r.length > 0, 20_000);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      host: 'portal-web01',
      agency: 'so-tt-tt',
      site: 'dc1',
      detector: 'file_integrity',
      severity: 'critical',
      mitre: 'T1491.002',
      change: 'modified',
      path: join(www, 'static', 'logo.svg'),
      web_root: www,
      count: 1,
    });
    expect(String(rows[0]!.new_sha256)).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.new_sha256).not.toBe(rows[0]!.old_sha256);
  });
});
