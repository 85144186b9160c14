// Storage that lasts a year (issue 29), against a real InfluxDB: a generated stretch of
// ~45 days (past timestamps, written before the collector ever ran) for three hosts, then
// the collector starts and must create the policies and roll-up CQs, back-fill the
// roll-ups and copy events, refuse to shorten the raw period while that deletes data,
// and delete it once confirmed. The roll-ups must hold the right mean and max, the
// dashboards' queries must find data for 1 h, 7 d and 90 d through `$rp`/`$events_rp`,
// and the report of an old month from roll-ups must equal the one from raw data.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from '../collector/src/collector.ts';
import { parseCollectorConfig } from '../collector/src/config.ts';
import { main } from '../collector/src/cli.ts';
import { buildReport } from '../collector/src/report/report.ts';
import { estimateStorage } from '../collector/src/influx/capacity.ts';
import { buildYearReport } from '../collector/src/report/year.ts';
import { policyWriter, StorageManager } from '../collector/src/influx/retention.ts';
import { monthRange } from '../collector/src/report/month.ts';
import { buildDashboards, type InfluxQuery } from '../dashboards/src/index.ts';
import type { Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { seriesRows, startInfluxd, type Influxd } from './helpers/influxd.ts';
import { pollUntil } from './helpers/process.ts';

const DAY = 86_400_000;
const STEP = 60_000; // one sample a minute per series (time-compressed: fewer points, same shapes)
const HOSTS = ['web-01', 'db-01', 'gw-01'];
const AGENCY = 'so-tttt';
const TZ = 'Asia/Ho_Chi_Minh';
const NOW = Date.now();
/** The month reported: the one holding NOW − 36 d, so it starts before the raw period (30 d). */
const OLD = new Date(NOW - 36 * DAY + 7 * 3_600_000);
const MONTH = `${OLD.getUTCFullYear()}-${String(OLD.getUTCMonth() + 1).padStart(2, '0')}`;
const RANGE = monthRange(MONTH, TZ);
/** At least 45 days, and the whole reported month. */
const START = Math.floor(Math.min(NOW - 45 * DAY, RANGE.start) / STEP) * STEP;

/** The CPU value of a host at a time: deterministic, so the test knows every bucket's mean and max. */
const cpu = (h: number, t: number): number => 10 + h * 5 + ((t / STEP) % 7) * 3;
/** A ping outage of 20 minutes every 3 days for host 0. */
const pingDown = (h: number, t: number): boolean =>
  h === 0 && Math.floor((t - START) / DAY) % 3 === 1 && (t - START) % DAY >= 10 * 3_600_000 && (t - START) % DAY < 10 * 3_600_000 + 20 * 60_000;

function generate(): string[] {
  const lines: string[] = [];
  for (let t = START; t < NOW; t += STEP) {
    HOSTS.forEach((host, h) => {
      const tags = `host=${host},agency=${AGENCY},site=hq`;
      lines.push(`cpu,${tags},cpu=cpu-total usage_user=${cpu(h, t)},usage_idle=${100 - cpu(h, t)} ${t}`);
      const bytes = Math.floor((t - START) / 1000) * 1000 * (h + 1);
      lines.push(
        `net,${tags},interface=eth0 bytes_recv=${bytes}i,bytes_recv_rate=${1000 * (h + 1) + ((t / STEP) % 5) * 10},bytes_sent_rate=${500 * (h + 1)} ${t}`,
      );
      const down = pingDown(h, t);
      lines.push(`ping,${tags},url=10.0.0.1 result_code=${down ? 2 : 0}i,percent_packet_loss=${down ? 100 : 0},average_response_ms=${1 + h} ${t}`);
      lines.push(`agent,${tags} online=1i,spool_batches=0i,version="1.0" ${t}`);
      if ((t - START) % (6 * 3_600_000) === 0) {
        lines.push(
          `security_event,${tags},type=brute_force,severity=high,detector=auth_log message="failed logins",count=${3 + h}i,src_ip="203.0.113.${h + 1}" ${t + h}`,
        );
      }
    });
    if ((t - START) % DAY === 0) {
      lines.push(`alert,rule=host_down,host=web-01,agency=${AGENCY},site=hq,severity=high state="firing",value=1,summary="down" ${t}`);
      lines.push(`alert,rule=host_down,host=web-01,agency=${AGENCY},site=hq,severity=high state="resolved",value=0,summary="up" ${t + 3_600_000}`);
    }
  }
  // One alert still firing at the end.
  lines.push(`alert,rule=disk_full,host=db-01,agency=${AGENCY},site=hq,severity=high state="firing",value=95,summary="disk" ${NOW - 600_000}`);
  return lines;
}

let influx: Influxd;
let collector: Collector;
let dir: string;
let configFile: string;
let lineCount = 0;
let rawReport: Awaited<ReturnType<typeof buildReport>>;
const q = async (s: string) => seriesRows(await influx.query(s, 'canh'));
const log = pino({ level: process.env.CANH_TEST_LOG ?? 'silent' });

beforeAll(async () => {
  // Retention enforced every second instead of every 30 minutes.
  influx = await startInfluxd({ extraConfig: '[retention]\n  enabled = true\n  check-interval = "1s"\n' });
  await influx.createDatabase('canh');
  const lines = generate();
  lineCount = lines.length;
  for (let i = 0; i < lines.length; i += 20_000) await influx.write('canh', lines.slice(i, i + 20_000));
  // The report of the old month while its raw data is all there.
  rawReport = await buildReport(
    { query: (s, db) => influx.query(s, db) },
    { month: MONTH, timeZone: TZ, database: 'canh', lang: 'en', now: NOW, agency: AGENCY },
  );
  dir = mkdtempSync(join(tmpdir(), 'canh-storage-'));
  const doc = { listen: { host: '127.0.0.1', port: 0 }, state_dir: join(dir, 'state'), influx: { url: influx.url, database: 'canh', flush_interval: 100 } };
  configFile = join(dir, 'collector.yaml');
  writeFileSync(configFile, JSON.stringify(doc));
  collector = new Collector(parseCollectorConfig(doc), { log, configFile });
  await collector.start();
  await pollUntil(async () => (['done', 'failed'].includes(collector.storage.status.backfill.state) ? true : undefined), {
    timeoutMs: 240_000,
    intervalMs: 250,
    what: 'the back-fill to finish',
  });
}, 400_000);

afterAll(async () => {
  await collector?.stop();
  await influx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('policies and roll-ups', () => {
  it('creates the policies and one roll-up CQ per measurement, and back-fills', async () => {
    expect(collector.storage.status.backfill.state).toBe('done');
    const rps = await q('SHOW RETENTION POLICIES ON "canh"');
    const byName = Object.fromEntries(rps.map((r) => [r.name, r]));
    expect(byName.rollup_5m?.duration).toBe('9600h0m0s');
    expect(byName.events?.duration).toBe('26280h0m0s');
    expect(byName.canh_meta?.duration).toBe('0s');
    const cqs = (await q('SHOW CONTINUOUS QUERIES')).filter((r) => r._measurement === 'canh').map((r) => String(r.name));
    for (const m of ['cpu', 'net', 'ping', 'agent']) expect(cqs.some((n) => n.startsWith(`canh_rollup_${m}_`))).toBe(true);
    expect(cqs.some((n) => n.startsWith('canh_rollup_ping_down_'))).toBe(true);
    expect(cqs.some((n) => n.includes('security_event') || n.includes('_alert_'))).toBe(false);
    console.log(
      `storage: ${lineCount} raw points over ${((NOW - START) / DAY).toFixed(1)} days, ${cqs.length} CQs, back-fill ${collector.storage.status.backfill.total} six-hour chunks`,
    );
  });

  it('a second apply changes nothing (idempotent)', async () => {
    // The collector's own measurements (collector, influxdb_disk) may have appeared since start: one apply picks them up.
    await collector.storage.apply();
    const before = (await q('SHOW CONTINUOUS QUERIES')).map((r) => String(r.name)).sort();
    await collector.storage.apply();
    expect((await q('SHOW CONTINUOUS QUERIES')).map((r) => String(r.name)).sort()).toEqual(before);
  });

  it('roll-ups hold the right mean, min and max per 5 minutes', async () => {
    const bucket = Math.floor((NOW - 40 * DAY) / 300_000) * 300_000;
    const rows = await q(`SELECT "usage_user", "usage_user_min", "usage_user_max", "samples" FROM "rollup_5m"."cpu" WHERE time = ${bucket}ms GROUP BY "host"`);
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      const h = HOSTS.indexOf(String(r.host));
      const vals = [0, 1, 2, 3, 4].map((i) => cpu(h, bucket + i * STEP));
      expect(r.usage_user).toBeCloseTo(vals.reduce((a, b) => a + b) / 5, 9);
      expect(r.usage_user_max).toBe(Math.max(...vals));
      expect(r.usage_user_min).toBe(Math.min(...vals));
      expect(r.samples).toBe(5);
    }
    // A counter keeps its last value; the uptime check its down samples.
    const net = await q(`SELECT "bytes_recv" FROM "rollup_5m"."net" WHERE time = ${bucket}ms AND "host" = 'web-01'`);
    expect(net[0]?.bytes_recv).toBe(Math.floor((bucket + 4 * STEP - START) / 1000) * 1000);
    const down = await q(`SELECT sum("down") AS "down", sum("samples") AS "samples" FROM "rollup_5m"."ping" WHERE "host" = 'web-01'`);
    const raw = await q(`SELECT count("result_code") AS "n" FROM "autogen"."ping" WHERE "host" = 'web-01' AND "result_code" <> 0`);
    expect(down[0]?.down).toBe(raw[0]?.n);
  });

  it('copies security events and alert changes raw into the events policy', async () => {
    const a = await q(`SELECT count("message") FROM "autogen"."security_event"`);
    const b = await q(`SELECT count("message") FROM "events"."security_event"`);
    expect(b[0]?.count).toBe(a[0]?.count);
    const c = await q(`SELECT count("state") FROM "events"."alert"`);
    expect(c[0]?.count).toBeGreaterThan(60);
    const t = await q(`SELECT "count" FROM "events"."security_event" LIMIT 1`);
    expect(Number.isInteger(t[0]?.count)).toBe(true);
  });
});

describe('the raw period', () => {
  it('is not shortened while that deletes data, and says how much would go', () => {
    const p = collector.storage.status.pending;
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ policy: 'autogen', from: 0, to: 30 * DAY });
    expect(p[0]!.shards).toBeGreaterThan(0);
    const rp = collector.storage.status.policies.find((x) => x.name === 'autogen');
    expect(rp?.duration).toBe(0);
  });

  it('storage apply --confirm shortens it, and InfluxDB deletes what is older', async () => {
    const before = await q(`SELECT count("usage_user") FROM "autogen"."cpu" WHERE time < now() - 30d`);
    expect(Number(before[0]?.count)).toBeGreaterThan(0);
    // What would go is dated in the reader's zone, named (not ISO UTC days).
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((x: string) => out.push(x) > 0) as typeof process.stdout.write;
    try {
      expect(await main(['storage', 'apply', '--config', configFile])).toBe(3);
    } finally {
      process.stdout.write = write;
    }
    expect(out.join('')).toMatch(/ từ \d\d\/\d\d\/\d{4} \d\d:\d\d \(Asia\/Ho_Chi_Minh\) đến \d\d\/\d\d\/\d{4} \d\d:\d\d \(Asia\/Ho_Chi_Minh\)/);
    expect(await main(['storage', 'apply', '--confirm', '--config', configFile])).toBe(0);
    const shards = await q('SHOW SHARDS');
    // InfluxDB drops whole shard groups: what stays older than 30 d lies in a group that ends after the cut.
    await pollUntil(
      async () => {
        const old = await q(`SELECT count("usage_user") FROM "autogen"."cpu" WHERE time < now() - 37d`);
        return old.length === 0 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'raw data older than the raw period (and its shard group) to be deleted' },
    );
    const left = await q(`SELECT first("usage_user") FROM "autogen"."cpu" WHERE time < now() - 30d`);
    if (left.length) {
      const t = Number(left[0]!.time);
      const holder = shards.find(
        (s) => s._measurement === 'canh' && s.retention_policy === 'autogen' && Date.parse(String(s.start_time)) <= t && t < Date.parse(String(s.end_time)),
      );
      expect(Date.parse(String(holder?.end_time))).toBeGreaterThan(Date.now() - 30 * DAY - 60_000);
    }
    // The roll-ups of that time are all there.
    const r = await q(`SELECT count("usage_user") FROM "rollup_5m"."cpu" WHERE time < now() - 38d AND time >= ${START}ms`);
    expect(Number(r[0]?.count)).toBeGreaterThan(0);
  });
});

