// The two command lines as an operator uses them.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'canh-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cli: 'agent' | 'collector', args: string[]) {
  const r = spawnSync(process.execPath, [join(root, cli, 'src', 'cli.ts'), ...args], { encoding: 'utf8', env: { ...process.env, CANH_AGENT_TOKEN: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('canh-collector agent add|list|revoke', () => {
  const cfg = join(dir, 'collector.yaml');
  writeFileSync(cfg, `state_dir: ${join(dir, 'state')}\n`);
  it('prints the token once, lists, revokes', () => {
    const add = run('collector', ['agent', 'add', '--config', cfg, '--name', 'mc-portal-01', '--agency', 'so-tttt', '--site', 'dc']);
    expect(add.code).toBe(0);
    // Vietnamese unless the config or --lang says otherwise (status.language); the token alone on its line.
    expect(add.out).toMatch(/^Đã đăng ký tác tử mc-portal-01 \(cơ quan so-tttt, địa điểm dc\)\.\n.*token.*\ncanh_[\w-]{43}\n$/);
    const again = run('collector', ['agent', 'add', '--config', cfg, '--name', 'mc-portal-01', '--agency', 'so-tttt', '--site', 'dc']);
    expect(again.code).toBe(2);
    expect(again.err).toContain('already exists');
    expect(again.err).toContain('CANH_ERR_REGISTRY_EXISTS');
    const list = run('collector', ['agent', 'list', '--config', cfg]);
    expect(list.out.split('\n')[1]).toMatch(/^mc-portal-01\tso-tttt\tdc\tmất kết nối\t-\tchưa bao giờ$/);
    expect(list.out).not.toContain('canh_');
    expect(run('collector', ['agent', 'revoke', 'mc-portal-01', '--config', cfg]).code).toBe(0);
    expect(run('collector', ['agent', 'list', '--config', cfg, '--lang', 'en']).out).toContain('\trevoked\t');
    expect(run('collector', ['agent', 'revoke', 'nobody', '--config', cfg]).code).toBe(2);
    // "SO-TTTT" is the same agency as "so-tttt": normalised with a warning, never a second agency.
    const upper = run('collector', ['agent', 'add', '--config', cfg, '--name', 'web-02', '--agency', 'SO-TTTT', '--site', 'DC', '--json']);
    expect(upper.code).toBe(0);
    expect(upper.err).toContain('using agency "so-tttt", site "dc"');
    expect(JSON.parse(upper.out)).toMatchObject({ agency: 'so-tttt', site: 'dc' });
  });
  it('refuses a bad config with the path of each problem', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'influx: { url: 42 }\nlisten: { prot: 1 }\n');
    const r = run('collector', ['--validate', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('influx.url: ');
    expect(r.err).toContain('listen: unknown key "prot"');
  });
});

describe('canh-agent', () => {
  it('--validate names each problem by path and exits non-zero', () => {
    const bad = join(dir, 'agent-bad.yaml');
    writeFileSync(bad, 'collector: { url: "http://x", token: t }\nagent: { interval: often }\ninputs:\n  - type: cpu\n    percpu: maybe\n');
    const r = run('agent', ['--validate', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('collector.url: must start with ws:// or wss://');
    expect(r.err).toContain('agent.interval: not a duration: "often"');
    expect(r.err).toMatch(/inputs\[0\]\.percpu: /);
  });
  it('check prints line protocol for every configured input', () => {
    const good = join(dir, 'agent.yaml');
    writeFileSync(
      good,
      `collector: { url: "ws://127.0.0.1:1/v1/agent", token: t }\nagent: { state_dir: ${join(dir, 'agent-state')}, hostname: probe }\ninputs:\n  - type: mem\n  - type: system\n  - type: cpu\n`,
    );
    const v = run('agent', ['--validate', '--config', good]);
    expect(v.code).toBe(0);
    const r = run('agent', ['check', '--config', good]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    for (const m of ['mem', 'system', 'cpu']) expect(lines.some((l) => l.startsWith(`${m},host=probe `) || l.startsWith(`${m},cpu=`))).toBe(true);
    for (const l of lines) expect(l).toMatch(/^[a-z_]+(,[^ ]+)? [^ ].* \d{13}$/);
    expect(r.out).toMatch(/^mem,host=probe .*total=\d+i.*used_percent=[\d.]+/m);
  });
  it('--version', () => {
    expect(run('agent', ['--version']).out).toMatch(/^canh-agent \d+\.\d+\.\d+\n$/);
  });
});
