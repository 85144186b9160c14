// Reloading the collector's alerting config without a restart, with real processes: the
// collector (its CLI, `serve --config`), an agent process probing a web server this test
// controls, InfluxDB and an SMTP server. The test rewrites the config file and sends
// SIGHUP (what `systemctl reload` does), calls `canh-collector alerts reload`, and
// POST /api/v1/reload; it checks what fires, what resolves, what is mailed (once), that
// an invalid file changes nothing, and that the agent's connection is never cut.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { startInfluxd, seriesRows, type Influxd } from './helpers/influxd.ts';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from './helpers/smtp.ts';
import { spawnManaged, pollUntil, type ManagedProcess } from './helpers/process.ts';
import { freePort } from './helpers/ports.ts';

const root = join(import.meta.dirname, '..');
const node = process.execPath;
const cli = join(root, 'collector/src/cli.ts');
const TOKEN = 'reload-test-admin-token-0123456789';

let dir: string;
let influx: Influxd;
let smtp: TestSmtpServer;
let web: Server;
let webStatus = 404;
let collector: ManagedProcess;
let agent: ManagedProcess;
let port: number;
let configFile: string;

/** The collector config with the given `alerting:` section (YAML accepts JSON). */
function writeConfig(alerting: Record<string, unknown>, extra: Record<string, unknown> = {}): void {
  const cfg = {
    listen: { host: '127.0.0.1', port },
    state_dir: join(dir, 'collector'),
    influx: { url: influx.url, database: 'canh', flush_interval: '100ms' },
    liveness: { ping_interval: '500ms', offline_after: '5s' },
    ...extra,
    alerting,
  };
  writeFileSync(configFile, JSON.stringify(cfg, null, 2));
}

function alerting(rules: unknown[], smtpExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    admin_token: { value: TOKEN },
    default_rules: false,
    rules,
    recipients: [{ email: 'soc@tinh.gov.vn', language: 'en', min_severity: 'low' }],
    smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'Canh <canh@tinh.gov.vn>', retry: { min: '200ms', max: '1s' }, ...smtpExtra },
    grouping: { group_wait: '300ms', group_interval: '1s' },
    evaluation_interval: '200ms',
  };
}

const memSeen = { name: 'mem_seen', type: 'threshold', measurement: 'mem', field: 'used_percent', op: '>=', value: 0, severity: 'high', title: 'Memory seen' };
const webError = (value: number) => ({
  name: 'web_error',
  type: 'threshold',
  measurement: 'http_response',
  field: 'http_response_code',
  op: '>=',
  value,
  group_by: ['host', 'server'],
  severity: 'high',
  title: 'Web error',
});

const subject = (m: ReceivedMail) => m.parsed.subject ?? '';
const firing = (title: string) => (m: ReceivedMail) => subject(m).startsWith('[FIRING') && subject(m).includes(title);
const resolvedMail = (title: string) => (m: ReceivedMail) => subject(m).startsWith('[RESOLVED]') && subject(m).includes(title);

/** Lines the collector logged (pino JSON on stderr) with this msg, parsed. */
function logged(msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of collector.tail()) {
    if (!line.includes(msg)) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o.msg === msg || String(o.msg).startsWith(msg)) out.push(o);
    } catch {
      // not a log line
    }
  }
  return out;
}

async function waitLogged(msg: string, count: number): Promise<Record<string, unknown>[]> {
  return pollUntil(async () => (logged(msg).length >= count ? logged(msg) : undefined), {
    timeoutMs: 20_000,
    intervalMs: 100,
    what: `${count}× "${msg}" in the collector's log`,
    onTimeout: () => collector.describe(40),
  });
}

