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
    // Staged folders as a package would carry them, not 0700 from the script's umask.
    for (const dir of ['etc', 'etc/systemd', 'etc/systemd/system', 'etc/canh', 'usr', 'usr/local', 'usr/local/bin'])
      expect(mode(join(d, dir)), dir).toBe(0o755);
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

    // An upgrade whose binary rejects the installed config replaces nothing.
    const newer = join(tmp('newer'), 'canh-agent');
    writeFileSync(newer, `${readFileSync(launcher, 'utf8')}# newer\n`, { mode: 0o755 });
    writeFileSync(conf, `${yaml}not_an_option: 1\n`, { mode: 0o600 });
    const refused = install(d, ['--binary', newer]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('does not pass --validate with the new binary');
    expect(readFileSync(bin, 'utf8')).toBe(readFileSync(launcher, 'utf8'));
    writeFileSync(conf, yaml, { mode: 0o600 });
    expect(install(d, ['--binary', newer]).status).toBe(0);
    expect(readFileSync(bin, 'utf8')).toContain('# newer');

    mkdirSync(`${unit}.d`);
    writeFileSync(join(`${unit}.d`, 'override.conf'), '[Service]\nNice=5\n');
    const un = install(d, ['--uninstall']);
    expect(un.status).toBe(0);
    expect(existsSync(bin)).toBe(false);
    expect(existsSync(unit)).toBe(false);
    // Local drop-ins survive a plain uninstall; --purge removes them (next test).
    expect(existsSync(join(`${unit}.d`, 'override.conf'))).toBe(true);
    expect(existsSync(conf)).toBe(true);
    expect(existsSync(join(d, 'var/lib/canh-agent/spool.dat'))).toBe(true);
  }, 180_000);

  it('takes the token from standard input, and purge removes config, token and state', () => {
    const d = tmp('destdir');
    const r = install(d, ['--binary', launcher, '--url', 'wss://c.example/v1/agent', '--token-stdin'], 'from-stdin\n');
    expect(r.status).toBe(0);
    expect(readFileSync(join(d, 'etc/canh/agent.token'), 'utf8')).toBe('from-stdin\n');
    mkdirSync(join(d, 'var/lib/canh-agent'), { recursive: true });
    mkdirSync(join(d, 'etc/systemd/system/canh-agent.service.d'));
    writeFileSync(join(d, 'etc/systemd/system/canh-agent.service.d/override.conf'), '[Service]\nNice=5\n');
    const p = install(d, ['--uninstall', '--purge']);
    expect(p.status).toBe(0);
    for (const f of [
      'etc/canh/agent.yaml',
      'etc/canh/agent.token',
      'var/lib/canh-agent',
      'usr/local/bin/canh-agent',
      'etc/systemd/system/canh-agent.service.d',
    ])
      expect(existsSync(join(d, f)), f).toBe(false);
  }, 120_000);

  it('refuses a token on the command line', () => {
    const d = tmp('destdir');
    const r = install(d, ['--binary', launcher, '--url', 'wss://c.example/v1/agent', '--token', 'visible-in-ps']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--token-file FILE or --token-stdin');
    expect(existsSync(join(d, 'etc/canh/agent.token'))).toBe(false);
  });

  // Live (no DESTDIR) on a host without a running systemd, as this test machine is; the
  // binary would go under a temporary PREFIX, but the script stops before anything.
  it.runIf(!existsSync('/run/systemd/system') && process.getuid?.() === 0)('refuses at once, changing nothing, where systemd is not running', () => {
    const prefix = tmp('prefix');
    const tokenFile = join(tmp('tok'), 'agent.token');
    writeFileSync(tokenFile, 't\n');
    const r = spawnSync('bash', [join(ROOT, 'deploy/install.sh'), '--binary', launcher, '--url', 'wss://c.example/v1/agent', '--token-file', tokenFile], {
      env: { PATH: process.env.PATH, PREFIX: prefix },
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('systemd is not running on this host');
    expect(r.stderr).toContain('nothing was installed');
    expect(existsSync(join(prefix, 'bin'))).toBe(false);
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
