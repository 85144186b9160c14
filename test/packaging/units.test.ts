// Both systemd units pass `systemd-analyze verify` (Debian package systemd). verify
// exits 0 even for settings it ignores, so any line it prints about the unit fails too.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderUnit } from '../../agent/src/service/systemd.ts';
import { ROOT, tmp } from './helpers.ts';

function verify(unitText: string, name: string): { code: number; said: string } {
  const dir = tmp('unit');
  const file = join(dir, name);
  writeFileSync(file, unitText);
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  // Messages about other units on this host (a container's own units) are not ours.
  const said = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.includes(name) || l.includes(dir))
    .join('\n');
  return { code: r.status ?? -1, said };
}

/** A real executable for ExecStart: verify checks that the program exists. */
function program(): string {
  const p = join(tmp('bin'), 'canh-agent');
  writeFileSync(p, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return p;
}

describe('systemd units', () => {
  it('the agent unit verifies', () => {
    const unit = renderUnit({
      exec: [program()],
      configFile: '/etc/canh/agent.yaml',
      stateDir: '/var/lib/canh-agent',
      user: 'canh-agent',
      groups: ['adm', 'systemd-journal'],
    });
    expect(verify(unit, 'canh-agent.service')).toEqual({ code: 0, said: '' });
  });

  it('the agent unit with a state folder of its own choosing verifies', () => {
    const unit = renderUnit({ exec: [program()], configFile: '/etc/canh/agent.yaml', stateDir: '/srv/canh state', user: 'canh-agent', groups: [] });
    expect(unit).not.toContain('StateDirectory=');
    expect(unit).toContain('ReadWritePaths="/srv/canh state"');
    expect(verify(unit, 'canh-agent.service')).toEqual({ code: 0, said: '' });
  });

  it('the collector unit verifies', () => {
    const text = readFileSync(join(ROOT, 'deploy/systemd/canh-collector.service'), 'utf8');
    expect(text).toMatch(/^ExecStart=\/opt\/canh-collector\/bin\/canh-collector serve --config \/etc\/canh\/collector.yaml$/m);
    // The host running the tests has no /opt/canh-collector: point ExecStart at a program that exists.
    const unit = text.replace(/^ExecStart=\S+/m, `ExecStart=${program()}`);
    expect(verify(unit, 'canh-collector.service')).toEqual({ code: 0, said: '' });
  });

  it('verify does catch a broken unit (so the checks above can fail)', () => {
    const unit = renderUnit({
      exec: ['/nonexistent/canh-agent'],
      configFile: '/etc/canh/agent.yaml',
      stateDir: '/var/lib/canh-agent',
      user: 'canh-agent',
      groups: [],
    }).replace('ProtectSystem=strict', 'ProtectSystem=sometimes');
    const r = verify(unit, 'canh-agent.service');
    expect(r.said).toMatch(/protect system value/i);
    expect(r.said).toMatch(/nonexistent/);
  });
});

describe('monthly report units', () => {
  it('the report service and its timer verify', () => {
    const dir = tmp('report-unit');
    const svc = readFileSync(join(ROOT, 'deploy/systemd/canh-collector-report.service'), 'utf8');
    expect(svc).toMatch(/^ExecStart=\/opt\/canh-collector\/bin\/canh-collector report --format pdf /m);
    writeFileSync(join(dir, 'canh-collector-report.service'), svc.replace(/^ExecStart=\S+/m, `ExecStart=${program()}`));
    const timer = readFileSync(join(ROOT, 'deploy/systemd/canh-collector-report.timer'), 'utf8');
    expect(timer).toMatch(/^OnCalendar=\*-\*-02 07:00:00$/m);
    writeFileSync(join(dir, 'canh-collector-report.timer'), timer);
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'canh-collector-report.timer'), join(dir, 'canh-collector-report.service')], {
      encoding: 'utf8',
    });
    const said = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.includes('canh-collector-report') || l.includes(dir))
      .join('\n');
    expect({ code: r.status, said }).toEqual({ code: 0, said: '' });
  });
});
