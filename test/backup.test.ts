// canh-collector backup --to DIR and restore --from DIR against a real InfluxDB (Debian's
// influxd 1.6, `influxd backup/restore -portable` through its RPC port): back up, wipe the
// state folder and the database, restore, and find the data (count() of every field of
// every measurement) and the registry, central configs, silences and maintenance windows
// identical. Also what a restore refuses (issue 25, backup.md).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfluxd, seriesRows, type Influxd } from './helpers/influxd.ts';
import { main } from '../collector/src/cli.ts';

let influx: Influxd;
const dir = mkdtempSync(join(tmpdir(), 'canh-backup-'));
const state = join(dir, 'state');
const cfg = join(dir, 'collector.yaml');
let rpc: string;

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const [w1, w2] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    const code = await main([...args, '--config', cfg]);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

const T0 = Date.parse('2026-11-20T00:00:00Z');
function lines(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 500; i++) {
    const t = T0 + i * 60_000;
    out.push(`cpu,agency=so-tttt,host=web-01,site=dc usage_idle=${90 + (i % 7)},usage_user=${i % 5} ${t}`);
    out.push(`ping,agency=so-yte,host=gw-02,site=bv,url=10.2.0.1 result_code=${i % 50 === 0 ? 2 : 0}i,percent_packet_loss=${i % 50 === 0 ? 100 : 0} ${t}`);
    if (i % 10 === 0)
      out.push(
        `security_event,agency=so-tttt,host=web-01,site=dc,type=brute_force,severity=high message="SSH brute force",count=${(i % 9) + 1}i,src_ip="203.0.113.7" ${t}`,
      );
  }
  out.push(`alert,agency=so-tttt,host=web-01,rule=disk_full,severity=high state="firing",summary="disk_full" ${T0}`);
  out.push(
    `alert,agency=so-tttt,host=web-01,rule=disk_full,severity=high state="acknowledged",summary="disk_full",acknowledged_by="Trần Thị Bình" ${T0 + 60_000}`,
  );
  return out;
}

/** count() of every field of every measurement, and the collector state as the CLI lists it. */
async function snapshot() {
  // (No database at all answers a series without values, which seriesRows does not take.)
  const dbs = ((await influx.query('SHOW DATABASES')).results?.[0]?.series?.[0]?.values ?? []).map((v) => v[0]);
  const data: Record<string, unknown> = {};
  if (dbs.includes('canh')) {
    for (const m of seriesRows(await influx.query('SHOW MEASUREMENTS', 'canh')).map((r) => String(r.name))) {
      data[m] = seriesRows(await influx.query(`SELECT count(*) FROM "${m}"`, 'canh'));
    }
  }
  const list = async (...args: string[]) => (await run(args)).out;
  return {
    data,
    agents: JSON.parse(await list('agent', 'list', '--json')) as unknown[],
    history: JSON.parse(await list('config', 'history', '--json')) as unknown[],
    silences: await list('silence', 'list', '--json'),
    maintenance: await list('maintenance', 'list', '--json'),
  };
}

beforeAll(async () => {
  influx = await startInfluxd();
  rpc = `127.0.0.1:${influx.rpcPort}`;
  await influx.createDatabase('canh');
  await influx.write('canh', lines());
  writeFileSync(cfg, `state_dir: ${state}\ninflux: { url: "${influx.url}", database: canh }\nalerting: { timezone: Asia/Ho_Chi_Minh }\n`);
  for (const [name, agency] of [
    ['web-01', 'so-tttt'],
    ['gw-02', 'so-yte'],
    ['old-03', 'so-yte'],
  ])
    expect((await run(['agent', 'add', '--name', name!, '--agency', agency!, '--site', 'dc'])).code).toBe(0);
  expect((await run(['agent', 'revoke', 'old-03'])).code).toBe(0);
  writeFileSync(join(dir, 'central.yaml'), 'agent: { interval: 30s }\n');
  expect((await run(['config', 'push', '--file', join(dir, 'central.yaml'), '--agency', 'so-tttt', '--author', 'an'])).code).toBe(0);
  expect((await run(['silence', 'add', 'host=gw-02', '--duration', '30d', '--comment', 'thay thiết bị', '--author', 'Bình'])).code).toBe(0);
  expect(
    (
      await run([
        'maintenance',
        'add',
        '--name',
        'sao lưu tuần',
        '--agency',
        'so-yte',
        '--days',
        'sun',
        '--start',
        '01:00',
        '--end',
        '03:00',
        '--comment',
        'c',
        '--author',
        'a',
      ])
    ).code,
  ).toBe(0);
}, 120_000);

