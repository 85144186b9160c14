// The collector artifact (npm run build:collector) and deploy/install-server.sh, as an
// operator meets them: the tarball laid into a fresh root (DESTDIR), no Node 24 and no
// node_modules anywhere the installed program could find them (PATH starts with a `node`
// that fails, the system's is Debian's 20), a real InfluxDB started from the hardened
// config the installer wrote (auth on, users made by the installer), Debian's nginx from
// the installed site file, and a real agent connecting through it over TLS with the
// installer's self-signed pair. Then the monthly PDF from the installed program, the
// installer again (idempotent), and --uninstall --purge.
// Last, the live path (no DESTDIR: useradd, systemctl, InfluxDB's and nginx's own units)
// in a machine where systemd is PID 1 (test/helpers/systemd-machine.ts) with a network of
// its own, so the fixed ports (8086, 8443, 443) are its own too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCollector } from '../../deploy/build/collector.ts';
import { seriesRows } from '../helpers/influxd.ts';
import { freePorts } from '../helpers/ports.ts';
import { pollUntil, spawnManaged, type ManagedProcess } from '../helpers/process.ts';
import { bootSystemdMachine } from '../helpers/systemd-machine.ts';
import { ROOT, tmp } from './helpers.ts';

const SERVER = '127.0.0.1';
let work: string;
let tarball: string;
let root: string;
let fakebin: string;
const procs: ManagedProcess[] = [];

/** An environment with no Node 24: first on PATH a `node` that fails loudly, then the system's (Debian's 20, or none). */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${fakebin}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: work, LANG: 'C.UTF-8', ...extra };
}

function run(cmd: string, args: string[], extra: Record<string, string> = {}): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd: work, env: env(extra), encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function install(args: string[], extra: Record<string, string> = {}): { code: number; out: string } {
  return run('bash', [join(root, 'opt/canh-collector/share/install-server.sh'), '--artifact', tarball, ...args], { DESTDIR: root, ...extra });
}

beforeAll(async () => {
  work = tmp('artifact');
  fakebin = join(work, 'fakebin');
  mkdirSync(fakebin);
  writeFileSync(join(fakebin, 'node'), '#!/bin/sh\necho "the host node was used" >&2\nexit 99\n', { mode: 0o755 });
  ({ tarball } = await buildCollector({ outDir: join(work, 'dist') }));
  root = join(work, 'root');
  mkdirSync(join(root, 'opt'), { recursive: true });
  // First lay the tarball in by hand, as a package would: the installer comes out of it.
  execFileSync('tar', ['-xzf', tarball, '-C', join(root, 'opt')]);
  // And a copy outside the root, for the runs after --uninstall.
  execFileSync('tar', ['-xzf', tarball, '-C', work]);
}, 300_000);

afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
});

