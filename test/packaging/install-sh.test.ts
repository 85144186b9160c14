// deploy/install.sh against a temporary root (DESTDIR): the files, modes and unit it
// promises, an upgrade that keeps config and state, uninstall and purge. The "binary"
// is the agent bundle behind a two-line launcher, so this test needs no SEA build.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bundleAgent } from '../../deploy/build/bundle.ts';
import { ROOT, tmp } from './helpers.ts';

let launcher = '';
beforeAll(async () => {
  const dir = tmp('bundle');
  const { file } = await bundleAgent({ outfile: join(dir, 'canh-agent.cjs'), quiet: true });
  launcher = join(dir, 'canh-agent');
  writeFileSync(launcher, `#!/bin/sh\nexec '${process.execPath}' '${file}' "$@"\n`);
  chmodSync(launcher, 0o755);
});

function install(destdir: string, args: string[], input?: string) {
  return spawnSync('bash', [join(ROOT, 'deploy/install.sh'), ...args], { env: { PATH: process.env.PATH, DESTDIR: destdir }, encoding: 'utf8', input });
}

const mode = (f: string) => statSync(f).mode & 0o777;

describe('install.sh (DESTDIR)', () => {
  it('installs binary, config, token and unit; upgrades keep the config; uninstall and purge', () => {
    const d = tmp('destdir');
    const tokenFile = join(tmp('tok'), 'agent.token');
    writeFileSync(tokenFile, 's3cret-token\n');
    const r = install(d, ['--binary', launcher, '--url', 'wss://collector.example.gov.vn/v1/agent', '--token-file', tokenFile]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const bin = join(d, 'usr/local/bin/canh-agent');
    const conf = join(d, 'etc/canh/agent.yaml');
    const tok = join(d, 'etc/canh/agent.token');
    const unit = join(d, 'etc/systemd/system/canh-agent.service');
    expect(mode(bin)).toBe(0o755);
    expect(mode(conf)).toBe(0o600);
    expect(mode(tok)).toBe(0o600);
    expect(mode(unit)).toBe(0o644);
    expect(readFileSync(tok, 'utf8')).toBe('s3cret-token\n');
    const yaml = readFileSync(conf, 'utf8');
    expect(yaml).toContain('url: "wss://collector.example.gov.vn/v1/agent"');
    expect(yaml).toContain('token_file: /etc/canh/agent.token');
    expect(yaml).not.toContain('s3cret');
    expect(readFileSync(unit, 'utf8')).toContain('ExecStart=/usr/local/bin/canh-agent run --config /etc/canh/agent.yaml');
    expect(r.stdout).toContain('canh-agent 0.1.0 installed');

    // Upgrade: no URL or token needed, the edited config stays as it is.
    writeFileSync(conf, `${yaml}# local edit\n`, { mode: 0o600 });
    mkdirSync(join(d, 'var/lib/canh-agent'), { recursive: true });
    writeFileSync(join(d, 'var/lib/canh-agent/spool.dat'), 'x');
    const up = install(d, ['--binary', launcher]);
    expect(up.status).toBe(0);
    expect(up.stdout).toContain('upgrade: kept /etc/canh/agent.yaml');
    expect(readFileSync(conf, 'utf8')).toContain('# local edit');
    expect(readFileSync(tok, 'utf8')).toBe('s3cret-token\n');

    const un = install(d, ['--uninstall']);
    expect(un.status).toBe(0);
    expect(existsSync(bin)).toBe(false);
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(conf)).toBe(true);
    expect(existsSync(join(d, 'var/lib/canh-agent/spool.dat'))).toBe(true);
  });

  it('takes the token from standard input, and purge removes config, token and state', () => {
    const d = tmp('destdir');
    const r = install(d, ['--binary', launcher, '--url', 'wss://c.example/v1/agent', '--token-stdin'], 'from-stdin\n');
    expect(r.status).toBe(0);
    expect(readFileSync(join(d, 'etc/canh/agent.token'), 'utf8')).toBe('from-stdin\n');
    mkdirSync(join(d, 'var/lib/canh-agent'), { recursive: true });
    const p = install(d, ['--uninstall', '--purge']);
    expect(p.status).toBe(0);
    for (const f of ['etc/canh/agent.yaml', 'etc/canh/agent.token', 'var/lib/canh-agent', 'usr/local/bin/canh-agent']) expect(existsSync(join(d, f))).toBe(false);
  });

  it('refuses a first install without a token, or with a URL that is not ws(s)', () => {
    const d = tmp('destdir');
    const noToken = install(d, ['--binary', launcher, '--url', 'wss://c.example/v1/agent']);
    expect(noToken.status).not.toBe(0);
    expect(noToken.stderr).toContain('a token is required');
    const badUrl = install(d, ['--binary', launcher, '--url', 'https://c.example/', '--token-stdin'], 't\n');
    expect(badUrl.status).not.toBe(0);
    expect(badUrl.stderr).toContain('--url must start with wss://');
    expect(existsSync(join(d, 'etc/canh/agent.yaml'))).toBe(false);
  });
});