describe('a period changed in the config', () => {
  it('applies on reload: longer at once, shorter only with --confirm, saying how much would go', async () => {
    const doc = {
      listen: { host: '127.0.0.1', port: 0 },
      state_dir: join(dir, 'state'),
      influx: { url: influx.url, database: 'canh', flush_interval: 100 },
      storage: { rollup: '500d', events: '20d' },
    };
    writeFileSync(configFile, JSON.stringify(doc));
    const r = await collector.reload();
    expect(r.ok).toBe(true);
    expect(r.ok && r.restartNeeded).toEqual([]);
    await collector.storage.idle();
    const rps = Object.fromEntries((await q('SHOW RETENTION POLICIES ON "canh"')).map((x) => [x.name, x.duration]));
    expect(rps.rollup_5m).toBe('12000h0m0s');
    expect(rps.events).toBe('26280h0m0s');
    const pending = collector.storage.status.pending;
    expect(pending.map((p) => p.policy)).toEqual(['events']);
    expect(pending[0]!.shards).toBeGreaterThan(0);
    expect(collector.storage.summary()).toMatch(/waiting for --confirm: events → 20 d \(\d+ shard groups\)/);
    // Back to the defaults: longer again, nothing pending.
    writeFileSync(configFile, JSON.stringify({ ...doc, storage: {} }));
    await collector.reload();
    await collector.storage.idle();
    expect(collector.storage.status.pending).toEqual([]);
    expect(Object.fromEntries((await q('SHOW RETENTION POLICIES ON "canh"')).map((x) => [x.name, x.duration])).rollup_5m).toBe('9600h0m0s');
  });
});

