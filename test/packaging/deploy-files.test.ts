// The container and proxy files: docker compose cannot run here (no engine), so the
// compose file is checked as YAML for the structure the docs promise; the nginx file
// for what a WebSocket proxy needs; the Windows service wrapper compiles when Mono's
// C# compiler is there (Debian: mono-mcs, libmono-system-serviceprocess4.0-cil).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT, tmp } from './helpers.ts';

const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

describe('compose', () => {
  const compose = parse(read('deploy/compose/compose.yaml')) as {
    services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; ports?: string[]; volumes?: string[]; depends_on?: string[] }>;
    volumes: Record<string, unknown>;
  };
  it('runs InfluxDB 1.8, the collector and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['collector', 'grafana', 'influxdb']);
    expect(compose.services.influxdb!.image).toMatch(/^influxdb:1\.8/);
    expect(compose.services.grafana!.image).toMatch(/^grafana\/grafana-oss:/);
    expect(compose.services.collector!.ports).toEqual(['8443:8443']);
    expect(compose.services.collector!.depends_on).toContain('influxdb');
  });
  it('names volumes that exist and paths that exist in the repository', () => {
    const composeDir = join(ROOT, 'deploy/compose');
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.')) {
          // dashboards/generated is made by npm run dashboards:generate; the rest is committed.
          if (!src.endsWith('dashboards/generated')) expect(existsSync(join(composeDir, src)), `${name}: ${src}`).toBe(true);
        } else expect(Object.keys(compose.volumes), `${name}: ${src}`).toContain(src);
      }
    }
    const b = compose.services.collector!.build!;
    expect(existsSync(join(composeDir, b.context, b.dockerfile))).toBe(true);
    expect(existsSync(join(ROOT, 'deploy/grafana/provisioning'))).toBe(true);
  });
  it('the collector image is node:24-slim running the collector CLI as its own user', () => {
    const df = read('deploy/compose/Dockerfile.collector');
    expect(df).toMatch(/^FROM node:24-slim$/m);
    expect(df).toMatch(/^USER canh-collector$/m);
    expect(df).toContain('collector/src/cli.ts');
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
  it.runIf(!!mcs)('compiles with Mono\'s C# compiler into a console PE', () => {
    const out = join(tmp('wrapper'), 'canh-agent-service.exe');
    const r = spawnSync(mcs, ['-target:exe', `-out:${out}`, '-r:System.ServiceProcess.dll', join(ROOT, 'deploy/windows/CanhAgentService.cs')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).not.toMatch(/error/i);
    expect(readFileSync(out).subarray(0, 2).toString('latin1')).toBe('MZ');
  });
});
