// Every query of every Canh dashboard, run against a real InfluxDB that holds data sent
// through the real pipeline (agents → collector → InfluxDB), must answer with data.
// A panel whose query finds nothing is a broken panel, and this test says which.
//
// Where the data comes from:
// - Real agents run every input listed in agent/src/inputs/index.ts at run time, pointed
//   at real local targets (HTTP and HTTPS servers, a TCP port, snmpd, ping 127.0.0.1).
// - Real detectors: file_integrity watching a temp "system" folder and web root, and
//   listening_ports; the test changes files and opens a port once their baselines exist.
// - Measurements (and security event types) that no real input produced in this run are
//   written as representative points by a raw protocol client: a registered token, a
//   `hello`, then a `batch` through the collector's WebSocket, never straight into
//   InfluxDB, so they still pass the collector's validation and identity tagging.
// The test prints which measurements came from where.
//
// Also: typical community Grafana queries for Telegraf's cpu, mem, disk, system and net
// (written from Telegraf's documented schema) find the data Canh's real inputs wrote.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encode, PROTOCOL_VERSION, type Point, type SecurityEventInput } from '@canh/protocol';
import { inputs as inputDefs } from '../agent/src/inputs/index.ts';
import { detectors as detectorDefs } from '../agent/src/detectors/index.ts';
import { buildDashboards, type InfluxQuery } from '../dashboards/src/index.ts';
import type { Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { startPipeline, type Pipeline, type Row } from './helpers/pipeline.ts';
import { startSnmpd, type Snmpd } from './helpers/snmpd.ts';
import { pollUntil } from './helpers/process.ts';

// ---------------------------------------------------------------------------------------
// The queries under test

interface QueryCase {
  where: string;
  query: string;
}

const dashboards = buildDashboards().filter((g) => g.lang === 'en');
const VARIABLE_ORDER = ['agency', 'site', 'host', 'device', 'ifname'];
const variableQueries = new Map<string, string>();
const panelCases: QueryCase[] = [];
for (const g of dashboards) {
  const d = g.dashboard;
  for (const v of (d.templating?.list ?? []) as VariableModel[]) variableQueries.set(v.name, String(v.query));
  for (const a of d.annotations?.list ?? []) panelCases.push({ where: `${d.uid} annotation "${a.name}"`, query: (a.target as InfluxQuery).query });
  const panels = (d.panels ?? []).flatMap((p) => (p.type === 'row' ? ((p as RowPanel).panels ?? []) : [p as Panel]));
  for (const p of panels) for (const t of (p.targets ?? []) as InfluxQuery[]) panelCases.push({ where: `${d.uid} "${p.title}" ${t.refId}`, query: t.query });
}
// The same query on several dashboards is run once.
const uniqueCases = [...new Map(panelCases.map((c) => [c.query, c])).values()];

// Community queries, as found in Telegraf dashboards on grafana.com, with their own variables.
const COMMUNITY_VARS: Record<string, string> = {
  host: `SHOW TAG VALUES FROM "system" WITH KEY = "host"`,
  mountpoint: `SHOW TAG VALUES FROM "disk" WITH KEY = "path" WHERE "host" =~ /^$host$/`,
  netif: `SHOW TAG VALUES FROM "net" WITH KEY = "interface" WHERE "host" =~ /^$host$/ AND "interface" != 'all'`,
  cpu: `SHOW TAG VALUES FROM "cpu" WITH KEY = "cpu" WHERE "host" =~ /^$host$/`,
};
const COMMUNITY: string[] = [
  `SELECT mean("usage_idle") FROM "cpu" WHERE "host" =~ /^$host$/ AND "cpu" = 'cpu-total' AND $timeFilter GROUP BY time($__interval)`,
  `SELECT mean("usage_idle") * -1 + 100 FROM "cpu" WHERE "host" =~ /^$host$/ AND "cpu" = 'cpu-total' AND $timeFilter GROUP BY time($__interval), "host" fill(null)`,
  `SELECT mean("usage_user") AS "user", mean("usage_system") AS "system", mean("usage_iowait") AS "iowait", mean("usage_softirq") AS "softirq" FROM "cpu" WHERE "host" =~ /^$host$/ AND "cpu" =~ /^$cpu$/ AND $timeFilter GROUP BY time($__interval), "cpu" fill(null)`,
  `SELECT mean("used_percent") FROM "mem" WHERE "host" =~ /^$host$/ AND $timeFilter GROUP BY time($__interval) fill(null)`,
  `SELECT mean("total") AS "total", mean("used") AS "used", mean("cached") AS "cached", mean("free") AS "free", mean("buffered") AS "buffered", mean("available") AS "available" FROM "mem" WHERE "host" =~ /^$host$/ AND $timeFilter GROUP BY time($__interval), "host" fill(null)`,
  `SELECT last("used_percent") FROM "disk" WHERE "host" =~ /^$host$/ AND "path" =~ /^$mountpoint$/ AND $timeFilter GROUP BY "path"`,
  `SELECT mean("free") AS "free", mean("used") AS "used", mean("total") AS "total", mean("inodes_used") AS "inodes_used" FROM "disk" WHERE "host" =~ /^$host$/ AND "path" =~ /^$mountpoint$/ AND $timeFilter GROUP BY time($__interval), "path" fill(null)`,
  `SELECT mean("load1") AS "load1", mean("load5") AS "load5", mean("load15") AS "load15" FROM "system" WHERE "host" =~ /^$host$/ AND $timeFilter GROUP BY time($__interval), "host" fill(null)`,
  `SELECT last("uptime") FROM "system" WHERE "host" =~ /^$host$/ AND $timeFilter`,
  `SELECT last("n_cpus") FROM "system" WHERE "host" =~ /^$host$/ AND $timeFilter`,
  `SELECT non_negative_derivative(mean("bytes_recv"), 1s) * 8 AS "in", non_negative_derivative(mean("bytes_sent"), 1s) * 8 AS "out" FROM "net" WHERE "host" =~ /^$host$/ AND "interface" =~ /^$netif$/ AND $timeFilter GROUP BY time($__interval), "interface" fill(null)`,
  `SELECT non_negative_derivative(mean("packets_recv"), 1s) AS "in", non_negative_derivative(mean("packets_sent"), 1s) AS "out" FROM "net" WHERE "host" =~ /^$host$/ AND "interface" =~ /^$netif$/ AND $timeFilter GROUP BY time($__interval), "interface" fill(null)`,
  `SELECT non_negative_derivative(mean("err_in"), 1s) AS "err_in", non_negative_derivative(mean("drop_in"), 1s) AS "drop_in" FROM "net" WHERE "host" =~ /^$host$/ AND "interface" =~ /^$netif$/ AND $timeFilter GROUP BY time($__interval), "interface" fill(null)`,
  `SELECT non_negative_derivative(mean("tcp_inerrs"), 1s) AS "tcp_inerrs", non_negative_derivative(mean("udp_indatagrams"), 1s) AS "udp_in" FROM "net" WHERE "host" =~ /^$host$/ AND "interface" = 'all' AND $timeFilter GROUP BY time($__interval) fill(null)`,
];

// ---------------------------------------------------------------------------------------
// Grafana's interpolation of InfluxQL, as its InfluxDB data source does it

/** @grafana/data escapeRegex */
function regexEscape(v: string): string {
  return v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

/** A multi-value/"All" variable in a regex becomes (a|b|c); a single value is just escaped. */
function formatVar(values: string[]): string {
  return values.length === 1 ? regexEscape(values[0]!) : `(${values.map(regexEscape).join('|')})`;
}

function interpolate(query: string, vars: Record<string, string[]>): string {
  let q = query.replaceAll('$timeFilter', 'time >= now() - 1h').replaceAll('$__interval_ms', '60000').replaceAll('$__interval', '1m');
  for (const name of Object.keys(vars).sort((a, b) => b.length - a.length)) q = q.replaceAll(`$${name}`, formatVar(vars[name]!));
  const left = q.match(/\$\w+/g);
  if (left) throw new Error(`variables left in query: ${left.join(', ')}: ${q}`);
  return q;
}

interface RawResult {
  results?: { error?: string; series?: { columns: string[]; values: unknown[][] }[] }[];
}

/** Some value other than a time: GROUP BY time() buckets holding only nulls do not count. */
function hasData(result: RawResult): boolean {
  for (const r of result.results ?? []) {
    if (r.error) throw new Error(`InfluxDB: ${r.error}`);
    for (const s of r.series ?? []) {
      for (const v of s.values) if (v.some((x, i) => s.columns[i] !== 'time' && x !== null && x !== undefined)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Real targets for the real inputs

const started: { stop(): unknown }[] = [];
let p: Pipeline;
let snmpd: Snmpd | undefined;
const bySource = { real: new Set<string>(), synthetic: new Set<string>(), skipped: [] as string[] };

function listen(srv: Server | TcpServer): Promise<number> {
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)));
}

async function localTargets(): Promise<Record<string, Record<string, unknown>>> {
  const dir = mkdtempSync(join(tmpdir(), 'canh-dash-tls-'));
  started.push({ stop: () => rmSync(dir, { recursive: true, force: true }) });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '45',
      '-subj',
      '/CN=portal.test',
    ],
    {
      stdio: 'ignore',
    },
  );
  const page = (_req: unknown, res: { end(s: string): void }) => res.end('<html><body>Cổng thông tin điện tử</body></html>');
  const http = createHttpServer(page);
  const https = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, page);
  const tcp = createTcpServer((s) => s.end('220 smtp.test ESMTP\r\n'));
  const [httpPort, httpsPort, tcpPort] = [await listen(http), await listen(https), await listen(tcp)];
  for (const s of [http, https, tcp]) started.push({ stop: () => s.close() });
  try {
    // ifAlias of ifIndex 1 says "uplink": the Network dashboard finds uplinks by it.
    snmpd = await startSnmpd({ extraConfig: 'override .1.3.6.1.2.1.31.1.1.1.18.1 octet_str "uplink to provincial WAN"' });
    started.push(snmpd);
  } catch (err) {
    bySource.skipped.push(`snmp: snmpd did not start (${(err as Error).message.split('\n')[0]})`);
  }
  return {
    ping: { urls: ['127.0.0.1'], count: 3, ping_interval: '200ms', timeout: '1s', deadline: '3s' },
    http_response: { urls: [`http://127.0.0.1:${httpPort}/`, `https://127.0.0.1:${httpsPort}/`], insecure_skip_verify: true, response_status_code: 200 },
    net_response: { address: `127.0.0.1:${tcpPort}`, expect: '^220' },
    x509_cert: { sources: [`https://127.0.0.1:${httpsPort}`, join(dir, 'cert.pem')] },
    ...(snmpd ? { snmp: { agents: [{ host: '127.0.0.1', port: snmpd.port, community: snmpd.community, timeout: 1000 }] } } : {}),
  };
}

