// `canh-agent service install|uninstall|status`, with the service manager faked at the
// process boundary: the tests read the exact commands the installer would run.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installSystemd, statusSystemd, uninstallSystemd, UNIT_PATH } from '../../agent/src/service/systemd.ts';
import { installWindows, statusWindows, uninstallWindows } from '../../agent/src/service/windows.ts';
import { serviceCommand } from '../../agent/src/service/command.ts';
import { recorder, tmp } from './helpers.ts';

function linuxCtx(answers: Parameters<typeof recorder>[0] = {}) {
  const root = tmp('svc');
  const { runner, calls } = recorder(answers);
  const lines: string[] = [];
  return { root, calls, lines, ctx: { runner, root, staged: false, user: 'canh-agent', out: (l: string) => lines.push(l) } };
}

function secrets(root: string): { config: string; token: string } {
  mkdirSync(join(root, 'etc/canh'), { recursive: true });
  const config = join(root, 'etc/canh/agent.yaml');
  const token = join(root, 'etc/canh/agent.token');
  writeFileSync(config, 'collector: {}\n', { mode: 0o644 });
  writeFileSync(token, 't\n', { mode: 0o644 });
  return { config, token };
}

describe('systemd install', () => {
  it('creates the user when missing, hands it the secrets, writes the unit and starts it', async () => {
    const { root, calls, ctx } = linuxCtx({ 'getent passwd': { code: 2 }, 'getent group adm': { code: 2 }, 'systemctl is-active': { code: 3 } });
    const { config, token } = secrets(root);
    await installSystemd(ctx, { exec: ['/usr/local/bin/canh-agent'], configFile: config, tokenFile: token, stateDir: '/var/lib/canh-agent', start: true });
    expect(calls).toEqual([
      'getent passwd canh-agent',
      'useradd --system --user-group --no-create-home --home-dir /var/lib/canh-agent --shell /usr/sbin/nologin --comment Canh monitoring agent canh-agent',
      'getent group adm',
      'getent group systemd-journal',
      `chown canh-agent:canh-agent ${config} ${token}`,
      'systemctl daemon-reload',
      'systemctl is-active --quiet canh-agent.service',
      'systemctl enable --now canh-agent.service',
    ]);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(statSync(token).mode & 0o777).toBe(0o600);
    const unit = readFileSync(join(root, UNIT_PATH), 'utf8');
    expect(unit).toContain(`ExecStart=/usr/local/bin/canh-agent run --config ${config}`);
    // adm did not exist on this "host": a missing group would keep the unit from starting.
    expect(unit).toMatch(/^SupplementaryGroups=systemd-journal$/m);
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_RAW CAP_DAC_READ_SEARCH CAP_SYS_PTRACE$/m);
    expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/canh-agent$/m);
    expect(unit).toMatch(/^StateDirectory=canh-agent$/m);
    for (const d of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=read-only', 'PrivateTmp=yes', 'Restart=on-failure', 'User=canh-agent'])
      expect(unit).toContain(`\n${d}\n`);
  });

  it('on upgrade keeps the user and restarts the running service', async () => {
    const { root, calls, ctx } = linuxCtx({ 'systemctl is-active': { code: 0 } });
    await installSystemd(ctx, {
      exec: ['/usr/bin/node', '/opt/canh agent/canh-agent.cjs'],
      configFile: '/nonexistent/agent.yaml',
      stateDir: '/var/lib/canh-agent',
      start: true,
    });
    expect(calls).not.toContainEqual(expect.stringMatching(/^useradd/));
    expect(calls.slice(-2)).toEqual(['systemctl enable canh-agent.service', 'systemctl restart canh-agent.service']);
    // A path with a space is quoted the way systemd reads ExecStart.
    expect(readFileSync(join(root, UNIT_PATH), 'utf8')).toContain(
      'ExecStart=/usr/bin/node "/opt/canh agent/canh-agent.cjs" run --config /nonexistent/agent.yaml',
    );
  });

  it('reports a failing command with its code and what it said', async () => {
    const { ctx } = linuxCtx({ 'systemctl daemon-reload': { code: 1, stderr: 'Access denied' } });
    await expect(installSystemd(ctx, { exec: ['/x'], configFile: '/nonexistent', stateDir: '/var/lib/canh-agent', start: true })).rejects.toMatchObject({
      code: 'CANH_ERR_SERVICE_COMMAND_FAILED',
      message: expect.stringContaining('`systemctl daemon-reload` exited with 1: Access denied'),
    });
  });

  it('staged (DESTDIR) writes the unit and runs nothing', async () => {
    const { root, calls, ctx } = linuxCtx();
    await installSystemd(
      { ...ctx, staged: true },
      { exec: ['/usr/local/bin/canh-agent'], configFile: '/etc/canh/agent.yaml', stateDir: '/var/lib/canh-agent', start: true },
    );
    expect(calls).toEqual([]);
    expect(existsSync(join(root, UNIT_PATH))).toBe(true);
  });
});

