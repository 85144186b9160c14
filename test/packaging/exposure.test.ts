// `systemd-analyze security --offline=yes` scores each unit's exposure (0 = locked down,
// 10 = none of systemd's sandboxing): the agent's unit at most 2.5, the collector's at
// most 2.0. The scores are printed, so the test log says where each stands.
// Not run here: the units under a running systemd (this test machine has none as PID 1),
// so the detectors under these restrictions are checked by reasoning in the unit's comments.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderUnit } from '../../agent/src/service/systemd.ts';
import { ROOT, tmp } from './helpers.ts';

function exposure(unitText: string, name: string): { score: number; report: string } {
  const file = join(tmp('exposure'), name);
  // ExecStart must name a program that exists for systemd to load the unit.
  writeFileSync(file, unitText.replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true'));
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
  const report = `${r.stdout}${r.stderr}`;
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(report);
  if (!m) throw new Error(`systemd-analyze security printed no score:\n${report}`);
  return { score: Number(m[1]), report };
}

const units: { name: string; text: () => string; max: number }[] = [
  {
    name: 'canh-agent.service',
    text: () =>
      renderUnit({
        exec: ['/usr/local/bin/canh-agent'],
        configFile: '/etc/canh/agent.yaml',
        stateDir: '/var/lib/canh-agent',
        user: 'canh-agent',
        groups: ['adm', 'systemd-journal'],
      }),
    max: 2.5,
  },
  { name: 'canh-collector.service', text: () => readFileSync(join(ROOT, 'deploy/systemd/canh-collector.service'), 'utf8'), max: 2.0 },
];

describe('systemd exposure', () => {
  for (const u of units) {
    it(`${u.name} scores at most ${u.max}`, () => {
      const { score } = exposure(u.text(), u.name);
      process.stdout.write(`systemd-analyze security --offline=yes ${u.name}: ${score}\n`);
      expect(score).toBeLessThanOrEqual(u.max);
    });
  }

  it('scores a unit without sandboxing high (so the checks above can fail)', () => {
    const bare = '[Unit]\nDescription=bare\n[Service]\nExecStart=/bin/true\n';
    expect(exposure(bare, 'bare.service').score).toBeGreaterThan(8);
  });

  it('the collector unit filters system calls and hides other processes; the agent unit filters calls', () => {
    const c = readFileSync(join(ROOT, 'deploy/systemd/canh-collector.service'), 'utf8');
    for (const line of ['SystemCallFilter=@system-service', 'PrivateMounts=yes', 'RemoveIPC=yes', 'ProtectProc=invisible']) expect(c).toContain(line);
    const a = units[0]!.text();
    for (const line of ['SystemCallFilter=@system-service', 'PrivateMounts=yes', 'RemoveIPC=yes']) expect(a).toContain(line);
    // The processes input and suspicious_process detector must see every process.
    expect(a).not.toMatch(/^ProtectProc=/m);
  });
});