// ---------------------------------------------------------------------------------------
// Representative points for measurements no real input produced

const MIN = 60_000;
/** One point a minute over the last 15 minutes, so rates and derivatives have material. */
function series(name: string, tags: Record<string, string>, fields: (i: number) => Point['fields'], int: string[] = []): Point[] {
  const now = Date.now();
  return Array.from({ length: 16 }, (_, i) => ({ name, time: now - (15 - i) * MIN, tags, fields: fields(i), int }));
}

const FIXTURES: Record<string, () => Point[]> = {
  ping: () =>
    series(
      'ping',
      { url: 'portal.example.gov.vn' },
      (i) => ({
        packets_transmitted: 3,
        packets_received: 3,
        percent_packet_loss: i === 7 ? 33.3 : 0,
        average_response_ms: 12 + i,
        jitter_ms: 0.5,
        result_code: 0,
      }),
      ['packets_transmitted', 'packets_received', 'result_code'],
    ),
  http_response: () =>
    series(
      'http_response',
      { server: 'https://portal.example.gov.vn/', method: 'GET', status_code: '200', result: 'success' },
      (i) => ({
        response_time: 0.2 + i / 100,
        http_response_code: 200,
        result_code: i === 3 ? 4 : 0,
        result_type: 'success',
        content_length: 18211,
        tls_expiry_days: 57.3,
        tls_error: '',
      }),
      ['http_response_code', 'result_code', 'content_length'],
    ),
  net_response: () =>
    series(
      'net_response',
      { server: 'mail.example.gov.vn', port: '25', protocol: 'tcp', result: 'success' },
      () => ({ response_time: 0.004, result_code: 0, result_type: 'success' }),
      ['result_code'],
    ),
  x509_cert: () =>
    series(
      'x509_cert',
      { source: 'https://portal.example.gov.vn:443', common_name: 'portal.example.gov.vn' },
      () => ({ expiry: 12 * 86400, verification_code: 0, age: 300 * 86400 }),
      ['expiry', 'verification_code', 'age'],
    ),
  interface: () =>
    ['Gi0/1', 'Gi0/2'].flatMap((ifName, n) =>
      series(
        'interface',
        { agent_host: '10.10.0.1', device: 'sw-core', ifName, ifIndex: String(n + 1) },
        (i) => ({
          ifAlias: n === 0 ? 'uplink VNPT' : 'LAN phong ke toan',
          ifHCInOctets: 1e9 + i * 6e8,
          ifHCOutOctets: 5e8 + i * 1e8,
          in_bps: 8e7 + n * 1e6,
          out_bps: 1.3e7,
          in_utilization: 80 - n * 50,
          out_utilization: 13,
          ifInErrors: i * 2,
          ifOutErrors: 0,
          ifInDiscards: i,
          ifOutDiscards: 0,
          ifOperStatus: 1,
          ifAdminStatus: 1,
          ifHighSpeed: 100,
        }),
        ['ifHCInOctets', 'ifHCOutOctets', 'ifInErrors', 'ifOutErrors', 'ifInDiscards', 'ifOutDiscards', 'ifOperStatus', 'ifAdminStatus', 'ifHighSpeed'],
      ),
    ),
  snmp: () =>
    series(
      'snmp',
      { agent_host: '10.10.0.1', device: 'sw-core' },
      (i) => ({
        sysUpTime: 100000 + i * 6000,
        result: i === 4 ? 'timeout' : 'success',
        up: i === 4 ? 0 : 1,
        response_time_ms: 20 + i,
        last_success: Date.now() - (15 - i) * MIN,
      }),
      ['sysUpTime', 'up', 'response_time_ms', 'last_success'],
    ),
  alert: (): Point[] => {
    const now = Date.now();
    return [
      {
        name: 'alert',
        time: now - 20 * MIN,
        tags: { rule: 'disk_full', severity: 'high' },
        fields: { state: 'firing', value: 93.5, summary: 'Disk / is 93.5 % full' },
      },
      {
        name: 'alert',
        time: now - 5 * MIN,
        tags: { rule: 'disk_full', severity: 'high' },
        fields: { state: 'resolved', value: 71, summary: 'Disk / is back to 71 %' },
      },
      {
        name: 'alert',
        time: now - 3 * MIN,
        tags: { rule: 'portal_down', severity: 'critical', url: 'https://portal.example.gov.vn/' },
        fields: { state: 'firing', value: 0, summary: 'https://portal.example.gov.vn/ does not answer' },
      },
      // Alert points carry their instance's labels: two instances of one rule, one resolved.
      {
        name: 'alert',
        time: now - 4 * MIN,
        tags: { rule: 'service_unreachable', severity: 'medium', server: 'mail.example.gov.vn', port: '25' },
        fields: { state: 'firing', value: 2, summary: 'Cannot connect to mail.example.gov.vn:25' },
      },
      {
        name: 'alert',
        time: now - 4 * MIN,
        tags: { rule: 'service_unreachable', severity: 'medium', server: 'mail.example.gov.vn', port: '465' },
        fields: { state: 'firing', value: 2, summary: 'Cannot connect to mail.example.gov.vn:465' },
      },
      {
        name: 'alert',
        time: now - 2 * MIN,
        tags: { rule: 'service_unreachable', severity: 'medium', server: 'mail.example.gov.vn', port: '25' },
        fields: { state: 'resolved', value: 0, summary: 'mail.example.gov.vn:25 answers again' },
      },
    ];
  },
};