describe('systemd uninstall and status', () => {
  it('stops, disables and removes the unit, and keeps the state without --purge', async () => {
    const { root, calls, ctx, lines } = linuxCtx();
    const state = join(root, 'var/lib/canh-agent');
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(root, UNIT_PATH), '[Service]\n');
    mkdirSync(state, { recursive: true });
    await uninstallSystemd(ctx, { stateDir: state, purge: false });
    expect(calls).toEqual(['systemctl disable --now canh-agent.service', 'systemctl daemon-reload', 'systemctl reset-failed canh-agent.service']);
    expect(existsSync(join(root, UNIT_PATH))).toBe(false);
    expect(existsSync(state)).toBe(true);
    expect(lines.join('\n')).toContain('kept the state folder');
    await uninstallSystemd(ctx, { stateDir: state, purge: true });
    expect(existsSync(state)).toBe(false);
  });

  it("refuses to purge a folder that is not the agent's own", async () => {
    const { ctx } = linuxCtx();
    await expect(uninstallSystemd(ctx, { stateDir: '/var/lib', purge: true })).rejects.toMatchObject({ code: 'CANH_ERR_SERVICE_PURGE_REFUSED' });
  });

  it('status reads systemctl show: 0 when active, 3 when not, 4 when not installed', async () => {
    const show = (s: string) => linuxCtx({ 'systemctl show': { stdout: s } });
    const a = show(
      'LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nMainPID=42\nExecMainStartTimestamp=Mon 2026-01-05 10:00:00 UTC\nNRestarts=2\nResult=success\n',
    );
    expect(await statusSystemd(a.ctx)).toBe(0);
    expect(a.lines.join('\n')).toMatch(/active \(running\), starts at boot[\s\S]*pid 42[\s\S]*restarted 2 times/);
    expect(await statusSystemd(show('LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\nMainPID=0\n').ctx)).toBe(3);
    expect(await statusSystemd(show('LoadState=not-found\nActiveState=inactive\n').ctx)).toBe(4);
  });
});

