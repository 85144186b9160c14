// The CLI's commands that change state — config rollback and delete, maintenance
// add/list/remove, alert list/ack — run the same way on both backends: SQLite in
// state_dir (one collector) and a real PostgreSQL (`state.postgres`, test/helpers/postgres.ts).
// One parametrised suite, the same expectations for both, each through a running
// collector: a rollback and a delete reach a connected agent as config pushes, a window
// added by the CLI holds back the running engine's mail (and removed, lets it go), a
// silence reaches the engine, and an acknowledgement made by the CLI is recorded by the
// running engine.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { CanhError } from '@canh/core';
import { main } from '../collector/src/cli.ts';
import { maintenanceCommand } from '../collector/src/commands/maintenance.ts';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';
import { startPostgres, type Postgres } from './helpers/postgres.ts';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp.ts';
import { batch, disk, hanoi, harness, hue, MIN, smtpSection, type Harness } from '../collector/src/alerts/test-kit.ts';
import { PgState } from '../collector/src/state/postgres.ts';
import { PgAlertStore } from '../collector/src/state/pg-alert-store.ts';
import type { AlertStore } from '../collector/src/alerts/store.ts';
import { alertingView } from '../collector/src/status/alerting.ts';
import { renderStatus } from '../collector/src/status/render.ts';

const TZ = 'Asia/Ho_Chi_Minh';
let pgServer: Postgres | undefined;
let smtp: TestSmtpServer;
let dbCount = 0;
const dir = mkdtempSync(join(tmpdir(), 'canh-cli-backends-'));

beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(async () => {
  await smtp?.stop();
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** main() with standard output and error captured. */
function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return capture(() => main(args));
}

/** A command with standard output and error captured, a CanhError answered as main() does (exit 2). */
async function capture(command: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [w1, w2] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => out.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(String(s)) > 0) as typeof process.stderr.write;
  try {
    let code: number;
    try {
      code = await command();
    } catch (e) {
      if (!(e instanceof CanhError)) throw e;
      err.push(`canh-collector: ${e.message}\n(${e.code})\n`);
      code = 2;
    }
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

type Backend = 'sqlite' | 'postgres';

/** The `state:` section of a backend: none for SQLite, a fresh database for PostgreSQL. */
async function stateSection(backend: Backend): Promise<Record<string, unknown>> {
  if (backend === 'sqlite') return {};
  pgServer ??= await startPostgres();
  const url = await pgServer.createDatabase(`cli_${++dbCount}_${process.pid}`);
  return { state: { postgres: { url, password_file: pgServer.passwordFile } } };
}

describe.each<Backend>(['sqlite', 'postgres'])('state commands of the CLI on %s', (backend) => {
  let p: Pipeline | undefined;
  let h: Harness | undefined;
  let leader: PgState | undefined;
  afterEach(async () => {
    await p?.stop();
    await h?.stop();
    await leader?.stop();
    p = h = leader = undefined;
    smtp.mails.length = 0;
  });

  /** A running engine (hand-driven clock) on this backend's state, and a CLI config file naming the same state. */
  async function engineAndCli(alerting: Record<string, unknown>, start: number): Promise<{ h: Harness; file: string }> {
    const state = await stateSection(backend);
    let store: AlertStore | undefined;
    if (backend === 'postgres') {
      const pgc = (state.state as { postgres: { url: string } }).postgres;
      leader = await PgState.open({ url: pgc.url, password: pgServer!.password, log: pino({ level: 'silent' }), leaderPollMs: 100 });
      leader.start();
      await until(() => leader!.isLeader, 'the leader lock');
      store = await PgAlertStore.load(leader);
    }
    h = harness(alerting, { start, store });
    const file = join(h.dir, 'collector.yaml');
    writeFileSync(file, stringify({ state_dir: h.dir, alerting: { timezone: TZ }, ...state }));
    return { h, file };
  }

  it('config rollback and delete: new versions, pushed to the connected agent', async () => {
    p = await startPipeline({ collector: await stateSection(backend) });
    const agent = await p.addAgent({ name: 'ubnd-01', agency: 'ubnd', site: 'tru-so', inputs: [{ type: 'mem' }] });
    await p.collector.pg?.state.flush(); // the CLI reads the registry from PostgreSQL
    const file = join(dir, `collector-${backend}.yaml`);
    writeFileSync(file, stringify({ state_dir: p.config.state_dir, ...(backend === 'postgres' ? { state: p.config.state } : {}) }));
    const cli = (...args: string[]) => run([...args, '--config', file]);
    const version = (out: string) => Number(/^Đã lưu cấu hình phiên bản (\d+) /.exec(out)?.[1] ?? /\(phiên bản (\d+)\)/.exec(out)?.[1]);
    const push = async (interval: string) => {
      writeFileSync(join(dir, 'c.yaml'), `agent: { interval: ${interval} }\ninputs:\n  - type: mem\n`);
      const r = await cli('config', 'push', '--file', join(dir, 'c.yaml'), '--agency', 'ubnd', '--author', 'an');
      expect(r.code, r.err).toBe(0);
      return version(r.out);
    };
    const running = async (v: number) => until(() => agent.agent.configVersion === v, `the agent to run version ${v}`);
    const assigned = async () => JSON.parse((await cli('config', 'show', '--agent', 'ubnd-01', '--json')).out) as { assigned: number; config: unknown }[];

    const v1 = await push('10s');
    const v2 = await push('5s');
    expect(v2).toBeGreaterThan(v1);
    await running(v2);

    // Back one version for the agency: v1's document as a new version, sent to the agent.
    const back = await cli('config', 'rollback', '--agency', 'ubnd');
    expect(back.out).toMatch(new RegExp(`^Đã lưu cấu hình phiên bản \\d+ cho cơ quan ubnd \\(rollback to version ${v1}\\)`));
    const v3 = version(back.out);
    expect(v3).toBeGreaterThan(v2);
    await running(v3);
    expect((await assigned())[0]).toMatchObject({ assigned: v3, config: { agent: { interval: '10s' } } });

    // By number: v2 again.
    const byNumber = await cli('config', 'rollback', String(v2), '--comment', 'lại 5s');
    expect(byNumber.out).toMatch(/^Đã lưu cấu hình phiên bản \d+ cho cơ quan ubnd \(lại 5s\)/);
    const v4 = version(byNumber.out);
    await running(v4);
    expect((await assigned())[0]).toMatchObject({ assigned: v4, config: { agent: { interval: '5s' } } });

    // Delete: a tombstone version; the agent is sent an empty central config.
    const del = await cli('config', 'delete', '--agency', 'ubnd');
    expect(del.out).toMatch(/^Đã xoá cấu hình tập trung của cơ quan ubnd \(phiên bản \d+\)/);
    const v5 = version(del.out);
    await running(v5);
    expect((await cli('config', 'history')).out).toMatch(new RegExp(`\\n${v5} \\(đã xoá\\)\\tcơ quan\\tubnd\\t`));

    // Mistakes: coded, exit 2, the same on both backends.
    for (const [args, code] of [
      [['config', 'delete', '--agency', 'ubnd'], 'CANH_ERR_CENTRAL_NOT_FOUND'],
      [['config', 'rollback', String(v5)], 'CANH_ERR_CENTRAL_NOT_FOUND'],
      [['config', 'rollback', '999999'], 'CANH_ERR_CENTRAL_NOT_FOUND'],
      [['config', 'rollback', 'latest'], 'CANH_ERR_CLI_USAGE'],
      [['config', 'delete', '--agent', 'no-such'], 'CANH_ERR_REGISTRY_NOT_FOUND'],
    ] as [string[], string][]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toContain(`(${code})`);
    }
    expect(agent.agent.configVersion).toBe(v5);
    // Back one version after a delete: the deleted scope's last document returns.
    const undo = await cli('config', 'rollback', '--agency', 'ubnd');
    expect(undo.out).toMatch(new RegExp(`^Đã lưu cấu hình phiên bản \\d+ cho cơ quan ubnd \\(rollback to version ${v4}\\)`));
    await running(version(undo.out));
  }, 120_000);

  it('maintenance add, list and remove: the running engine holds back mail inside the window, and sends it once removed', async () => {
    const { h, file } = await engineAndCli(
      {
        recipients: [{ email: 'soc@tinh.gov.vn', language: 'vi', min_severity: 'low' }],
        smtp: smtpSection(smtp),
        grouping: { group_wait: '30s', group_interval: '2m' },
      },
      Date.parse('2026-12-07T21:50:00+07:00'),
    );
    // The command itself, for the engine's clock (main() takes the wall clock).
    const cli = (...args: string[]) => capture(() => maintenanceCommand([...args, '--config', file], { now: h.now }));
    const add = await cli(
      'add',
      '--name',
      'thay UPS',
      '--agency',
      'so-tttt',
      '--from',
      '07/12/2026 22:00',
      '--until',
      '08/12/2026 02:00',
      '--comment',
      'phiếu 12',
      '--author',
      'Trần Thị Bình',
      '--json',
    );
    expect(add.code, add.err).toBe(0);
    const w = JSON.parse(add.out) as { id: string; when: string };
    expect(w.when).toBe('2026-12-07 22:00 (Asia/Ho_Chi_Minh) – 2026-12-08 02:00 (Asia/Ho_Chi_Minh)');
    // The running engine sees the window (at once on SQLite, by NOTIFY on PostgreSQL).
    await until(() => h.engine.store.maintenance.list().length === 1, 'the engine to see the window');
    // The status page lists it beside the config file's windows, still to come at 21:50.
    const shown = () => alertingView(h.engine, h.now()).maintenance.filter((m) => m.source === 'cli');
    const from = Date.parse('2026-12-07T22:00:00+07:00');
    expect(shown()).toEqual([
      expect.objectContaining({
        name: 'thay UPS',
        agencies: ['so-tttt'],
        open: false,
        once: { from, until: from + 4 * 60 * MIN },
        createdBy: 'Trần Thị Bình',
        comment: 'phiếu 12',
      }),
    ]);
    const page = (lang: 'vi' | 'en') =>
      renderStatus(
        lang,
        { agents: [], events: [], influx: { up: true, queued: 0, spooled: 0, lastError: null }, timeZone: TZ, alerting: alertingView(h.engine, h.now()) },
        'admin',
      );
    expect(page('vi')).toMatch(
      /<tr data-window="thay UPS" data-source="cli"><td>thay UPS<\/td><td class="t">07\/12\/2026 22:00:00 – 08\/12\/2026 02:00:00<\/td><td>so-tttt<\/td><td class="">chưa đến giờ<\/td>/,
    );
    expect(page('en')).toContain('<td class="t">2026-12-07 22:00:00 – 2026-12-08 02:00:00</td>');
    const bad = await cli('add', '--name', 'x', 'hots=db01', '--start', '22:00', '--end', '02:00', '--comment', 'c', '--author', 'a');
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining('(CANH_ERR_MAINTENANCE_INVALID)')]);

    const subjects = () => smtp.mails.map((m) => m.parsed.subject);
    const feed = (t: number) => {
      if (t >= Date.parse('2026-12-07T22:05:00+07:00')) {
        h.engine.onBatch(hanoi, batch([disk(t, '/data', 96)]));
        h.engine.onBatch(hue, batch([disk(t, '/data', 96)]));
      }
    };
    await h.advance(60 * MIN, feed); // 22:50
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — ws-ketoan-02 — so-yte']); // so-tttt is in maintenance
    // The status page marks the held-back alert with the window's name.
    expect(alertingView(h.engine, h.now()).alerts.find((x) => x.host === 'mc-portal-01')?.muted).toEqual({ by: 'maintenance', note: 'thay UPS' });
    expect(shown().map((m) => [m.name, m.open])).toEqual([['thay UPS', true]]);
    expect((await cli('list')).out).toMatch(
      new RegExp(`\\n${w.id}\\tcó\\tthay UPS\\t07/12/2026 22:00 \\(Asia/Ho_Chi_Minh\\) – 08/12/2026 02:00 \\(Asia/Ho_Chi_Minh\\)\\t`),
    );
    const missing = await cli('remove', 'no-such-window');
    expect([missing.code, missing.err]).toEqual([2, expect.stringContaining('(CANH_ERR_MAINTENANCE_NOT_FOUND)')]);
    expect((await cli('remove', w.id.slice(0, 8))).out).toContain(`Đã xoá lịch bảo trì ${w.id} ("thay UPS")`);
    await until(() => h.engine.store.maintenance.list().length === 0, 'the engine to see the window gone');
    expect(shown()).toEqual([]);
    expect((await cli('list', '--all')).out).not.toContain(w.id);
    await h.advance(3 * MIN, feed);
    expect(alertingView(h.engine, h.now()).alerts.find((x) => x.host === 'mc-portal-01')?.muted).toBeUndefined();
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — ws-ketoan-02 — so-yte', '[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — mc-portal-01 — so-tttt']);
  }, 120_000);

  it('silence add, list and expire: the running engine follows', async () => {
    const { h, file } = await engineAndCli({ timezone: TZ }, Date.now());
    const cli = (...args: string[]) => run(['silence', ...args, '--config', file]);
    const add = await cli('add', 'host=web-01', '--duration', '2h', '--comment', 'thay ổ đĩa', '--author', 'Bình', '--json');
    expect(add.code, add.err).toBe(0);
    const { id } = JSON.parse(add.out) as { id: string };
    await until(() => h.engine.store.silences().some((s) => s.id === id), 'the engine to see the silence');
    // What the JSON says (the text follows the reader's language).
    const listed = async () => JSON.parse((await cli('list', '--json')).out) as { id: string; state: string; matchers: string[] }[];
    expect(await listed()).toEqual([expect.objectContaining({ id, state: 'active', matchers: ['host=web-01'] })]);
    const expired = await cli('expire', id.slice(0, 8));
    expect([expired.code, expired.out]).toEqual([0, expect.stringContaining(id)]);
    await until(() => h.engine.store.silences().find((s) => s.id === id)!.endsAt <= Date.now(), 'the engine to see it expired');
    expect(await listed()).toEqual([]);
    const missing = await cli('expire', 'no-such-silence');
    expect([missing.code, missing.err]).toEqual([2, expect.stringContaining('(CANH_ERR_SILENCE_NOT_FOUND)')]);
  }, 60_000);

  it('alert list and ack: the acknowledgement is stored once and recorded by the running engine', async () => {
    const { h, file } = await engineAndCli({ timezone: TZ }, Date.parse('2026-12-07T08:00:00+07:00'));
    await h.advance(8 * MIN, (t) => h.engine.onBatch(hanoi, batch([disk(t, '/data', 96)])));
    const [firing] = h.engine.statusAlerts();
    expect(firing).toBeDefined();
    await h.engine.store.sync?.(); // the CLI reads the open alerts from PostgreSQL
    const cli = (...args: string[]) => run(['alert', ...args, '--config', file]);
    // The table (in the reader's language) names the alert; the JSON says it is not acknowledged yet.
    expect((await cli('list')).out).toMatch(new RegExp(`\\n${firing!.id}\\tdisk_full\\t[^\\t]+\\tso-tttt\\tmc-portal-01\\t`));
    expect(JSON.parse((await cli('list', '--json')).out)).toEqual([expect.objectContaining({ id: firing!.id, acknowledged: null })]);
    const ack = await cli('ack', String(firing!.id), '--author', 'Lê Văn Cường', '--comment', 'xoá nhật ký cũ');
    expect(ack.code, ack.err).toBe(0);
    expect(ack.out).toMatch(new RegExp(`^\\D+ ${firing!.id} \\(disk_full .*mc-portal-01\\) .*Lê Văn Cường`));
    // A second acknowledgement is answered with the first.
    const again = await cli('ack', String(firing!.id), '--author', 'someone-else');
    expect([again.code, again.out]).toEqual([0, expect.stringContaining('Lê Văn Cường')]);
    expect(again.out).not.toContain('someone-else');
    const nope = await cli('ack', '424242', '--author', 'x');
    expect([nope.code, nope.err]).toEqual([2, expect.stringContaining('(CANH_ERR_ALERT_NOT_FOUND)')]);
    const listed = JSON.parse((await cli('list', '--json')).out) as { id: number; acknowledged: { by: string; comment: string } | null }[];
    expect(listed).toEqual([
      expect.objectContaining({ id: firing!.id, acknowledged: expect.objectContaining({ by: 'Lê Văn Cường', comment: 'xoá nhật ký cũ' }) }),
    ]);

    // The running engine (status page) sees it, and records it in InfluxDB once.
    await until(() => h.engine.statusAlerts()[0]?.ack?.by === 'Lê Văn Cường', 'the engine to see the acknowledgement');
    await h.advance(10_000);
    await until(() => h.lines.some((l) => l.includes('state="acknowledged"')), 'the acknowledgement in InfluxDB');
    await until(() => h.engine.acks.pending().length === 0, 'the acknowledgement marked recorded');
    await h.advance(20_000);
    expect(h.lines.filter((l) => l.includes('state="acknowledged"'))).toEqual([
      expect.stringMatching(/acknowledged_by="Lê Văn Cường".*ack_comment="xoá nhật ký cũ"/),
    ]);
  }, 120_000);
});