/** Security events per dashboard panel; sent when no real detector produced that type. */
const EVENT_FIXTURES: { check: string; events: () => SecurityEventInput[] }[] = [
  {
    check: `"type" = 'brute_force'`,
    events: () => [
      {
        time: Date.now() - 9 * MIN,
        detector: 'auth_log',
        type: 'brute_force',
        severity: 'high',
        mitre: 'T1110.001',
        count: 42,
        message: 'Brute-force attack: 42 failed logins from 203.0.113.7 within 10m for root, admin',
        evidence: { src_ip: '203.0.113.7', users: 'root, admin', user_count: 2 },
      },
      {
        time: Date.now() - 4 * MIN,
        detector: 'auth_log',
        type: 'brute_force',
        severity: 'high',
        mitre: 'T1110.003',
        count: 17,
        message: 'Brute-force attack: 17 failed logins from 198.51.100.23 within 10m for 9 users (password spraying: many users)',
        evidence: { src_ip: '198.51.100.23', users: 'a, b, c', user_count: 9 },
      },
    ],
  },
  {
    check: `"detector" = 'file_integrity' AND "type" != 'possible_defacement'`,
    events: () => [
      {
        time: Date.now() - 7 * MIN,
        detector: 'file_integrity',
        type: 'file_modified',
        severity: 'high',
        mitre: 'T1098.004',
        message: '/root/.ssh/authorized_keys modified',
        evidence: { path: '/root/.ssh/authorized_keys', change: 'modified' },
      },
    ],
  },
  {
    check: `"type" = 'possible_defacement'`,
    events: () => [
      {
        time: Date.now() - 6 * MIN,
        detector: 'file_integrity',
        type: 'possible_defacement',
        severity: 'critical',
        mitre: 'T1491.002',
        message: '/var/www/html/index.html modified',
        evidence: { path: '/var/www/html/index.html', change: 'modified' },
      },
    ],
  },
  {
    check: `"type" = 'new_listening_port'`,
    events: () => [
      {
        time: Date.now() - 5 * MIN,
        detector: 'listening_ports',
        type: 'new_listening_port',
        severity: 'high',
        mitre: 'T1571',
        message: 'new TCP listener on 0.0.0.0:4444 by nc (pid 4242)',
        evidence: { proto: 'tcp', address: '0.0.0.0', port: 4444, process: 'nc', exposed: true },
      },
    ],
  },
  {
    check: `"type" = 'host_reboot'`,
    events: () => {
      const boot = Math.floor((Date.now() - 11 * MIN) / 1000);
      return [
        {
          time: boot * 1000,
          detector: 'reboot',
          type: 'host_reboot',
          severity: 'medium',
          message: `booted at ${new Date(boot * 1000).toISOString()}: check whether the reboot was planned`,
          evidence: { previous_boot_time: boot - 7 * 86400, boot_time: boot },
        },
      ];
    },
  },
  {
    check: `"detector" = 'lan_devices'`,
    events: () => [
      {
        time: Date.now() - 8 * MIN,
        detector: 'lan_devices',
        type: 'new_lan_device',
        severity: 'medium',
        message: 'new device 192.168.1.77 (aa:bb:cc:00:11:22) on the LAN',
        evidence: { ip: '192.168.1.77', mac: 'aa:bb:cc:00:11:22' },
      },
      {
        time: Date.now() - 2 * MIN,
        detector: 'lan_devices',
        type: 'arp_spoofing',
        severity: 'critical',
        mitre: 'T1557.002',
        message: 'gateway 192.168.1.1 now answered by aa:bb:cc:00:11:22',
        evidence: { ip: '192.168.1.1', mac: 'aa:bb:cc:00:11:22' },
      },
    ],
  },
];

