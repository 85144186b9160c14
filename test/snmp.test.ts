// End to end: an agent polls a real snmpd and receives real traps; the interface points
// and trap events reach InfluxDB through the collector with the registry's tags.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';
import { startSnmpd, type Snmpd } from './helpers/snmpd.ts';
import { freePort } from './helpers/ports.ts';

const run = promisify(execFile);

describe('snmp through the collector', () => {
  let pipeline: Pipeline;
  let snmpd: Snmpd;
  let trapPort: number;
  beforeAll(async () => {
    [pipeline, snmpd, trapPort] = await Promise.all([startPipeline(), startSnmpd(), freePort('udp')]);
    await pipeline.addAgent({
      name: 'lan-gw-1',
      agency: 'so-tai-chinh',
      site: 'hq',
      inputs: [
        {
          type: 'snmp',
          interval: '2s',
          agents: [
            { host: '127.0.0.1', port: snmpd.port, version: 3, user: snmpd.v3.user, auth_key: snmpd.v3.authKey, priv_key: snmpd.v3.privKey },
            { host: '127.0.0.1', port: await freePort('udp'), community: 'x', timeout: '500ms', retries: 0, name: 'sw-tang-2' },
          ],
        },
        { type: 'snmp_trap', address: '127.0.0.1', port: trapPort, communities: ['traps'] },
      ],
    });
  });
  afterAll(async () => {
    await pipeline?.stop();
    await snmpd?.stop();
  });

  it('stores interface points with rates, and a dead device as a timeout result', async () => {
    const rows = await pipeline.waitFor(
      `SELECT in_bps, ifHCInOctets FROM interface WHERE ifName = 'lo' AND in_bps >= 0 GROUP BY *`,
      (r) => r.length > 0,
      30_000,
    );
    expect(rows[0]).toMatchObject({ host: 'lan-gw-1', agency: 'so-tai-chinh', site: 'hq', agent_host: '127.0.0.1', ifIndex: '1' });
    expect(rows[0]!.ifHCInOctets).toBeGreaterThan(0);
    const results = await pipeline.waitFor(`SELECT result, result_code FROM snmp GROUP BY *`, (r) => new Set(r.map((x) => x.result)).size === 2, 15_000);
    expect(new Set(results.map((r) => r.result))).toEqual(new Set(['success', 'timeout']));
    // Two devices on one address are two series, told apart by the device tag (the name,
    // or address:port), each with its availability.
    const up = await pipeline.waitFor(
      `SELECT last("up") AS "up", last("response_time_ms") AS "ms" FROM snmp GROUP BY "device", "agent_host"`,
      (r) => r.length === 2,
      15_000,
    );
    expect(Object.fromEntries(up.map((r) => [r.device, r.up]))).toEqual({ [`127.0.0.1:${snmpd.port}`]: 1, 'sw-tang-2': 0 });
    const lastOk = await pipeline.query(`SELECT last("last_success") FROM snmp WHERE "device" = '127.0.0.1:${snmpd.port}'`);
    expect(lastOk[0]!.last).toBeGreaterThan(Date.now() - 60_000);
  }, 60_000);

  it('stores a linkDown trap as a security event', async () => {
    await run('snmptrap', ['-v2c', '-c', 'traps', `udp:127.0.0.1:${trapPort}`, '', '1.3.6.1.6.3.1.1.5.3', '1.3.6.1.2.1.2.2.1.1.3', 'i', '3'], {
      env: { ...process.env, MIBS: '', MIBDIRS: '' },
    });
    const rows = await pipeline.waitFor(`SELECT * FROM security_event WHERE "type" = 'snmp_link_down'`, (r) => r.length > 0, 15_000);
    expect(rows[0]).toMatchObject({ host: 'lan-gw-1', agency: 'so-tai-chinh', severity: 'medium', detector: 'snmp_trap', ifIndex: 3, source: '127.0.0.1' });
  }, 30_000);
});
