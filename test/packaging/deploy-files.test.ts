// The container and proxy files: docker compose cannot run here (no engine), so the
// compose file is checked as YAML for the structure the docs promise; the nginx file
// for what a WebSocket proxy needs; the Windows service wrapper compiles when Mono's
// C# compiler is there (Debian: mono-mcs, libmono-system-serviceprocess4.0-cil).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, tmp } from './helpers.ts';

const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

describe('compose', () => {
  type Service = {
    image?: string;
    build?: { context: string; dockerfile: string };
    ports?: string[];
    volumes?: string[];
    depends_on?: string[];
    secrets?: string[];
    environment?: Record<string, string>;
  };
  const compose = parse(read('deploy/compose/compose.yaml')) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
    secrets: Record<string, { file: string }>;
  };
  const composeDir = join(ROOT, 'deploy/compose');

  it('runs InfluxDB 1.8, the collector and Grafana, each at an exact version', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['collector', 'grafana', 'influxdb']);
    for (const [name, s] of Object.entries(compose.services)) expect(s.image, name).toMatch(/:\d+\.\d+\.\d+$|@sha256:[0-9a-f]{64}$/);
    expect(compose.services.influxdb!.image).toMatch(/^influxdb:1\.8\./);
    expect(compose.services.collector!.depends_on).toContain('influxdb');
    expect(read('deploy/compose/Dockerfile.collector')).toMatch(/^FROM [\w./-]+:\d+\.\d+(\.\d+)?(-slim)?$/m);
  });

  it("publishes only the collector's TLS port to the network; Grafana on the loopback", () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) =>
      (s.ports ?? []).filter((p) => !p.startsWith('127.0.0.1:')).map((p) => `${name} ${p}`),
    );
    expect(published).toEqual(['collector 443:8443']);
    const c = parse(read('deploy/compose/collector.yaml')) as { listen: { port: number; tls?: { cert_file: string; key_file: string } } };
    expect(c.listen.port).toBe(8443);
    expect(c.listen.tls).toEqual({ cert_file: '/run/secrets/tls_cert', key_file: '/run/secrets/tls_key' });
    expect(compose.services.grafana!.ports).toEqual(['127.0.0.1:3000:3000']);
  });

  it('takes every password from a secret file, none from the compose file', () => {
    expect(compose.services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe('/run/secrets/grafana_admin');
    const text = read('deploy/compose/compose.yaml');
    expect(text).not.toMatch(/PASSWORD: /);
    for (const s of Object.values(compose.services)) for (const name of s.secrets ?? []) expect(Object.keys(compose.secrets)).toContain(name);
  });

  it('names volumes that exist and paths that exist once make-secrets.sh ran', () => {
    const dir = tmp('compose-secrets');
    const r = spawnSync('bash', [join(composeDir, 'make-secrets.sh'), 'collector.example.gov.vn'], {
      env: { PATH: process.env.PATH, CANH_SECRETS_DIR: dir },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    for (const [name, { file }] of Object.entries(compose.secrets)) {
      const made = join(dir, file.replace(/^\.\/secrets\//, ''));
      expect(existsSync(made), name).toBe(true);
      if (name !== 'tls_cert') expect(statSync(made).mode & 0o777, name).toBe(0o600);
    }
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.')) expect(existsSync(join(composeDir, src)), `${name}: ${src}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: ${src}`).toContain(src);
      }
    }
    const b = compose.services.collector!.build!;
    expect(existsSync(join(composeDir, b.context, b.dockerfile))).toBe(true);
  });

  it('.dockerignore lets in only what the Dockerfile copies', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const copied = [...read('deploy/compose/Dockerfile.collector').matchAll(/^COPY (\S+) /gm)].map((m) => m[1]!);
    expect(
      ignore
        .slice(1)
        .map((l) => l.replace(/^!/, '').replace(/\/$/, ''))
        .sort(),
    ).toEqual(copied.sort());
  });
});

describe('nginx', () => {
  const conf = read('deploy/nginx/canh.conf');
  it('proxies /v1/agent as a WebSocket with long timeouts on 443', () => {
    expect(conf).toMatch(/listen 443 ssl;/);
    const loc = /location = \/v1\/agent \{([\s\S]*?)\n    \}/.exec(conf)?.[1] ?? '';
    expect(loc).toContain('proxy_http_version 1.1;');
    expect(loc).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(loc).toContain('proxy_set_header Connection $connection_upgrade;');
    expect(loc).toMatch(/proxy_read_timeout 1h;/);
  });
  it('has balanced braces', () => {
    expect(conf.split('{').length).toBe(conf.split('}').length);
  });
});

describe('windows service wrapper', () => {
  const mcs = spawnSync('sh', ['-c', 'command -v mcs'], { encoding: 'utf8' }).stdout.trim();
  // Without Mono the C# source cannot be compiled on Linux; test/run.sh installs it.
  it.runIf(!!mcs)("compiles with Mono's C# compiler into a console PE", () => {
    const out = join(tmp('wrapper'), 'canh-agent-service.exe');
    const r = spawnSync(mcs, ['-target:exe', `-out:${out}`, '-r:System.ServiceProcess.dll', join(ROOT, 'deploy/windows/CanhAgentService.cs')], {
      encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).not.toMatch(/error/i);
    expect(readFileSync(out).subarray(0, 2).toString('latin1')).toBe('MZ');
  });
});
