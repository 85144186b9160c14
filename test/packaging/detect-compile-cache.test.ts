// The bundle's `detect`, started under the agent's Node options, runs again without
// --lite-mode (deploy/build/agent-entry.ts) and gives that second process Node's on-disk
// compile cache, in $XDG_CACHE_HOME/canh-agent or ~/.cache/canh-agent. The cache is code the
// process runs, so it is used only where this user alone can write: a folder others can
// write to is left unused. The verdicts are the same with and without it.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { bundleAgent } from '../../deploy/build/bundle.ts';
import { AGENT_NODE_FLAGS } from '../../agent/src/node-flags.ts';
import { ROOT, tmp } from './helpers.ts';

const log = join(ROOT, 'agent/src/detectors/auth_log/testdata/third-party/beats-secure-rhel7.log');
const args = ['detect', 'auth_log', '--set', 'timezone=UTC', '--set', 'threshold=2', '--file', log];
let bundle = '';
let source = '';

beforeAll(async () => {
  bundle = (await bundleAgent({ outfile: join(tmp('bundle-cache'), 'canh-agent.cjs'), quiet: true })).file;
  const r = spawnSync(process.execPath, [join(ROOT, 'agent/src/cli.ts'), ...args], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  source = r.stdout;
});

function detect(env: NodeJS.ProcessEnv): string {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(NODE_COMPILE_CACHE|NODE_DISABLE_COMPILE_CACHE|XDG_CACHE_HOME|HOME)$/.test(k)),
  );
  const r = spawnSync(process.execPath, [...AGENT_NODE_FLAGS, bundle, ...args], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 120_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

/** Files under a folder, at any depth. */
const filesUnder = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name))
    : [];

describe('detect as installed: the compile cache', () => {
  it('is kept under ~/.cache/canh-agent when the user alone can write there, and read again', () => {
    const home = tmp('home');
    chmodSync(home, 0o700);
    expect(detect({ HOME: home })).toBe(source);
    const cached = filesUnder(join(home, '.cache', 'canh-agent'));
    expect(cached.length).toBeGreaterThan(0);
    expect(detect({ HOME: home })).toBe(source);
    expect(filesUnder(join(home, '.cache', 'canh-agent'))).toEqual(cached);
  });

  it('honours $XDG_CACHE_HOME', () => {
    const xdg = tmp('xdg');
    chmodSync(xdg, 0o700);
    expect(detect({ HOME: tmp('home'), XDG_CACHE_HOME: xdg })).toBe(source);
    expect(filesUnder(join(xdg, 'canh-agent')).length).toBeGreaterThan(0);
  });

  it('is not used in a folder others can write to, nor through a link, nor when NODE_DISABLE_COMPILE_CACHE is set', () => {
    const shared = tmp('shared-cache');
    chmodSync(shared, 0o777);
    expect(detect({ HOME: tmp('home'), XDG_CACHE_HOME: shared })).toBe(source);
    expect(filesUnder(shared)).toEqual([]);
    const loose = join(tmp('loose'), 'canh-agent');
    mkdirSync(loose);
    chmodSync(loose, 0o777);
    expect(detect({ HOME: tmp('home'), XDG_CACHE_HOME: join(loose, '..') })).toBe(source);
    expect(filesUnder(loose)).toEqual([]);
    // canh-agent as a link to a folder of this user's elsewhere: not followed.
    const linked = tmp('linked');
    chmodSync(linked, 0o700);
    const target = tmp('target');
    chmodSync(target, 0o700);
    symlinkSync(target, join(linked, 'canh-agent'));
    expect(detect({ HOME: tmp('home'), XDG_CACHE_HOME: linked })).toBe(source);
    expect(filesUnder(target)).toEqual([]);
    const home = tmp('home');
    chmodSync(home, 0o700);
    expect(detect({ HOME: home, NODE_DISABLE_COMPILE_CACHE: '1' })).toBe(source);
    expect(filesUnder(home)).toEqual([]);
  });
});
