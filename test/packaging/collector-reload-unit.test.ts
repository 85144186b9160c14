// `systemctl reload canh-collector` sends SIGHUP (the collector re-reads its alerting
// config, test/alerting-reload.test.ts), and the unit with that line still verifies.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tmp } from './helpers.ts';

describe('collector unit: reload', () => {
  it('has ExecReload sending SIGHUP to the main process, and verifies', () => {
    const text = readFileSync(join(ROOT, 'deploy/systemd/canh-collector.service'), 'utf8');
    expect(text).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    const program = join(tmp('bin'), 'canh-collector');
    writeFileSync(program, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const dir = tmp('unit');
    const file = join(dir, 'canh-collector.service');
    writeFileSync(file, text.replace(/^ExecStart=\S+/m, `ExecStart=${program}`));
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    const said = `${r.stdout}${r.stderr}`
      .split('\n')
      .filter((l) => l.includes('canh-collector.service') || l.includes(dir))
      .join('\n');
    expect({ code: r.status, said }).toEqual({ code: 0, said: '' });
  });
});