afterAll(async () => {
  await influx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('canh-collector backup and restore', () => {
  it('back up, wipe, restore: data and registry identical', { timeout: 180_000 }, async () => {
    const before = await snapshot();
    expect(Object.keys(before.data).sort()).toEqual(['alert', 'cpu', 'ping', 'security_event']);
    expect(before.data.cpu).toEqual([expect.objectContaining({ count_usage_idle: 500, count_usage_user: 500 })]);
    expect(before.agents).toHaveLength(3);
    expect(before.history).toHaveLength(1);

    const to = join(dir, 'backup-1');
    const b = await run(['backup', '--to', to, '--influx-host', rpc]);
    expect(b.err).toBe('');
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/^Đã sao lưu vào .*backup-1: collector\.db \(3 tác tử\), 0 tệp hàng đợi, cơ sở dữ liệu InfluxDB "canh" \(influxd backup -portable\)/);
    expect(existsSync(join(to, 'influxdb'))).toBe(true);

    // Wipe: the state folder and the database.
    rmSync(state, { recursive: true, force: true });
    await influx.query('DROP DATABASE "canh"');
    const wiped = await snapshot();
    expect(wiped.data).toEqual({});
    expect(wiped.agents).toEqual([]);
    rmSync(state, { recursive: true, force: true }); // listing made an empty collector.db

    const r = await run(['restore', '--from', to, '--influx-host', rpc]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Đã khôi phục từ .* \(bản sao lưu lúc \d\d\/\d\d\/\d{4} \d\d:\d\d \(Asia\/Ho_Chi_Minh\)\): collector\.db \(3 tác tử\)/);
    expect(await snapshot()).toEqual(before);
    // The restored registry still authenticates nothing it should not: the revoked agent stays revoked.
    expect((before.agents as { name: string; revokedAt: number | null }[]).find((a) => a.name === 'old-03')!.revokedAt).not.toBeNull();

    // A second restore over live state is refused without --force, then replaces it.
    const again = await run(['restore', '--from', to, '--influx-host', rpc]);
    expect(again.code).toBe(2);
    expect(again.err).toContain('(CANH_ERR_RESTORE_TARGET)');
    await influx.write('canh', [`cpu,agency=so-tttt,host=web-01,site=dc usage_idle=1,usage_user=1 ${T0 - 3_600_000}`]);
    expect((await run(['restore', '--from', to, '--influx-host', rpc, '--force'])).code).toBe(0);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses what is not a whole backup, a used folder, and an unreachable influxd, with codes', { timeout: 120_000 }, async () => {
    const to = join(dir, 'backup-2');
    expect((await run(['backup', '--to', to, '--no-influx'])).code).toBe(0);
    const used = await run(['backup', '--to', to, '--no-influx']);
    expect(used.code).toBe(2);
    expect(used.err).toContain('(CANH_ERR_BACKUP_TARGET)');
    const noInflux = await run(['backup', '--to', join(dir, 'backup-3'), '--influx-host', '127.0.0.1:1']);
    expect(noInflux.code).toBe(2);
    expect(noInflux.err).toContain('(CANH_ERR_BACKUP_INFLUXD)');
    const damaged = join(dir, 'damaged');
    cpSync(to, damaged, { recursive: true });
    appendFileSync(join(damaged, 'collector.db'), 'x');
    const bad = await run(['restore', '--from', damaged, '--no-influx', '--force']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('(CANH_ERR_RESTORE_SOURCE)');
    const none = await run(['restore', '--from', join(dir, 'nothing-here'), '--no-influx']);
    expect(none.err).toContain('(CANH_ERR_RESTORE_SOURCE)');
    expect((await run(['backup'])).err).toContain('(CANH_ERR_CLI_USAGE)');
    expect((await run(['restore', '--to', to])).err).toContain('(CANH_ERR_CLI_USAGE)');
  });
});