/** A raw protocol client: token, hello, one batch, wait for its ack. */
async function sendThroughCollector(name: string, agency: string, site: string, points: Point[], events: SecurityEventInput[]): Promise<void> {
  const { token } = p.collector.registry.add({ name, agency, site });
  const ws = new WebSocket(p.url, { headers: { authorization: `Bearer ${token}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(
        encode({ type: 'hello', protocol: PROTOCOL_VERSION, agent_version: '0.1.0-fixture', hostname: name, os: 'linux', spool_batches: 0, dropped_points: 0 }),
      );
      ws.once('message', () => {
        ws.on('message', (data) => {
          const msg = JSON.parse(String(data)) as { type: string; seq?: number; message?: string };
          if (msg.type === 'ack' && msg.seq === 1) resolve();
          else reject(new Error(`collector answered ${String(data)}`));
        });
        ws.send(encode({ type: 'batch', seq: 1, points, events: events as never }));
      });
    });
    ws.once('close', (code, reason) => reject(new Error(`collector closed the fixture connection: ${code} ${String(reason)}`)));
  });
  ws.removeAllListeners('close');
  ws.close();
}

// ---------------------------------------------------------------------------------------

/** Values of each dashboard variable, resolved in order through their own queries. */
const values: Record<string, string[]> = {};
/** The (agency, site, host) of each agent that wrote data. */
let identities: { agency: string; site: string; host: string }[] = [];

async function run(q: string): Promise<Row[]> {
  return p.query(q);
}

async function runRaw(q: string): Promise<RawResult> {
  return (await p.collector.writer.query(q, p.database)) as RawResult;
}

beforeAll(async () => {
  p = await startPipeline();
  const targets = await localTargets();

  // Every input of the agent, configured for the local targets.
  const configured: Record<string, unknown>[] = [];
  for (const def of inputDefs) {
    // The net input's protocol counters are off by default (as in current Telegraf); the
    // community dashboards' TCP/UDP panels need them asked for.
    const opts = def.name === 'net' ? { ignore_protocol_stats: false, ...targets.net } : (targets[def.name] ?? {});
    if (def.name === 'snmp' && !targets.snmp) continue;
    const parsed = def.config.strict().safeParse(opts);
    if (!parsed.success) {
      bySource.skipped.push(`${def.name}: no test config (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
      continue;
    }
    if (/_trap$/.test(def.name)) {
      bySource.skipped.push(`${def.name}: listens for traps, writes nothing the dashboards read`);
      continue;
    }
    configured.push({ type: def.name, ...opts });
  }
  // Real detectors where the test can provoke them.
  const fim = mkdtempSync(join(tmpdir(), 'canh-dash-fim-'));
  started.push({ stop: () => rmSync(fim, { recursive: true, force: true }) });
  for (const d of ['etc/sudoers.d', 'www']) mkdirSync(join(fim, d), { recursive: true });
  writeFileSync(join(fim, 'etc/sudoers.d/ops'), 'ops ALL=(ALL) ALL\n');
  writeFileSync(join(fim, 'www/index.html'), '<h1>Cổng thông tin</h1>\n');
  writeFileSync(join(fim, 'access.log'), '');
  const detectorConfigs: Record<string, Record<string, unknown>> = {
    file_integrity: { paths: [join(fim, 'etc')], web_roots: [join(fim, 'www')], debounce: '100ms', scan_interval: '2s' },
    listening_ports: { grace_intervals: 0, protocols: ['tcp'] },
    web_access: { paths: [join(fim, 'access.log')], poll_interval: '100ms' },
  };
  const detectors: Record<string, unknown>[] = [];
  for (const def of detectorDefs) {
    const opts = detectorConfigs[def.name];
    if (!opts) continue;
    const parsed = def.config.strict().safeParse(opts);
    if (parsed.success) detectors.push({ type: def.name, ...opts });
    else bySource.skipped.push(`${def.name}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  await p.addAgent({ name: 'mc-portal-01', agency: 'so-tttt', site: 'dc-tinh', inputs: configured, detectors });
  // A second agency's host with the default host inputs, so "All" really means several.
  await p.addAgent({
    name: 'ubnd-fs-02.ubnd.local',
    agency: 'ubnd-tinh',
    site: 'tru-so',
    inputs: configured.filter((c) => ['cpu', 'mem', 'disk', 'system', 'net'].includes(String(c.type))),
  });

  // Let every input gather a few times (rates need a previous sample).
  const firstSeen = (await p.waitFor(`SELECT first("usage_idle") FROM "cpu"`, (r) => r.length > 0, 30_000))[0]!.time as number;
  await new Promise((r) => setTimeout(r, 4_000));
  // Baselines are taken: now change what the detectors watch.
  writeFileSync(join(fim, 'etc/sudoers.d/backdoor'), 'evil ALL=(ALL) NOPASSWD: ALL\n');
  writeFileSync(join(fim, 'www/index.html'), '<h1>Hacked by nobody</h1>\n');
  // A scanner's requests in the portal's access log (combined format, as nginx writes it).
  const clf = new Date().toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1/$2/$3:$4 +0000');
  writeFileSync(
    join(fim, 'access.log'),
    ['/.env', '/.git/config', '/backup.sql', '/.htpasswd', '/wp-config.php.bak']
      .map((p) => `203.0.113.44 - - [${clf}] "GET ${p} HTTP/1.1" 404 153 "-" "Go-http-client/1.1"\n`)
      .join(''),
    { flag: 'a' },
  );
  const backdoor = createTcpServer((sock) => sock.end());
  await listen(backdoor);
  started.push({ stop: () => backdoor.close() });
  if (detectors.length > 0) {
    await p
      .waitFor(`SELECT count("message") FROM "security_event" GROUP BY "detector"`, (r) => r.length >= detectors.length, 15_000)
      .catch((err: Error) => bySource.skipped.push(`detectors did not report in time: ${err.message.split('\n')[0]}`));
  }

  const present = new Set((await run('SHOW MEASUREMENTS')).map((r) => String(r.name)));
  for (const m of present) bySource.real.add(m);
  const points = Object.entries(FIXTURES).flatMap(([m, make]) => (present.has(m) ? [] : (bySource.synthetic.add(m), make())));
  // The NOC's uplink tiles read ping targets tagged role=uplink: a tag the test's own ping
  // input (127.0.0.1) does not carry.
  points.push(
    ...series(
      'ping',
      { url: '203.113.0.1', role: 'uplink', target_agency: 'so-tttt' },
      (i) => ({ packets_transmitted: 3, packets_received: i === 15 ? 0 : 3, percent_packet_loss: i === 15 ? 100 : 0, result_code: i === 15 ? 2 : 0 }),
      ['packets_transmitted', 'packets_received', 'result_code'],
    ),
  );
  bySource.synthetic.add('ping where "role" = \'uplink\'');
  const events: SecurityEventInput[] = [];
  for (const f of EVENT_FIXTURES) {
    const seen = await run(`SELECT count("message") FROM "security_event" WHERE ${f.check}`);
    if (seen.length === 0) {
      events.push(...f.events());
      bySource.synthetic.add(`security_event where ${f.check}`);
    } else bySource.real.add(`security_event where ${f.check}`);
  }
  await sendThroughCollector('so-noi-vu-gw', 'so-noi-vu', 'tru-so', points, events);

  // Derivatives over GROUP BY time(1m) need real data in two minute buckets.
  const secondBucket = Math.ceil((firstSeen + 1) / MIN) * MIN + 5_000;
  if (Date.now() < secondBucket) await new Promise((r) => setTimeout(r, secondBucket - Date.now()));

  // The hidden policy variables ($rp, $events_rp: dashboards/src/panels.ts policyVariables) as
  // Grafana resolves them for "last 1 hour"; test/storage.test.ts covers longer ranges.
  for (const name of ['rp', 'events_rp']) {
    const q = variableQueries.get(name)!;
    values[name] = await pollUntil(
      async () => {
        const rows = await run(q.replaceAll('${__from}', String(Date.now() - 3_600_000)));
        return rows.length ? rows.map((r) => String(r.first)) : undefined;
      },
      { timeoutMs: 60_000, what: `$${name} to name a policy (the collector writes rp_select at start)` },
    );
  }
  for (const name of VARIABLE_ORDER) {
    const q = variableQueries.get(name);
    if (!q) continue;
    values[name] = (await run(interpolate(q, values))).map((r) => String(r.value)).sort();
  }
  identities = (await run(`SELECT last("online") FROM "agent" GROUP BY "agency", "site", "host"`)).map((r) => ({
    agency: String(r.agency),
    site: String(r.site),
    host: String(r.host),
  }));
  console.log(
    `[dashboards] measurements from real inputs: ${[...bySource.real].sort().join(', ')}\n` +
      `[dashboards] written as representative points through the collector: ${[...bySource.synthetic].join(', ') || 'none'}\n` +
      (bySource.skipped.length ? `[dashboards] inputs not run: ${bySource.skipped.join('; ')}\n` : ''),
  );
}, 180_000);

afterAll(async () => {
  await p?.stop();
  for (const s of started.reverse()) await s.stop();
});

describe('dashboard variables', () => {
  for (const name of VARIABLE_ORDER) {
    it(`$${name} lists values`, () => {
      if (!variableQueries.has(name)) throw new Error(`no dashboard has $${name}`);
      expect(values[name]?.length).toBeGreaterThan(0);
    });
  }
  it('$agency and $host list every agent, the raw protocol client included', () => {
    expect(values.agency).toEqual(['so-noi-vu', 'so-tttt', 'ubnd-tinh']);
    expect(values.host).toEqual(expect.arrayContaining(['mc-portal-01', 'ubnd-fs-02.ubnd.local', 'so-noi-vu-gw']));
  });
});

describe('every dashboard query returns data from the pipeline', () => {
  it('the check can fail: a query for a field nobody writes finds nothing', async () => {
    expect(hasData(await runRaw(interpolate(`SELECT mean("no_such_field") FROM "cpu" WHERE $timeFilter GROUP BY time($__interval) fill(null)`, values)))).toBe(
      false,
    );
    expect(
      hasData(await runRaw(interpolate(`SELECT last("used_percent") FROM "disk" WHERE "host" =~ /^$host$/ AND $timeFilter`, { host: ['no-such-host'] }))),
    ).toBe(false);
  });

  for (const c of uniqueCases) {
    it(`${c.where}`, async () => {
      // With every variable on "All", as the dashboards open.
      const all = await runRaw(interpolate(c.query, values));
      expect(hasData(all), `no data for: ${interpolate(c.query, values)}`).toBe(true);
      // With one concrete agency, site and host picked (escaped as Grafana does): some agent has data.
      let found = false;
      for (const id of identities) {
        const one = { ...values, agency: [id.agency], site: [id.site], host: [id.host] };
        if (hasData(await runRaw(interpolate(c.query, one)))) {
          found = true;
          break;
        }
      }
      expect(found, `no single agency/site/host finds data for: ${c.query}`).toBe(true);
    });
  }
});

describe('community Telegraf dashboard queries find Canh’s data', () => {
  const vars: Record<string, string[]> = {};
  beforeAll(async () => {
    for (const [name, q] of Object.entries(COMMUNITY_VARS)) {
      const v = (await run(interpolate(q, vars))).map((r) => String(r.value));
      // Telegraf dashboards usually start on the first host, mount point, interface.
      vars[name] = name === 'host' ? ['mc-portal-01'] : v.slice(0, name === 'cpu' ? undefined : 1);
      expect(v.length, `${name}: ${q}`).toBeGreaterThan(0);
    }
  });

  it('cpu, mem, disk, system and net came from Canh’s real inputs, not from fixtures', () => {
    for (const m of ['cpu', 'mem', 'disk', 'system', 'net']) expect(bySource.real.has(m), m).toBe(true);
  });

  for (const q of COMMUNITY) {
    it(q.slice(0, 110), async () => {
      const rows = await runRaw(interpolate(q, vars));
      expect(hasData(rows), interpolate(q, vars)).toBe(true);
    });
  }
});

describe('panels that must tell one thing from another', () => {
  const panelQuery = (uid: string, title: string, refId = 'A') => {
    const c = panelCases.find((x) => x.where === `${uid} "${title}" ${refId}`);
    if (!c) throw new Error(`no panel ${uid} "${title}"`);
    return c.query;
  };
  const vars = (host: string, extra: Record<string, string[]> = {}) => ({ ...values, agency: ['so-noi-vu'], site: ['tru-so'], host: [host], ...extra });

  it('"Latest web check" has one row per check (its last result), not one per result it ever had', async () => {
    const server = 'https://cong.example.gov.vn/';
    const now = Date.now();
    await sendThroughCollector(
      'web-probe',
      'so-noi-vu',
      'tru-so',
      [
        {
          name: 'http_response',
          time: now - 10 * MIN,
          tags: { server, method: 'GET', result: 'timeout' },
          fields: { result_code: 4, result_type: 'timeout' },
          int: ['result_code'],
        },
        {
          name: 'http_response',
          time: now - MIN,
          tags: { server, method: 'GET', status_code: '200', result: 'success' },
          fields: { result_code: 0, result_type: 'success', http_response_code: 200, response_time: 0.05 },
          int: ['result_code', 'http_response_code'],
        },
      ],
      [],
    );
    const rows = await run(interpolate(panelQuery('canh-uptime-en', 'Latest web check'), vars('web-probe')));
    const mine = rows.filter((r) => r.server === server);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ result_code: 0, http_response_code: 200 });
  });

  it("a device's row says it is down when its last poll failed, and when it last answered", async () => {
    const now = Date.now();
    const snmp = (at: number, up: number, lastOk: number): Point => ({
      name: 'snmp',
      time: at,
      tags: { agent_host: '10.20.0.1', device: 'sw-tang-3' },
      fields: { up, result: up ? 'success' : 'timeout', result_code: up ? 0 : 1, response_time_ms: up ? 12 : 5000, last_success: lastOk },
      int: ['up', 'result_code', 'response_time_ms', 'last_success'],
    });
    await sendThroughCollector(
      'lan-gw-sw3',
      'so-noi-vu',
      'tru-so',
      [snmp(now - 3 * MIN, 1, now - 3 * MIN), snmp(now - 2 * MIN, 0, now - 3 * MIN), snmp(now - MIN, 0, now - 3 * MIN)],
      [],
    );
    const v = vars('lan-gw-sw3', { device: ['sw-tang-3'] });
    const status = await run(interpolate(panelQuery('canh-network-en', 'SNMP status'), v));
    expect(status.map((r) => r.last)).toEqual([0]);
    const last = await run(interpolate(panelQuery('canh-network-en', 'Last successful poll'), v));
    expect(last.map((r) => r.last)).toEqual([now - 3 * MIN]);
    const failed = await run(interpolate(panelQuery('canh-network-en', 'SNMP response time', 'B'), v));
    expect(failed.reduce((s, r) => s + Number(r.failed ?? 0), 0)).toBe(2);
  });
});