describe('dashboards read the right resolution', () => {
  const dashboards = buildDashboards().filter((g) => g.lang === 'en');
  const vars = new Map<string, string>();
  const cases: { where: string; query: string }[] = [];
  for (const g of dashboards) {
    for (const v of (g.dashboard.templating?.list ?? []) as VariableModel[]) vars.set(v.name, String(v.query));
    const panels = (g.dashboard.panels ?? []).flatMap((p) => (p.type === 'row' ? ((p as RowPanel).panels ?? []) : [p as Panel]));
    for (const p of panels) for (const t of (p.targets ?? []) as InfluxQuery[]) cases.push({ where: `${g.dashboard.uid} "${p.title}"`, query: t.query });
  }
  /** Panels that read only measurements, fields and tags this test generated. */
  const KNOWN = new Set([
    '$rp',
    '$events_rp',
    'cpu',
    'net',
    'ping',
    'agent',
    'security_event',
    'alert',
    'host',
    'agency',
    'site',
    'interface',
    'url',
    'type',
    'severity',
    'detector',
    'rule',
    'state',
    'value',
    'summary',
    'message',
    'count',
    'src_ip',
    'usage_user',
    'usage_idle',
    'bytes_recv',
    'bytes_recv_rate',
    'bytes_sent_rate',
    'result_code',
    'percent_packet_loss',
    'average_response_ms',
    'online',
    'spool_batches',
    'version',
  ]);
  const ours = cases.filter((c) => {
    const ids = [...c.query.replace(/\bAS "[^"]*"/g, '').matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
    const values = [...c.query.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
    return (
      /FROM "\$(rp|events_rp)"/.test(c.query) &&
      ids.every((i) => KNOWN.has(i)) &&
      values.every((v) => ['cpu-total', 'brute_force', 'auth_log', 'high', 'firing', 'eth0'].includes(v))
    );
  });

  async function choose(name: string, from: number): Promise<string> {
    const rows = await q(vars.get(name)!.replaceAll('${__from}', String(from)).replaceAll('$__from', String(from)));
    return String(rows[0]?.first ?? rows[0]?.rp);
  }

  it('the policy variables pick raw within the raw period and the roll-up or events policy past it', async () => {
    expect(await choose('rp', Date.now() - 3_600_000)).toBe('autogen');
    expect(await choose('rp', Date.now() - 7 * DAY)).toBe('autogen');
    expect(await choose('rp', Date.now() - 90 * DAY)).toBe('rollup_5m');
    expect(await choose('events_rp', Date.now() - 7 * DAY)).toBe('autogen');
    expect(await choose('events_rp', Date.now() - 90 * DAY)).toBe('events');
  });

  it("with storage.manage false the policies stay the operator's, and the variables name the default policy for any range", async () => {
    await influx.createDatabase('plain');
    const m = new StorageManager(
      { manage: false, raw: 30 * DAY, rollup: 400 * DAY, events: 1095 * DAY, catch_up: 2 * DAY },
      { client: collector.writer, database: 'plain', writePolicy: policyWriter({ url: influx.url, database: 'plain', timeoutMs: 10_000 }), log },
    );
    expect(await m.apply()).toEqual([]);
    const rps = seriesRows(await influx.query('SHOW RETENTION POLICIES ON "plain"', 'plain')).map((r) => `${String(r.name)} ${String(r.duration)}`);
    expect(rps.sort()).toEqual(['autogen 0s', 'canh_meta 0s']);
    for (const [name, kind] of [
      ['rp', 'metrics'],
      ['events_rp', 'events'],
    ] as const) {
      const text = vars.get(name)!.replaceAll('${__from}', String(Date.now() - 400 * DAY));
      expect(text).toContain(`'${kind}'`);
      expect(seriesRows(await influx.query(text, 'plain'))[0]?.first).toBe('autogen');
    }
  });

  for (const [label, ms] of [
    ['1h', 3_600_000],
    ['7d', 7 * DAY],
    ['90d', 90 * DAY],
  ] as const) {
    it(`panels over generated data return data for the last ${label}`, async () => {
      expect(ours.length).toBeGreaterThan(8);
      const from = Date.now() - ms;
      const rp = await choose('rp', from);
      const erp = await choose('events_rp', from);
      const empty: string[] = [];
      for (const c of ours) {
        const text = c.query
          .replaceAll('$rp', rp)
          .replaceAll('$events_rp', erp)
          .replaceAll('$timeFilter', `time >= ${from}ms`)
          .replaceAll('$__interval', label === '1h' ? '1m' : label === '7d' ? '10m' : '2h')
          .replace(/\/\^\$(agency|site|host)\$\//g, '/.*/')
          .replace(/\$(agency|site|host)\b/g, '.*');
        const rows = await q(text);
        if (!rows.length) empty.push(`${c.where}: ${text}`);
      }
      expect(empty).toEqual([]);
      if (label === '90d') console.log(`storage: ${ours.length} dashboard queries over the generated data answered for 1 h, 7 d and 90 d`);
    });
  }
});

/**
 * Where two reports differ: numbers beyond 1e-9 relative (a mean of 5-minute means is
 * the mean of the samples up to rounding), and the time of a bandwidth peak by 5 minutes
 * or more (a roll-up knows the peak's bucket, not its sample).
 */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'number' && typeof b === 'number') {
    if (/peak(In|Out)At$/.test(path)) return Math.abs(a - b) < 300_000 ? [] : [`${path}: ${a} vs ${b}`];
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)) ? [] : [`${path}: ${a} vs ${b}`];
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return Object.is(a, b) ? [] : [`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
}

describe('the report of an old month', () => {
  it('computed from roll-ups equals the one computed from raw data before it expired', async () => {
    const fromRollups = await buildReport(
      { query: (s, db) => influx.query(s, db) },
      { month: MONTH, timeZone: TZ, database: 'canh', lang: 'en', now: NOW, agency: AGENCY, resolution: 'rollup' },
    );
    const a = rawReport.agencies[0]!.report;
    const b = fromRollups.agencies[0]!.report;
    expect(a.checks.length).toBe(3);
    expect(a.checks[0]!.incidents.length + a.checks[1]!.incidents.length + a.checks[2]!.incidents.length).toBeGreaterThan(0);
    expect(a.uplinks.length).toBe(3);
    expect(a.events.total).toBeGreaterThan(0);
    expect(a.alerts.fired).toBeGreaterThan(0);
    expect(a.agents.length).toBe(3);
    expect(differences(b, a)).toEqual([]);
  });
});

describe('the yearly report', () => {
  it('holds the old month with the figures of its monthly report, from roll-ups', async () => {
    const y = await buildYearReport(
      { query: (s, db) => influx.query(s, db) },
      { year: Number(MONTH.slice(0, 4)), timeZone: TZ, database: 'canh', agency: AGENCY, lang: 'vi', now: NOW },
    );
    const m = y.agencies[0]!.months.find((r) => r.month === MONTH)!;
    const a = rawReport.agencies[0]!.report;
    expect(m.rollup).toBe(true);
    expect(m.availability).toBeCloseTo(a.overall.availability!, 9);
    expect(m.minutesDown).toBeCloseTo(a.overall.minutesDown, 9);
    expect(m.events).toBe(a.events.total);
    expect(m.alertsFired).toBe(a.alerts.fired);
    expect(y.agencies[0]!.total.events).toBeGreaterThanOrEqual(m.events);
    expect(y.html).toContain('báo cáo năm');
    expect(y.html).toContain(MONTH);
  });
});

describe('capacity', () => {
  it('storage estimate measures bytes per point on this InfluxDB and the days its disk lasts', async () => {
    const e = await estimateStorage(collector.writer, {
      database: 'canh',
      agents: 1000,
      storage: { raw: 30 * DAY, rollup: 400 * DAY, events: 1095 * DAY },
      dataDir: influx.dir,
    });
    expect(e.bytesPerPointMeasured).toBe(true);
    expect(e.bytesPerPoint).toBeGreaterThan(0.5);
    expect(e.bytesPerPoint).toBeLessThan(200);
    expect(e.pointsPerSecond).toBe(1000 * e.pointsPerAgentPerSecond);
    expect(e.disk?.total).toBeGreaterThan(0);
    expect(e.daysToFull === Infinity || (typeof e.daysToFull === 'number' && e.daysToFull >= 0)).toBe(true);
    expect(e.usedByPolicy.map((p) => p.policy)).toEqual(expect.arrayContaining(['autogen', 'rollup_5m']));
    console.log(
      `storage: estimate on the test's InfluxDB: ${e.bytesPerPoint.toFixed(1)} bytes/point (since influxd started), ${e.rawGBPerDay.toFixed(1)} GB/day raw for 1,000 agents`,
    );
    // What the operator reads: the config's language (vi unless set), or --lang.
    const said = async (...args: string[]) => {
      const out: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((x: string) => out.push(x) > 0) as typeof process.stdout.write;
      try {
        expect(await main(['storage', 'estimate', '--config', configFile, ...args])).toBe(0);
      } finally {
        process.stdout.write = write;
      }
      return out.join('');
    };
    expect(await said()).toMatch(/^tác tử: \d+ đã đăng ký, \d+ đang kết nối\n.*\ndự kiến: [\d,]+ điểm\/giây × [\d,]+ byte\/điểm \(đo trên InfluxDB này\)\n/);
    expect(await said('--lang', 'en')).toMatch(/\nprojected: [\d.]+ points\/s × [\d.]+ bytes\/point \(measured on this InfluxDB\)\n/);
    expect(JSON.parse(await said('--json'))).toMatchObject({ bytesPerPointMeasured: true });
  });
});
