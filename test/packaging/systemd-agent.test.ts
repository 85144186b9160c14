// The agent as it really runs on a Debian host: installed by deploy/install.sh on its
// live path (useradd, the unit, systemctl enable --now) into a machine where systemd is
// PID 1 (test/helpers/systemd-machine.ts), then its detectors judged under the unit's
// whole sandbox — its own user with two ambient capabilities, ProtectSystem=strict,
// ProtectHome=read-only, PrivateDevices, PrivateTmp, SystemCallFilter=@system-service,
// RestrictNamespaces... — against real actions inside that machine. Each action must
// reach the collector (outside the machine, on 127.0.0.1) as its security event.
// The machine's PID namespace is its own: the agent sees only its processes, as on a host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleAgent } from '../../deploy/build/bundle.ts';
import { bootSystemdMachine, type SystemdMachine } from '../helpers/systemd-machine.ts';
import { startPipeline, type Pipeline } from '../helpers/pipeline.ts';
import { pollUntil } from '../helpers/process.ts';
import { ROOT } from './helpers.ts';

let machine: SystemdMachine;
let p: Pipeline;

beforeAll(async () => {
  p = await startPipeline();
  // The checkout (and the Node running this test) must be visible inside, wherever it is.
  machine = await bootSystemdMachine({ keep: [ROOT] });
  const { token } = p.collector.registry.add({ name: 'sdhost', agency: 'so-tttt', site: 'dc1' });
  await bundleAgent({ outfile: join(machine.share, 'canh-agent.cjs'), quiet: true });
  // The "executable": Node 24 of this checkout running the bundle (the SEA build is
  // tested in executable.test.ts; what is judged here is the unit, not the binary).
  // Node is copied in: the unit's PrivateTmp hides a checkout under /tmp (as CI clones it).
  writeFileSync(join(machine.share, 'canh-agent'), `#!/bin/sh\nexec /opt/canh-test/node /opt/canh-test/canh-agent.cjs "$@"\n`);
  chmodSync(join(machine.share, 'canh-agent'), 0o755);
  writeFileSync(join(machine.share, 'token'), `${token}\n`);
}, 180_000);

afterAll(async () => {
  rmSync('/dev/shm/canh-test-x', { force: true });
  machine?.stop();
  await p?.stop();
});

const events = async (type: string) => p.query(`SELECT * FROM security_event WHERE "host" = 'sdhost' AND "type" = '${type}'`);

