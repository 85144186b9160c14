// A Windows host on the dashboards, end to end on this Linux machine: an agent runs its
// host inputs' Windows code path (platform "win32"), reading performance counters from a
// stand-in for typeperf that replays composed typeperf output through the same
// child-process interface (test/helpers/typeperf-replay.ts, the only fake; it also stands
// in for the one PowerShell run that reads the counter names). The points go through the real
// collector into a real InfluxDB under the Linux measurement and field names, and every
// query of the generated Host dashboard (dashboards/generated/en/host.json) is run for that
// host. What it cannot show: that real typeperf and PowerShell behave like their stand-ins
// (docs/operating/install-windows.md says what was and was not run on Windows).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseConfig } from '../agent/src/config.ts';
import { runCheck } from '../agent/src/check.ts';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';

const root = join(import.meta.dirname, '..');
const testdata = join(root, 'agent/src/inputs/perf-counters/testdata');
const HOST = 'win-eoffice';
const HOST_INPUTS = ['cpu', 'mem', 'swap', 'disk', 'diskio', 'net', 'system', 'processes'];

interface Panel {
  title: string;
  type: string;
  targets?: { query: string }[];
  panels?: Panel[];
}

function hostQueries(): { title: string; query: string }[] {
  const d = JSON.parse(readFileSync(join(root, 'dashboards/generated/en/host.json'), 'utf8')) as { panels: Panel[] };
  const panels = d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
  return panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, query: t.query })));
}

/** Grafana's interpolation, for one host of one agency and site. */
function interpolate(q: string): string {
  return (
    q
      .replaceAll('$timeFilter', 'time >= now() - 1h')
      // The hidden policy variables, as Grafana resolves them for "last 1 hour": the raw
      // (default) policy; test/dashboards.test.ts resolves them through their own queries.
      .replaceAll('$events_rp', 'autogen')
      .replaceAll('$rp', 'autogen')
      .replaceAll('$__interval', '1s')
      .replaceAll('$agency', 'win-agency')
      .replaceAll('$site', 'win-site')
      .replaceAll('$host', HOST)
  );
}