describe('collector artifact', () => {
  it('holds its own Node, the bundle, playwright-core and nothing of the development tree', () => {
    const lib = join(root, 'opt/canh-collector/lib');
    expect(readdirSync(join(lib, 'node_modules'))).toEqual(['playwright-core']);
    expect(execFileSync(join(lib, 'node'), ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${process.versions.node}`);
    expect(statSync(join(root, 'opt/canh-collector/bin/canh-collector')).mode & 0o111).not.toBe(0);
    const bundle = readFileSync(join(lib, 'canh-collector.mjs'), 'utf8');
    expect(bundle).not.toMatch(/from ['"][./]*(agent|collector|protocol)\/src\//);
    // Every file the sources open beside themselves came along (mail templates, default rules).
    expect(existsSync(join(lib, 'assets/collector/src/alerts/default-rules.yaml'))).toBe(true);
  });

  it('--version and --validate run with no Node 24 on PATH', () => {
    const bin = join(root, 'opt/canh-collector/bin/canh-collector');
    expect(run('node', ['--version']).code).toBe(99);
    expect(run(bin, ['--version'])).toEqual({ code: 0, out: 'canh-collector 0.1.0\n' });
    const bad = join(work, 'bad.yaml');
    writeFileSync(bad, 'listen: { port: "x" }\n');
    const r = run(bin, ['--validate', '--config', bad]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/listen\.port/);
  });
});

describe('install-server.sh into a fresh root (DESTDIR)', () => {
  let influxPort: number;
  let collectorPort: number;
  let httpsPort: number;
  let httpPort: number;
  let rpcPort: number;
  let adminAuth: string;
  let collectorConfig: string;
  const bin = () => join(root, 'opt/canh-collector/bin/canh-collector');

  beforeAll(async () => {
    [influxPort, collectorPort, httpsPort, httpPort, rpcPort] = (await freePorts(5)) as [number, number, number, number, number];
  });

  it('stages every file, secrets 0600, and says what it did', () => {
    const r = install(['--with-nginx', '--server-name', SERVER]);
    expect(r.out).toContain('staged (DESTDIR=');
    expect(r.code, r.out).toBe(0);
    // The tarball was laid there by hand first: the same version, reinstalled.
    expect(r.out).toMatch(/canh-collector 0\.1\.0 in \/opt\/canh-collector \(reinstalled\)/);
    expect(r.out).toContain('Status page: https://127.0.0.1/status');
    expect(r.out).toContain('first login: admin, password in /etc/canh/status-admin.password');
    for (const f of ['influx-admin.password', 'influx.password', 'influx-grafana.password', 'status-admin.password']) {
      expect(statSync(join(root, 'etc/canh', f)).mode & 0o777, f).toBe(0o600);
      expect(readFileSync(join(root, 'etc/canh', f), 'utf8')).toMatch(/^[A-Za-z0-9]{32}$/);
    }
    expect(statSync(join(root, 'etc/ssl/canh/collector.key')).mode & 0o777).toBe(0o600);
    for (const d of ['etc', 'etc/canh', 'etc/systemd', 'etc/systemd/system', 'usr/local/bin']) expect(statSync(join(root, d)).mode & 0o777, d).toBe(0o755);
    for (const u of ['canh-collector.service', 'canh-collector-report.service', 'canh-collector-report.timer'])
      expect(existsSync(join(root, 'etc/systemd/system', u)), u).toBe(true);
    const conf = readFileSync(join(root, 'etc/influxdb/influxdb.conf'), 'utf8');
    expect(conf).toMatch(/auth-enabled = true/);
    expect(conf).toMatch(/bind-address = "127\.0\.0\.1:8086"/);
    expect(readFileSync(join(root, 'etc/grafana/provisioning/datasources/canh.yaml'), 'utf8')).toContain('$__file{/etc/canh/influx-grafana.password}');
    expect(readdirSync(join(root, 'var/lib/grafana/dashboards/canh')).sort()).toEqual(['en', 'vi']);
  });

  it('InfluxDB from the staged config demands a login; the installer makes its users through --influx-url', async () => {
    const dir = join(work, 'influxdb');
    const conf = readFileSync(join(root, 'etc/influxdb/influxdb.conf'), 'utf8')
      .replaceAll('/var/lib/influxdb', dir)
      .replace('127.0.0.1:8086', `127.0.0.1:${influxPort}`)
      .replace('127.0.0.1:8088', `127.0.0.1:${rpcPort}`);
    writeFileSync(join(work, 'influxdb.conf'), conf);
    const influxd = spawnManaged('/usr/bin/influxd', ['-config', join(work, 'influxdb.conf')], { name: 'influxd', env: env(), cleanEnv: true });
    procs.push(influxd);
    const url = `http://127.0.0.1:${influxPort}`;
    await pollUntil(async () => ((await fetch(`${url}/ping`)).status === 204 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'influxd /ping',
      abortIf: () => (influxd.running ? undefined : influxd.describe()),
    });

    const r = install(['--with-nginx', '--server-name', SERVER, '--influx-url', url]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("created InfluxDB's admin user");
    // Again: nothing to do, users kept.
    const again = install(['--with-nginx', '--server-name', SERVER, '--influx-url', url]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).not.toContain("created InfluxDB's admin user");

    const pw = (f: string) => readFileSync(join(root, 'etc/canh', f), 'utf8');
    const q = async (q: string, auth?: string) => {
      const res = await fetch(`${url}/query`, {
        method: 'POST',
        body: new URLSearchParams({ q, db: 'canh' }),
        ...(auth ? { headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } } : {}),
      });
      return { status: res.status, body: await res.text() };
    };
    expect((await q('SHOW DATABASES')).status).toBe(401);
    adminAuth = `admin:${pw('influx-admin.password')}`;
    expect((await q('SHOW DATABASES', adminAuth)).body).toContain('"canh"');
    expect((await q('SHOW DATABASES', `canh_collector:${pw('influx.password')}`)).status).toBe(200);
    // The Grafana user reads and may not write.
    const w = await fetch(`${url}/write?db=canh`, {
      method: 'POST',
      body: 'x v=1',
      headers: { authorization: `Basic ${Buffer.from(`canh_grafana:${pw('influx-grafana.password')}`).toString('base64')}` },
    });
    expect(w.status).toBe(403);
    await w.body?.cancel();
  }, 180_000);

  it('the installed collector serves against InfluxDB with auth on, with no Node 24 anywhere', async () => {
    collectorConfig = join(work, 'collector.yaml');
    writeFileSync(
      collectorConfig,
      readFileSync(join(root, 'etc/canh/collector.yaml'), 'utf8')
        .replaceAll('/etc/canh/', `${join(root, 'etc/canh')}/`)
        .replace(/^state_dir: .*$/m, `state_dir: ${join(work, 'state')}`)
        .replace('port: 8443', `port: ${collectorPort}`)
        .replace('http://127.0.0.1:8086', `http://127.0.0.1:${influxPort}`)
        .replace(/^influx:$/m, 'influx:\n  flush_interval: 100ms'),
    );
    expect(run(bin(), ['--validate', '--config', collectorConfig]).code).toBe(0);
    const collector = spawnManaged(bin(), ['serve', '--config', collectorConfig], { name: 'installed collector', env: env(), cleanEnv: true, cwd: work });
    procs.push(collector);
    await pollUntil(async () => ((await fetch(`http://127.0.0.1:${collectorPort}/healthz`)).ok ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the installed collector /healthz',
      abortIf: () => (collector.running ? undefined : collector.describe()),
    });
  }, 120_000);

  it("nginx -t passes on the installed site file with Debian's nginx, and an agent reaches the collector through it", async () => {
    const nginx = join(work, 'nginx');
    mkdirSync(join(nginx, 'logs'), { recursive: true });
    const site = readFileSync(join(root, 'etc/nginx/sites-available/canh.conf'), 'utf8').replaceAll('/etc/ssl/canh/', `${join(root, 'etc/ssl/canh')}/`);
    const main = (siteFile: string) =>
      `pid ${nginx}/nginx.pid;\nerror_log ${nginx}/logs/error.log;\nworker_processes 1;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path ${nginx}/body;\n  proxy_temp_path ${nginx}/proxy;\n  include ${siteFile};\n}\n`;
    // As installed (ports 443 and 80): nginx -t checks the file without binding them.
    writeFileSync(join(nginx, 'site-as-installed.conf'), site);
    writeFileSync(join(nginx, 'test.conf'), main(join(nginx, 'site-as-installed.conf')));
    const t = spawnSync('nginx', ['-t', '-p', nginx, '-e', `${nginx}/logs/error.log`, '-c', join(nginx, 'test.conf')], { encoding: 'utf8' });
    expect(`${t.stdout}${t.stderr}`).toMatch(/syntax is ok[\s\S]*test is successful/);
    expect(t.status).toBe(0);

    // Run on free loopback ports, in front of the installed collector.
    writeFileSync(
      join(nginx, 'site.conf'),
      site
        .replace('listen 443 ssl;', `listen 127.0.0.1:${httpsPort} ssl;`)
        .replace('listen 80;', `listen 127.0.0.1:${httpPort};`)
        .replace(/^\s*listen \[::\]:\d+( ssl)?;\n/gm, '')
        .replace('server 127.0.0.1:8443;', `server 127.0.0.1:${collectorPort};`),
    );
    writeFileSync(join(nginx, 'nginx.conf'), `daemon off;\n${main(join(nginx, 'site.conf'))}`);
    const proxy = spawnManaged('nginx', ['-p', nginx, '-e', `${nginx}/logs/error.log`, '-c', join(nginx, 'nginx.conf')], { name: 'nginx' });
    procs.push(proxy);

    const added = run(bin(), ['agent', 'add', '--config', collectorConfig, '--name', 'web-01', '--agency', 'so-tttt', '--site', 'dc', '--json']);
    expect(added.code, added.out).toBe(0);
    const token = (JSON.parse(added.out) as { token: string }).token;
    writeFileSync(join(work, 'agent.token'), token, { mode: 0o600 });
    writeFileSync(
      join(work, 'agent.yaml'),
      `collector:
  url: wss://${SERVER}:${httpsPort}/v1/agent
  token_file: ${join(work, 'agent.token')}
  ca_file: ${join(root, 'etc/ssl/canh/collector.crt')}
agent:
  interval: 1s
  flush_interval: 200ms
  hostname: web-01
  state_dir: ${join(work, 'agent-state')}
inputs:
  - type: mem
`,
    );
    const agent = spawnManaged(process.execPath, [join(ROOT, 'agent/src/cli.ts'), 'run', '--config', join(work, 'agent.yaml')], {
      name: 'agent',
      env: { CANH_LOG_LEVEL: 'warn' },
    });
    procs.push(agent);
    const rows = await pollUntil(
      async () => {
        const res = await fetch(`http://127.0.0.1:${influxPort}/query`, {
          method: 'POST',
          body: new URLSearchParams({ q: "SELECT count(used_percent) FROM mem WHERE host = 'web-01' AND agency = 'so-tttt'", db: 'canh' }),
          headers: { authorization: `Basic ${Buffer.from(adminAuth).toString('base64')}` },
        });
        const r = seriesRows((await res.json()) as Parameters<typeof seriesRows>[0]);
        return Number(r[0]?.count ?? 0) > 0 ? r : undefined;
      },
      {
        timeoutMs: 90_000,
        what: 'mem points of web-01 in InfluxDB through nginx',
        abortIf: () => (agent.running ? undefined : agent.describe()),
        onTimeout: () => `${agent.describe()}\n${proxy.describe()}`,
      },
    );
    expect(Number(rows[0]!.count)).toBeGreaterThan(0);
    await agent.stop();
  }, 180_000);

  it("backup.md's online backup with the collector's own Node, while it runs, restores to the same agents", () => {
    const doc = readFileSync(join(ROOT, 'docs/operating/backup.md'), 'utf8');
    const m = /\/opt\/canh-collector\/lib\/node -e '([^']+)' \/var\/lib\/canh-collector\/collector\.db/.exec(doc);
    expect(m, 'the node:sqlite backup command in backup.md').not.toBe(null);
    const restored = join(work, 'restored-state');
    mkdirSync(restored);
    const r = run(join(root, 'opt/canh-collector/lib/node'), ['-e', m![1]!, join(work, 'state', 'collector.db'), join(restored, 'collector.db')]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^pages \d+/);
    const config = join(work, 'restored.yaml');
    writeFileSync(config, readFileSync(collectorConfig, 'utf8').replace(/^state_dir: .*$/m, `state_dir: ${restored}`));
    const list = (c: string) =>
      (JSON.parse(run(bin(), ['agent', 'list', '--config', c, '--json']).out) as { name: string; agency: string }[]).map((a) => `${a.name}/${a.agency}`);
    expect(list(config)).toEqual(['web-01/so-tttt']);
    expect(list(config)).toEqual(list(collectorConfig));
  }, 120_000);

  it.runIf(existsSync('/usr/bin/chromium'))(
    "the installed program prints the monthly report as PDF with Debian's chromium",
    () => {
      const month = new Date().toISOString().slice(0, 7);
      const out = join(work, 'report.pdf');
      const r = run(bin(), ['report', '--config', collectorConfig, '--month', month, '--tz', 'UTC', '--format', 'pdf', '--out', out]);
      expect(r.code, r.out).toBe(0);
      expect(readFileSync(out).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    },
    180_000,
  );

  it("the compose image's files, laid into a temporary root, serve wss:// and pass the image's healthcheck", async () => {
    // What Dockerfile.collector copies, from where the build context has it (the artifact is this test's build).
    const imageRoot = join(work, 'image');
    const copies = [...readFileSync(join(ROOT, 'deploy/compose/Dockerfile.collector'), 'utf8').matchAll(/^COPY (\S+) (\S+)$/gm)];
    expect(copies.length).toBeGreaterThan(0);
    for (const [, from, to] of copies) {
      const src = from === 'dist/canh-collector' ? join(work, 'dist/canh-collector') : join(ROOT, from!);
      mkdirSync(join(imageRoot, to!, '..'), { recursive: true });
      execFileSync('cp', ['-a', src, join(imageRoot, to!)]);
    }
    const secrets = join(work, 'compose-secrets');
    const made = run('bash', [join(ROOT, 'deploy/compose/make-secrets.sh'), 'collector.example.gov.vn'], { CANH_SECRETS_DIR: secrets });
    expect(made.code, made.out).toBe(0);
    // The InfluxDB this test runs has the installer's users: the collector's password is that one.
    writeFileSync(join(secrets, 'influx_collector'), readFileSync(join(root, 'etc/canh/influx.password')));
    const [port] = await freePorts(1);
    const config = join(work, 'compose-collector.yaml');
    writeFileSync(
      config,
      readFileSync(join(ROOT, 'deploy/compose/collector.yaml'), 'utf8')
        .replaceAll('/run/secrets/', `${secrets}/`)
        .replace('http://influxdb:8086', `http://127.0.0.1:${influxPort}`)
        .replace('port: 8443', `port: ${port}`)
        .replace('host: 0.0.0.0', 'host: 127.0.0.1')
        .replace(/^state_dir: .*$/m, `state_dir: ${join(work, 'compose-state')}`),
    );
    const node = join(imageRoot, 'opt/canh-collector/lib/node');
    const health = () => run(node, [join(imageRoot, 'opt/canh-collector/share/healthcheck.mjs')], { CANH_HEALTH_PORT: String(port) });
    expect(health()).toEqual({ code: 1, out: 'healthz: no answer\n' });
    const collector = spawnManaged(join(imageRoot, 'opt/canh-collector/bin/canh-collector'), ['serve', '--config', config], {
      name: 'image collector',
      env: env(),
      cleanEnv: true,
      cwd: work,
    });
    procs.push(collector);
    await pollUntil(async () => (health().code === 0 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the image healthcheck',
      abortIf: () => (collector.running ? undefined : collector.describe()),
    });
    expect(health().out).toBe('healthz: 200\n');
    // TLS it is: plain http on that port gets no healthy answer.
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    expect(plain).not.toBe(200);
    await collector.stop();
  }, 180_000);

  it("--uninstall keeps config and secrets; --uninstall --purge removes the collector's part", () => {
    const keep = install(['--uninstall']);
    expect(keep.code, keep.out).toBe(0);
    expect(existsSync(join(root, 'opt/canh-collector'))).toBe(false);
    expect(existsSync(join(root, 'usr/local/bin/canh-collector'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/canh-collector.service'))).toBe(false);
    expect(existsSync(join(root, 'etc/canh/collector.yaml'))).toBe(true);
    // The installer from the tarball again: the kept config passes and nothing new is generated.
    const again = run('bash', [join(work, 'canh-collector/share/install-server.sh'), '--with-nginx', '--server-name', SERVER], { DESTDIR: root });
    expect(again.code, again.out).toBe(0);
    expect(again.out).not.toContain('generated /etc/canh');
    const purge = run('bash', [join(work, 'canh-collector/share/install-server.sh'), '--uninstall', '--purge'], { DESTDIR: root });
    expect(purge.code, purge.out).toBe(0);
    for (const p of [
      'opt/canh-collector',
      'etc/canh',
      'etc/ssl/canh',
      'var/lib/canh-collector',
      'etc/nginx/sites-enabled/canh.conf',
      'etc/grafana/provisioning/datasources/canh.yaml',
    ]) {
      expect(existsSync(join(root, p)), p).toBe(false);
    }
    // InfluxDB's config stays (its package and data are not ours to purge).
    expect(existsSync(join(root, 'etc/influxdb/influxdb.conf'))).toBe(true);
  }, 180_000);

  // Not run here: the live --with-grafana (Grafana's APT repository is not reachable from
  // the test machines). Staged, everything around it is written and checked.
  it("--with-grafana, staged: Grafana's admin password is a secret file Grafana reads", () => {
    const groot = join(work, 'grafana-root');
    const key = join(work, 'grafana.key');
    writeFileSync(key, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n-----END PGP PUBLIC KEY BLOCK-----\n');
    const installer = join(work, 'canh-collector/share/install-server.sh');
    const r = run('bash', [installer, '--server-name', SERVER, '--with-grafana', 'https://grafana-apt.invalid/deb', key], { DESTDIR: groot });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('staged: would add https://grafana-apt.invalid/deb as an APT source and install grafana');
    expect(r.out).toContain('would install Debian packages influxdb chromium fonts-dejavu-core openssl curl gpg');
    expect(statSync(join(groot, 'etc/canh/grafana-admin.password')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(groot, 'etc/default/grafana-server'), 'utf8')).toBe('GF_SECURITY_ADMIN_PASSWORD__FILE=/etc/canh/grafana-admin.password\n');
    expect(r.out).toContain('Grafana: http://127.0.0.1:3000/');
    // Again: the line is not added twice.
    expect(run('bash', [installer, '--server-name', SERVER, '--with-grafana', 'https://grafana-apt.invalid/deb', key], { DESTDIR: groot }).code).toBe(0);
    expect(readFileSync(join(groot, 'etc/default/grafana-server'), 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  }, 120_000);

  it('refuses a config the new program rejects, and leaves the installed one in place', () => {
    const installer = join(work, 'canh-collector/share/install-server.sh');
    const r0 = run('bash', [installer, '--server-name', SERVER], { DESTDIR: root });
    expect(r0.code, r0.out).toBe(0);
    expect(r0.out).toMatch(/installed canh-collector 0\.1\.0 in \/opt\/canh-collector, canh-collector on PATH/);
    writeFileSync(join(root, 'etc/canh/collector.yaml'), 'listen: { port: 8443 }\nnot_an_option: 1\n');
    const r = run('bash', [installer, '--server-name', SERVER], { DESTDIR: root });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/does not pass --validate/);
    expect(r.out).toMatch(/not_an_option/);
    expect(existsSync(join(root, 'opt/canh-collector/bin/canh-collector'))).toBe(true);
  }, 120_000);
});

describe('install-server.sh live, in a machine with systemd as PID 1', () => {
  it("installs, starts InfluxDB with auth, the collector, nginx and the report timer; the docs' commands work; uninstall --purge", async () => {
    const m = await bootSystemdMachine({ keep: [ROOT], privateNetwork: true });
    try {
      // Debian's packages the installer needs are already on this machine (the test suite
      // installs them); the live path then has nothing to fetch.
      copyFileSync(tarball, join(m.share, 'collector.tar.gz'));
      // The machine boots with every distribution unit masked; these two the installer drives.
      m.sh('rm -f /run/systemd/system/influxdb.service /run/systemd/system/nginx.service && systemctl daemon-reload');
      const out = m.sh(
        `tar -xzf /run/canh-share/collector.tar.gz -C /root && /root/canh-collector/share/install-server.sh --server-name collector.test --with-nginx 2>&1`,
        { timeout: 240_000 },
      );
      console.log(`install-server.sh (live):\n${out}`);
      expect(out).toMatch(/started canh-collector \(healthz answers on 127\.0\.0\.1:8443\)/);
      expect(m.sh('systemctl is-active influxdb canh-collector nginx canh-collector-report.timer').trim().split('\n')).toEqual([
        'active',
        'active',
        'active',
        'active',
      ]);
      expect(m.sh('id -u canh-collector').trim()).toMatch(/^\d+$/);
      // InfluxDB demands a login; through nginx the collector answers over TLS.
      expect(m.sh(`curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:8086/query?q=SHOW+DATABASES'`)).toBe('401');
      expect(m.sh(`curl -sk -o /dev/null -w '%{http_code}' --resolve collector.test:443:127.0.0.1 https://collector.test/healthz`)).toBe('200');
      // install-collector.md's commands, as written there (runuser stands for sudo -u).
      expect(m.sh('runuser -u canh-collector -- canh-collector agent add --name H --agency a --site s')).toMatch(/token/i);
      expect(m.sh('runuser -u canh-collector -- canh-collector --validate --config /etc/canh/collector.yaml')).toMatch(/valid/);
      m.sh('systemctl reload canh-collector && sleep 1 && systemctl is-active canh-collector');
      // The monthly report unit, under its own sandbox, with Debian's chromium.
      m.sh('systemctl start canh-collector-report.service', { timeout: 240_000 });
      const reports = m.sh('ls /var/lib/canh-collector/reports/');
      expect(reports).toMatch(/\.pdf$/m);
      const exposure = m.exec('systemd-analyze', ['security', '--no-pager', 'canh-collector.service']);
      const overall = /Overall exposure level for canh-collector\.service:\s*([\d.]+)/.exec(exposure.stdout + exposure.stderr);
      console.log(`systemd-analyze security canh-collector.service (running unit): ${overall?.[1] ?? 'not printed'}`);
      expect(Number(overall?.[1])).toBeLessThanOrEqual(2.0);
      const purge = m.sh('/opt/canh-collector/share/install-server.sh --uninstall --purge 2>&1');
      expect(purge).toMatch(/removed/);
      expect(m.exec('systemctl', ['cat', 'canh-collector.service']).status).not.toBe(0);
      expect(m.exec('id', ['canh-collector']).status).not.toBe(0);
    } catch (err) {
      // What systemd and the services said, for the failure message.
      const said = m.exec('bash', [
        '-c',
        'systemctl --no-pager status influxdb canh-collector nginx 2>&1 | tail -40; journalctl --no-pager -n 40 -u influxdb -u canh-collector -u nginx 2>&1',
      ]);
      throw new Error(`${(err as Error).message}\n--- in the machine:\n${said.stdout}`, { cause: err });
    } finally {
      m.stop();
    }
  }, 600_000);
});