describe('the agent under its systemd unit (systemd as PID 1, install.sh live path)', () => {
  it('installs with useradd and systemctl, and every detector still sees what it must', async () => {
    // A host auth log readable by group adm only, as Debian's rsyslog writes it.
    machine.sh('getent group adm >/dev/null || groupadd -r adm; : > /var/log/auth.log; chown root:adm /var/log/auth.log; chmod 0640 /var/log/auth.log');
    machine.sh(`mkdir -p /opt/canh-test && cp /run/canh-share/canh-agent.cjs /opt/canh-test/ && cp '${process.execPath}' /opt/canh-test/node`);
    const out = machine.sh(
      `bash ${ROOT}/deploy/install.sh --binary /run/canh-share/canh-agent --url ws://127.0.0.1:${new URL(p.url).port}/v1/agent --token-file /run/canh-share/token`,
      { timeout: 120_000 },
    );
    expect(out).toContain('installed');
    expect(machine.sh('id -u canh-agent').trim()).toMatch(/^\d+$/);
    expect(machine.sh('systemctl is-enabled canh-agent').trim()).toBe('enabled');

    // Detectors on, with short intervals so the test does not wait minutes.
    machine.sh(`cat >> /etc/canh/agent.yaml <<'EOF'
detectors:
  - type: auth_log
    path: /var/log/auth.log
    threshold: 5
  - type: suspicious_process
    interval: 1s
  - type: listening_ports
    interval: 1s
    grace_intervals: 1
  - type: persistence
    interval: 1s
    files_interval: 1s
    categories: [cron, systemd, sudoers]
  - type: file_integrity
    paths: [/etc/passwd, /etc/shadow, /etc/group]
    debounce: 200ms
EOF
systemctl restart canh-agent`);
    // The running process (once systemd has dropped to the unit's user and exec'd Node)
    // holds exactly the unit's two capabilities and its seccomp filter.
    const status = await pollUntil(
      async () => {
        const show = machine.sh('systemctl show -p ActiveState,MainPID canh-agent');
        const pid = /MainPID=(\d+)/.exec(show)?.[1];
        if (!show.includes('ActiveState=active') || !pid || pid === '0') return undefined;
        // Node names its main thread (MainThread) once it runs; the command line says it is the agent.
        // Read before the status: once the command line is the agent's, execve is done, so the status
        // read after it is the agent's (read the other way round, a status taken between systemd's
        // setuid and its execve showed the executor's capabilities, 0x100).
        const cmdline = machine.exec('cat', [`/proc/${pid}/cmdline`]).stdout;
        if (!cmdline.includes('canh-agent.cjs')) return undefined;
        const st = machine.exec('cat', [`/proc/${pid}/status`]).stdout;
        return /^Uid:\s+[1-9]/m.test(st) ? st : undefined;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 200,
        what: 'canh-agent running as its own user',
        onTimeout: () => machine.exec('systemctl', ['status', '--no-pager', 'canh-agent']).stdout,
      },
    );
    expect(status).toMatch(/^Uid:\s+(\d+)/m);
    expect(Number(/^Uid:\s+(\d+)/m.exec(status)![1])).toBeGreaterThan(0);
    expect(/^CapEff:\s+([0-9a-f]+)/m.exec(status)![1]).toBe((2n ** 2n + 2n ** 13n + 2n ** 19n).toString(16).padStart(16, '0')); // CAP_DAC_READ_SEARCH (2), CAP_NET_RAW (13), CAP_SYS_PTRACE (19)
    expect(/^Seccomp:\s+(\d)/m.exec(status)![1]).toBe('2');

    // Baselines first: the agent reports itself, and every detector that keeps one has saved
    // its baseline (the auth log: its position), so what follows is a change, not part of the
    // baseline. suspicious_process keeps none: it judges every process it lists, at any gather.
    const counted = (r: Record<string, unknown>[]) => Math.max(0, ...Object.values(r[0] ?? {}).filter((v): v is number => typeof v === 'number'));
    await p.waitFor(`SELECT count(*) FROM "agent" WHERE "host" = 'sdhost'`, (r) => counted(r) >= 2, 90_000);
    const stateFiles = ['tail-auth_log', ...['listening_ports', 'persistence', 'file_integrity'].map((d) => `baseline-${d}`)].map((f) => `${f}.json`);
    await pollUntil(
      async () => {
        const present = machine.sh('ls /var/lib/canh-agent').split('\n');
        return stateFiles.every((f) => present.includes(f)) ? true : undefined;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 200,
        what: `${stateFiles.join(', ')} in /var/lib/canh-agent`,
        onTimeout: () => machine.sh('ls -la /var/lib/canh-agent'),
      },
    );

    // The actions, each inside the machine.
    const stamp = () => machine.sh(`date '+%b %e %H:%M:%S'`).trim();
    const lines = Array.from(
      { length: 6 },
      (_, i) => `${stamp()} sdhost sshd[${4100 + i}]: Failed password for root from 198.51.100.77 port ${40000 + i} ssh2`,
    ).join('\n');
    machine.sh(`cat >> /var/log/auth.log <<'EOF'\n${lines}\nEOF`);
    machine.sh(`cp /bin/sleep /dev/shm/canh-test-x && (setsid /dev/shm/canh-test-x 300 </dev/null >/dev/null 2>&1 &)`);
    machine.sh(`(setsid python3 -m http.server 31337 --bind 127.0.0.1 </dev/null >/dev/null 2>&1 &)`);
    machine.sh(
      `printf '* * * * * root /dev/shm/canh-test-x\\n' > /etc/cron.d/canh-evil; printf '[Service]\\nExecStart=/bin/true\\n' > /etc/systemd/system/canh-evil.service`,
    );
    machine.sh('useradd -r -M -s /usr/sbin/nologin canh-backdoor');

    // Each action's own event (the machine shares the host's network, so other listeners
    // and processes of the test host may raise events of the same types meanwhile).
    type Row = Record<string, unknown>;
    const expected: Record<string, (r: Row) => boolean> = {
      brute_force: (r) => r.src_ip === '198.51.100.77',
      // Root's processes, the agent is not root: only CAP_SYS_PTRACE shows it their /proc/PID/exe and fds.
      suspicious_process: (r) => r.exe === '/dev/shm/canh-test-x' && r.user === 'root',
      new_listening_port: (r) => Number(r.port) === 31337 && r.severity === 'high' && String(r.process ?? r.exe).includes('python3'),
      cron_job_added: (r) => String(r.path ?? r.message).includes('/etc/cron.d/canh-evil'),
      systemd_unit_added: (r) => String(r.path ?? r.message).includes('canh-evil.service'),
      // /etc/shadow is 0640 root:shadow: only CAP_DAC_READ_SEARCH lets the agent's user hash it.
      file_modified: (r) => r.path === '/etc/shadow',
    };
    const seen: Record<string, number> = {};
    for (const [type, mine] of Object.entries(expected)) {
      const rows = await p
        .waitFor(`SELECT * FROM security_event WHERE "host" = 'sdhost' AND "type" = '${type}'`, (r) => r.some(mine), 90_000)
        .catch(() => events(type));
      seen[type] = rows.filter(mine).length;
    }
    console.log(`detectors under the unit's sandbox (this test's events stored, per type): ${JSON.stringify(seen)}`);
    for (const t of Object.keys(expected)) expect(seen[t], t).toBeGreaterThan(0);
    machine.sh('rm -f /dev/shm/canh-test-x');

    // The exposure systemd itself computes for the running unit.
    const exposure = machine.exec('systemd-analyze', ['security', '--no-pager', 'canh-agent.service']);
    const overall = /Overall exposure level for canh-agent\.service:\s*([\d.]+)/.exec(exposure.stdout + exposure.stderr);
    console.log(`systemd-analyze security canh-agent.service (running unit): ${overall?.[1] ?? 'not printed'}`);
    expect(Number(overall?.[1])).toBeLessThanOrEqual(2.5);
  }, 300_000);
});