describe('a Windows host through the real pipeline', () => {
  let p: Pipeline;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-windows-'));
    const typeperf = join(dir, 'typeperf');
    const powershell = join(dir, 'powershell');
    writeFileSync(
      typeperf,
      `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'test/helpers/typeperf-replay.ts')}" "${join(testdata, 'composed-server-en.csv')}" "$@"\n`,
    );
    writeFileSync(
      powershell,
      `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'test/helpers/typeperf-replay.ts')}" --names "${join(testdata, 'composed-names-en-US.txt')}" "$@"\n`,
    );
    chmodSync(typeperf, 0o755);
    chmodSync(powershell, 0o755);
    p = await startPipeline();
    await p.addAgent({
      name: HOST,
      agency: 'win-agency',
      site: 'win-site',
      platform: 'win32',
      inputs: HOST_INPUTS.map((type) => ({ type })),
      agent: { interval: '1s', round_interval: false, windows_counters: { typeperf, powershell, refresh_interval: 0 } },
    });
  }, 60_000);

  afterAll(async () => {
    await p?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes every host measurement under the Linux names, tagged with the host', async () => {
    for (const m of HOST_INPUTS) await p.waitFor(`SELECT * FROM "${m}" WHERE "host" = '${HOST}'`, (rows) => rows.length > 0, 30_000);
    const cpu = await p.query(`SELECT last("usage_idle") AS "idle", last("usage_user") AS "usr" FROM "cpu" WHERE "host" = '${HOST}' AND "cpu" = 'cpu-total'`);
    expect(cpu[0]!.idle).toBeGreaterThan(60);
    // Rates need two samples of an adapter: wait for them.
    const net = await p.waitFor(
      `SELECT last("bytes_recv_rate") AS rate, last("bytes_recv") AS total FROM "net" WHERE "host" = '${HOST}' GROUP BY "interface"`,
      (rows) => rows.some((r) => typeof r.rate === 'number'),
      30_000,
    );
    const interfaces = net.map((r) => r.interface);
    expect(interfaces).toContain('Intel[R] 82574L Gigabit Network Connection');
    expect(interfaces.some((i) => /isatap|Teredo|Hyper-V Virtual/.test(String(i)))).toBe(false);
    const disk = await p.query(`SELECT last("used_percent") AS used FROM "disk" WHERE "host" = '${HOST}' GROUP BY "path"`);
    expect(disk.map((r) => r.path).sort()).toEqual(['C:', 'D:']);
    // Fields with no Windows meaning are absent, not zero.
    const iowait = await p.query(`SELECT count("usage_iowait") FROM "cpu" WHERE "host" = '${HOST}'`);
    expect(iowait).toEqual([]);
    const agentPoint = await p.waitFor(`SELECT last("counter_source_restarts") AS r FROM "agent" WHERE "host" = '${HOST}'`, (rows) => rows.length > 0, 30_000);
    expect(agentPoint[0]!.r).toBe(0);
  }, 90_000);

  it("answers the Host dashboard's queries for that host", async () => {
    // The host's second net gather carries the rates the traffic panels read.
    await p.waitFor(`SELECT count("err_in_rate") FROM "net" WHERE "host" = '${HOST}'`, (rows) => rows.length > 0, 30_000);
    const empty: string[] = [];
    const answered: string[] = [];
    for (const { title, query } of hostQueries()) {
      const rows = await p.query(interpolate(query));
      const hasData = rows.some((r) => Object.entries(r).some(([k, v]) => k !== 'time' && typeof v === 'number'));
      (hasData ? answered : empty).push(title);
    }
    console.log(`Host dashboard for a Windows host: data in ${answered.length} queries; none in: ${empty.join(', ') || '-'}`);
    // Reboots come from the reboot input, which reads Linux's boot id: no Windows code path.
    expect(empty).toEqual(['Reboots']);
  }, 60_000);

  it('leaves the Network dashboard to SNMP: none of its queries reads a host measurement', () => {
    const d = JSON.parse(readFileSync(join(root, 'dashboards/generated/en/network.json'), 'utf8')) as { panels: Panel[] };
    const queries = d.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p])).flatMap((p) => (p.targets ?? []).map((t) => t.query));
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) expect(q).not.toMatch(new RegExp(`FROM "(${HOST_INPUTS.join('|')})"`));
  });

  it('`canh-agent check` prints the Windows host inputs in line protocol', async () => {
    const cfg = parseConfig(
      {
        collector: { url: 'ws://127.0.0.1:9/v1/agent', token: 't' },
        agent: { hostname: HOST, state_dir: join(dir, 'check'), windows_counters: { typeperf: join(dir, 'typeperf'), powershell: join(dir, 'powershell') } },
      },
      { env: {}, platform: 'win32' },
    );
    // No inputs listed: Windows's defaults, the eight host inputs (not kernel, which is Linux's).
    expect(cfg.inputs.map((e) => e.type).sort()).toEqual([...HOST_INPUTS].sort());
    const out: string[] = [];
    const errors = await runCheck(cfg, pino({ level: 'silent' }), (l) => out.push(l), { platform: 'win32', secondPassMs: 0 });
    expect(errors).toBe(0);
    for (const m of HOST_INPUTS)
      expect(
        out.some((l) => l.startsWith(`${m},`) || l.startsWith(`${m} `)),
        m,
      ).toBe(true);
    expect(out.find((l) => l.startsWith('net,'))).toMatch(/bytes_recv_rate=/);
  }, 120_000);

  it('`canh-agent check` without a working typeperf says so for every input, with its code, and does not hang', async () => {
    const cfg = parseConfig(
      {
        collector: { url: 'ws://127.0.0.1:9/v1/agent', token: 't' },
        agent: {
          hostname: HOST,
          state_dir: join(dir, 'check2'),
          windows_counters: { typeperf: join(dir, 'no-such-typeperf'), powershell: join(dir, 'powershell') },
        },
      },
      { env: {}, platform: 'win32' },
    );
    const out: string[] = [];
    const errors = await runCheck(cfg, pino({ level: 'silent' }), (l) => out.push(l), { platform: 'win32', secondPassMs: 0 });
    expect(errors).toBe(HOST_INPUTS.length);
    expect(out.filter((l) => /^# \w+: error: typeperf printed no sample/.test(l))).toHaveLength(HOST_INPUTS.length);
  }, 120_000);
});
