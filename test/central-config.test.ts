// Central configuration: the collector pushes inputs to a group of agents over the open
// connection; the agent applies them without a restart and reports the result; a bad
// config is refused with the reason while the previous one keeps running.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
}, 60_000);
afterAll(async () => {
  await p?.stop();
});

const until = async (check: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('central configuration', () => {
  it('pushes, applies without restart, refuses a bad one and keeps the previous', async () => {
    const h = await p.addAgent({ name: 'ubnd-01', agency: 'ubnd', site: 'tru-so', inputs: [{ type: 'mem' }] });
    await p.addAgent({ name: 'other-01', agency: 'so-yte', site: 'bv', inputs: [{ type: 'mem' }] });
    const central = p.collector.central!;
    const agentId = p.collector.registry.get('ubnd-01')!.id;

    const v1 = central.push({ scope: 'agency', target: 'ubnd', config: { inputs: [{ type: 'kernel' }, { type: 'system' }] }, author: 'test' });
    await until(() => central.applied(agentId)?.version === v1.version);
    expect(central.applied(agentId)!.errors).toEqual([]);
    expect(h.agent.configVersion).toBe(v1.version);
    const since = Date.now();
    await p.waitFor(`SELECT count(*) FROM kernel WHERE host = 'ubnd-01' AND time > ${since}ms`, (r) => r.length > 0);
    // The other agency's agent is untouched.
    expect(central.applied(p.collector.registry.get('other-01')!.id)).toBeUndefined();
    expect(await p.query(`SELECT count(*) FROM kernel WHERE host = 'other-01'`)).toEqual([]);
    // mem is no longer gathered by ubnd-01 (central inputs replace the local list).
    await new Promise((r) => setTimeout(r, 1500));
    const t = Date.now();
    // Until the agent has gathered after t (its kernel point of that tick is stored, in the
    // same batch mem's would be in), not a fixed 2.5 s that a slow machine may not fill.
    await p.waitFor(`SELECT count(*) FROM kernel WHERE host = 'ubnd-01' AND time > ${t}ms`, (r) => r.length > 0);
    expect(await p.query(`SELECT count(*) FROM mem WHERE host = 'ubnd-01' AND time > ${t}ms`)).toEqual([]);

    // A bad config (pushed around the CLI's validation) is refused with the reason.
    const v2 = central.push({ scope: 'agent', target: 'ubnd-01', config: { inputs: [{ type: 'kernel', nonsense: 1 }] } });
    await until(() => central.applied(agentId)?.version === v2.version);
    expect(central.applied(agentId)!.errors).toEqual(['inputs[0]: unknown key "nonsense"']);
    expect(h.agent.configVersion).toBe(v1.version);
    const since2 = Date.now();
    await p.waitFor(`SELECT count(*) FROM kernel WHERE host = 'ubnd-01' AND time > ${since2}ms`, (r) => r.length > 0);

    // What was applied is kept in the state folder for a restart without the collector.
    const saved = JSON.parse(readFileSync(join(h.stateDir, 'central-config.json'), 'utf8')) as { version: number };
    expect(saved.version).toBe(v1.version);
  }, 60_000);

  it('the CLI validates before storing and shows what each agent runs', () => {
    const cfg = join(p.dir, 'collector.yaml');
    writeFileSync(cfg, `state_dir: ${p.config.state_dir}\nlisten: { port: 0 }\n`);
    const bad = join(p.dir, 'bad.yaml');
    writeFileSync(bad, 'inputs:\n  - type: kernel\n  - type: nope\n');
    const cli = join(import.meta.dirname, '..', 'collector', 'src', 'cli.ts');
    let err = '';
    try {
      execFileSync(process.execPath, [cli, 'config', 'push', '--config', cfg, '--file', bad, '--global'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = String((e as { stderr: string }).stderr);
    }
    expect(err).toMatch(/inputs\[1\]\.type: unknown input "nope"/);
    const good = join(p.dir, 'good.yaml');
    writeFileSync(good, 'agent: { interval: 5s }\ninputs:\n  - type: kernel\n');
    const outPush = execFileSync(process.execPath, [cli, 'config', 'push', '--config', cfg, '--file', good, '--site', 'so-yte/bv', '--comment', 'hospital'], {
      encoding: 'utf8',
    });
    expect(outPush).toMatch(/^Đã lưu cấu hình phiên bản \d+ cho địa điểm so-yte\/bv/);
    const show = JSON.parse(execFileSync(process.execPath, [cli, 'config', 'show', '--config', cfg, '--json'], { encoding: 'utf8' })) as {
      agent: string;
      scope: string;
    }[];
    expect(show.find((r) => r.agent === 'other-01')!.scope).toBe('site so-yte/bv');
    expect(show.find((r) => r.agent === 'ubnd-01')!.scope).toBe('agent ubnd-01');
    expect(existsSync(cfg)).toBe(true);

    // User mistakes: a coded message, exit 2, never a stack trace.
    const fail = (...args: string[]) => {
      try {
        execFileSync(process.execPath, [cli, 'config', 'push', '--config', cfg, ...args], { encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        const x = e as { status: number; stderr: string };
        expect(x.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
        return { status: x.status, stderr: x.stderr };
      }
      throw new Error(`config push ${args.join(' ')} succeeded`);
    };
    const typo = fail('--file', good, '--agency', 'so-yt');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/no registered agent is in agency "so-yt" \(agencies: .*so-yte.*\n\(CANH_ERR_CONFIG_UNKNOWN_TARGET\)/);
    expect(fail('--file', good, '--site', 'so-yte/bvv').stderr).toMatch(/sites: .*so-yte\/bv.*\n\(CANH_ERR_CONFIG_UNKNOWN_TARGET\)/);
    expect(
      execFileSync(process.execPath, [cli, 'config', 'push', '--config', cfg, '--file', good, '--agency', 'so-moi', '--force'], { encoding: 'utf8' }),
    ).toMatch(/cho cơ quan so-moi;/);
    const missing = fail('--file', join(p.dir, 'no-such.yaml'), '--global');
    expect(missing).toMatchObject({ status: 2 });
    expect(missing.stderr).toMatch(/cannot read .*no-such\.yaml \(ENOENT\)\n\(CANH_ERR_CONFIG_UNREADABLE\)/);
    const broken = join(p.dir, 'broken.yaml');
    writeFileSync(broken, 'inputs: [\n  - type: kernel\n');
    const yaml = fail('--file', broken, '--global');
    expect(yaml).toMatchObject({ status: 2 });
    expect(yaml.stderr).toMatch(/broken\.yaml is not valid YAML.*\n\(CANH_ERR_CONFIG_INVALID\)/);
  }, 240_000); // ten processes of the CLI: slow on a loaded machine, not a speed test
});