async function api(path: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function openAlerts(): Promise<{ rule: string; state: string }[]> {
  return (await api('/api/v1/alerts')).body.alerts as { rule: string; state: string }[];
}

async function waitAlert(rule: string, state: string | undefined): Promise<void> {
  await pollUntil(async () => ((await openAlerts()).find((a) => a.rule === rule)?.state === state ? true : undefined), {
    timeoutMs: 20_000,
    intervalMs: 200,
    what: `alert ${rule} ${state ?? 'gone'}`,
    onTimeout: () => collector.describe(20),
  });
}

/** The web server answers 404 again (web_error was resolved): its firing mail, once delivered. */
async function webFiringAgain(): Promise<ReceivedMail> {
  const before = smtp.mails.filter(firing('Web error')).length;
  webStatus = 404;
  await pollUntil(async () => (smtp.mails.filter(firing('Web error')).length > before ? true : undefined), {
    timeoutMs: 20_000,
    what: 'web_error firing again',
  });
  return smtp.mails.filter(firing('Web error'))[before]!;
}

function hup(): void {
  collector.child.kill('SIGHUP');
}

/** The agent connected once and was never cut off (nor judged silent) by the collector. */
function expectOneConnection(): void {
  expect(logged('agent connected')).toHaveLength(1);
  expect(logged('agent disconnected')).toHaveLength(0);
  expect(logged('agent silent too long; marking offline')).toHaveLength(0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canh-alerting-reload-'));
  [influx, smtp] = await Promise.all([startInfluxd(), startSmtpServer()]);
  web = createServer((_req, res) => res.writeHead(webStatus, { 'content-type': 'text/plain' }).end(`status ${webStatus}\n`));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const webPort = (web.address() as { port: number }).port;
  port = await freePort();
  configFile = join(dir, 'collector.yaml');
  // web_error at >= 500 does not fire on the 404 the web server answers; mem_seen fires at once.
  writeConfig(alerting([memSeen, webError(500)]));
  const out = execFileSync(node, [cli, 'agent', 'add', '--config', configFile, '--name', 'web01', '--agency', 'so-tttt', '--site', 'dc', '--json'], {
    encoding: 'utf8',
  });
  writeFileSync(join(dir, 'web01.token'), (JSON.parse(out) as { token: string }).token);
  collector = spawnManaged(node, [cli, 'serve', '--config', configFile], { name: 'collector', ringSize: 20_000 });
  await waitLogged('collector listening', 1);
  writeFileSync(
    join(dir, 'agent.yaml'),
    JSON.stringify({
      collector: {
        url: `ws://127.0.0.1:${port}/v1/agent`,
        token_file: join(dir, 'web01.token'),
        ping_interval: '1s',
        reconnect_min: '100ms',
        reconnect_max: '1s',
      },
      agent: { interval: '500ms', flush_interval: '100ms', hostname: 'web01', state_dir: join(dir, 'agent') },
      inputs: [{ type: 'mem' }, { type: 'http_response', urls: [`http://127.0.0.1:${webPort}/`], timeout: '2s' }],
    }),
  );
  agent = spawnManaged(node, [join(root, 'agent/src/cli.ts'), 'run', '--config', join(dir, 'agent.yaml')], { name: 'agent', env: { CANH_LOG_LEVEL: 'warn' } });
  await waitLogged('agent connected', 1);
}, 90_000);

afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
  await new Promise((r) => web?.close(r));
  await smtp?.stop();
  await influx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('reloading the alerting config', () => {
  it('SIGHUP applies a changed threshold and a removed rule; the agent stays connected', async () => {
    await smtp.waitForMail(firing('Memory seen'), 20_000);
    // 404 is below the first threshold: web_error does not fire. The engine is handed each
    // batch before it goes to InfluxDB, so once a 404 is stored the rule has judged it.
    await pollUntil(
      async () => {
        const rows = seriesRows(
          await influx.query(`SELECT count("http_response_code") FROM http_response WHERE host = 'web01' AND http_response_code = 404`, 'canh'),
        );
        return Number(rows[0]?.count ?? 0) > 0 ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'a 404 of web01 in InfluxDB' },
    );
    expect((await openAlerts()).map((a) => a.rule)).not.toContain('web_error');
    expect(smtp.mails.filter(firing('Web error'))).toHaveLength(0);

    writeConfig(alerting([webError(400)]), { log_level: 'debug' });
    hup();
    const [line] = await waitLogged('alerting config reloaded', 1);
    expect(line).toMatchObject({ rules: 1, threshold: 1, removed: ['mem_seen'], changed: ['web_error'], added: [], resolved: 1 });
    // log_level is outside alerting: named, not applied.
    const [warn] = await waitLogged('config changed outside alerting', 1);
    expect(warn!.sections).toEqual(['log_level']);

    const mail = await smtp.waitForMail(firing('Web error'), 20_000);
    expect(mail.parsed.text).toContain('HTTP response code = 404 (threshold >= 400)');
    await waitAlert('web_error', 'firing');
    // The agent's data kept flowing through the reload on the same connection.
    const after = Date.now();
    await pollUntil(
      async () => {
        const rows = seriesRows(await influx.query(`SELECT count("used_percent") FROM mem WHERE host = 'web01' AND time > ${after}ms`, 'canh'));
        return Number(rows[0]?.count ?? 0) > 2 ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'mem points after the reload' },
    );
    expectOneConnection();
    expect(collector.child.exitCode).toBeNull();
  }, 60_000);

  it('the firing alert of the removed rule is resolved (rule_removed) and does not fire again', async () => {
    const mail = await smtp.waitForMail(resolvedMail('Memory seen'), 20_000);
    expect(mail.parsed.text).toContain('rule removed from the config');
    expect((await openAlerts()).map((a) => a.rule)).not.toContain('mem_seen');
    const rows = await pollUntil(
      async () => {
        const r = seriesRows(await influx.query(`SELECT "state" FROM "alert" WHERE "rule" = 'mem_seen'`, 'canh'));
        return r.some((x) => x.state === 'resolved') ? r : undefined;
      },
      { timeoutMs: 15_000, what: 'mem_seen resolved in InfluxDB' },
    );
    expect(rows.map((r) => r.state)).toEqual(['firing', 'resolved']);
    // mem points keep arriving; the removed rule stays quiet. The engine is handed each
    // batch before it goes to InfluxDB: once mem points after the resolution are stored, a
    // rule still judging them would have its alert open (and only an open alert is mailed).
    const resolvedAt = mail.receivedAt.getTime();
    await pollUntil(
      async () => {
        const r = seriesRows(await influx.query(`SELECT count("used_percent") FROM mem WHERE host = 'web01' AND time > ${resolvedAt}ms`, 'canh'));
        return Number(r[0]?.count ?? 0) > 2 ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'mem points after the resolution' },
    );
    expect(smtp.mails.filter(firing('Memory seen'))).toHaveLength(1);
    expect((await openAlerts()).map((a) => a.rule)).not.toContain('mem_seen');
  }, 60_000);

  it('an invalid file changes nothing: the error is logged and returned, the running rules keep working', async () => {
    const bad = alerting([{ ...webError(300), op: '=>' }]);
    writeConfig(bad);
    hup();
    const [err] = await waitLogged('alerting config not reloaded', 1);
    expect(err!.code).toBe('CANH_ERR_CONFIG_INVALID');
    expect(String(err!.msg)).toContain('alerting.rules[0].op');
    // The CLI checks the same file and exits non-zero with the same path-named problem.
    const r = spawnSync(node, [cli, 'alerts', 'reload', '--config', configFile], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('alerting.rules[0].op');
    expect(r.stderr).toContain('CANH_ERR_CONFIG_INVALID');
    // The API makes the collector read the file: 400 with the problems.
    const res = await api('/api/v1/reload', 'POST');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'CANH_ERR_CONFIG_INVALID' });
    expect(String(res.body.error)).toContain('alerting.rules[0].op');
    await waitLogged('alerting config not reloaded', 2);
    expect(logged('alerting config reloaded')).toHaveLength(1);
    // /healthz says so too, for monitoring the monitor.
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as {
      config_reloads: { applied: number; failed: number; last_error: string | null };
    };
    expect(health.config_reloads).toMatchObject({ applied: 1, failed: 2 });
    expect(String(health.config_reloads.last_error)).toContain('alerting.rules[0].op');

    // Still the reloaded rules (>= 400, not >= 300): the web server answering 200 resolves
    // web_error, 404 fires it again.
    const resolvedBefore = smtp.mails.filter(resolvedMail('Web error')).length;
    webStatus = 200;
    await pollUntil(async () => (smtp.mails.filter(resolvedMail('Web error')).length > resolvedBefore ? true : undefined), {
      timeoutMs: 20_000,
      what: 'web_error resolved mail',
    });
    const firingBefore = smtp.mails.filter(firing('Web error')).length;
    webStatus = 404;
    await pollUntil(async () => (smtp.mails.filter(firing('Web error')).length > firingBefore ? true : undefined), {
      timeoutMs: 20_000,
      what: 'web_error firing again',
    });
    expectOneConnection();
  }, 60_000);

  it('a mail queued while SMTP is down is delivered exactly once after a reload that changes the SMTP settings', async () => {
    writeConfig(alerting([webError(400)]));
    smtp.setMode('tempfail');
    const failuresBefore = smtp.failures;
    webStatus = 200;
    // The resolution is queued, and the SMTP server turns it away (451).
    await pollUntil(async () => (smtp.failures > failuresBefore ? true : undefined), { timeoutMs: 20_000, what: 'an SMTP attempt during the outage' });
    const queuedAt = Date.now();
    // A reload with other SMTP settings: a new mailer takes over the outbox.
    writeConfig(alerting([webError(400)], { retry: { min: '200ms', max: '2s' } }));
    const r = spawnSync(node, [cli, 'alerts', 'reload', '--config', configFile, '--lang', 'en'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('alerting config reloaded: 1 rules');
    const [, line] = await waitLogged('alerting config reloaded', 2);
    expect(line).toMatchObject({ smtpChanged: true });
    smtp.setMode('accept');
    const mail = await smtp.waitForMail((m) => resolvedMail('Web error')(m) && m.receivedAt.getTime() >= queuedAt, 20_000);
    // A later mail through the same outbox (web_error firing again), delivered: every
    // mailer's retry of the resolution was due before it (rows go in order).
    await webFiringAgain();
    const same = smtp.mails.filter((m) => m.parsed.messageId === mail.parsed.messageId);
    expect(same).toHaveLength(1);
    expect(smtp.mails.filter((m) => resolvedMail('Web error')(m) && m.receivedAt.getTime() >= queuedAt)).toHaveLength(1);
    expectOneConnection();
  }, 60_000);
});