describe('windows service', () => {
  const exe = 'C:\\Program Files\\Canh\\canh-agent.exe';
  it('creates the service through the wrapper, sets restart on failure and starts it', async () => {
    const { runner, calls } = recorder({ 'sc.exe query': { code: 1060 } });
    const lines: string[] = [];
    const seen: string[] = [];
    const exists = (p: string) => (seen.push(p), true);
    await installWindows(
      { runner, out: (l) => lines.push(l), programData: 'C:\\ProgramData', exists },
      { exe, configFile: 'C:\\ProgramData\\Canh\\agent.yaml', start: true },
    );
    expect(seen).toEqual(['C:\\Program Files\\Canh\\canh-agent-service.exe']);
    expect(calls).toEqual([
      'sc.exe query CanhAgent',
      `sc.exe create CanhAgent binPath= "C:\\Program Files\\Canh\\canh-agent-service.exe" C:\\ProgramData\\Canh\\logs\\canh-agent.log "C:\\Program Files\\Canh\\canh-agent.exe" run --config C:\\ProgramData\\Canh\\agent.yaml start= auto DisplayName= Canh agent`,
      'sc.exe description CanhAgent Canh network and security monitoring agent',
      'sc.exe failure CanhAgent reset= 86400 actions= restart/5000/restart/5000/restart/60000',
      'sc.exe failureflag CanhAgent 1',
      'sc.exe start CanhAgent',
    ]);
  });

  it('refuses to register the bare executable, which cannot answer the service manager', async () => {
    const { runner, calls } = recorder();
    await expect(
      installWindows(
        { runner, out: () => {}, programData: 'C:\\ProgramData', exists: () => false },
        { exe: 'C:\\nowhere\\canh-agent.exe', configFile: 'C:\\x.yaml', start: true },
      ),
    ).rejects.toMatchObject({
      code: 'CANH_ERR_SERVICE_WRAPPER_MISSING',
    });
    expect(calls).toEqual([]);
  });

  it('uninstall tolerates a service that is already gone; status maps sc.exe states', async () => {
    const gone = recorder({ 'sc.exe delete': { code: 1060 }, 'sc.exe query': { code: 1060 } });
    expect(await uninstallWindows({ runner: gone.runner, out: () => {}, programData: 'C:\\ProgramData' }, { stateDir: tmp('st'), purge: false })).toBe(0);
    expect(gone.calls).toEqual(['sc.exe stop CanhAgent', 'sc.exe delete CanhAgent']);
    expect(await statusWindows({ runner: gone.runner, out: () => {}, programData: 'C:\\ProgramData' })).toBe(4);
    const running = recorder({
      'sc.exe query': { stdout: 'SERVICE_NAME: CanhAgent\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : 4  RUNNING\n' },
    });
    expect(await statusWindows({ runner: running.runner, out: () => {}, programData: 'C:\\ProgramData' })).toBe(0);
    const stopped = recorder({ 'sc.exe query': { stdout: '        STATE              : 1  STOPPED\n' } });
    expect(await statusWindows({ runner: stopped.runner, out: () => {}, programData: 'C:\\ProgramData' })).toBe(3);
  });
});

describe('canh-agent service (command line)', () => {
  it('stages with DESTDIR: validates the config, writes the unit, runs nothing', async () => {
    const root = tmp('destdir');
    mkdirSync(join(root, 'etc/canh'), { recursive: true });
    writeFileSync(join(root, 'etc/canh/agent.yaml'), 'collector:\n  url: wss://c.example/v1/agent\n  token_file: /etc/canh/agent.token\n');
    const { runner, calls } = recorder();
    const code = await serviceCommand(['install', '--binary', '/usr/local/bin/canh-agent'], {
      runner,
      platform: 'linux',
      env: { DESTDIR: root },
      out: () => {},
    });
    expect(code).toBe(0);
    expect(calls).toEqual([]);
    expect(readFileSync(join(root, UNIT_PATH), 'utf8')).toContain('ExecStart=/usr/local/bin/canh-agent run --config /etc/canh/agent.yaml');
  });

  it('stops at a broken config before touching the service manager', async () => {
    const root = tmp('destdir');
    mkdirSync(join(root, 'etc/canh'), { recursive: true });
    writeFileSync(join(root, 'etc/canh/agent.yaml'), 'collector:\n  url: http://not-ws\n');
    const { runner, calls } = recorder();
    await expect(serviceCommand(['install'], { runner, platform: 'linux', env: { DESTDIR: root }, out: () => {} })).rejects.toMatchObject({
      code: 'CANH_ERR_CONFIG_INVALID',
    });
    expect(calls).toEqual([]);
    expect(existsSync(join(root, UNIT_PATH))).toBe(false);
  });

  it('rejects a relative --config and unknown platforms', async () => {
    await expect(serviceCommand(['install', '--config', 'agent.yaml'], { platform: 'linux', env: { DESTDIR: '/x' } })).rejects.toMatchObject({
      code: 'CANH_ERR_SERVICE_CONFIG_PATH',
    });
    await expect(serviceCommand(['status'], { platform: 'freebsd', env: {} })).rejects.toMatchObject({ code: 'CANH_ERR_SERVICE_UNSUPPORTED' });
  });
});
