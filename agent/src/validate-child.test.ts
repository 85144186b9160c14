// The bundle's running agent validates configs in a copy of itself: the answers must be
// those of the in-process check, valid or not. The copy here is the CLI run from source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseCentralConfig } from './config.ts';
import { loadConfigInChild, parseCentralInChild, type Program } from './validate-child.ts';

const program: Program = { cmd: process.execPath, args: [join(import.meta.dirname, 'cli.ts')] };
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'canh-validate-child-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('config validated in a copy of the agent', () => {
  it('returns what loadConfig returns, defaults and definitions included', () => {
    const f = file(
      'ok.yaml',
      `collector: { url: "ws://127.0.0.1:9/v1/agent", token: t }\nagent: { state_dir: ${dir}, interval: 5s }\ninputs:\n  - type: ping\n    urls: [127.0.0.1]\n    timeout: 500ms\n  - type: cpu\n    tags: { rack: a1 }\ndetectors:\n  - type: listening_ports\n`,
    );
    expect(loadConfigInChild(f, program)).toEqual(loadConfig(f));
  });

  it('fails with the same error, code and problems', () => {
    const bad = file(
      'bad.yaml',
      'collector: { url: "http://x", token: t }\nagent: { interval: 7q }\ninputs:\n  - type: nope\n  - type: ping\n    urls: ["-x"]\n',
    );
    const want = thrown(() => loadConfig(bad)) as ConfigError;
    const got = thrown(() => loadConfigInChild(bad, program)) as ConfigError;
    expect(got).toBeInstanceOf(ConfigError);
    expect({ message: got.message, code: got.code, problems: got.problems }).toEqual({ message: want.message, code: want.code, problems: want.problems });
    const yaml = file('broken.yaml', 'collector: [\n');
    expect((thrown(() => loadConfigInChild(yaml, program)) as Error).message).toBe((thrown(() => loadConfig(yaml)) as Error).message);
    const missing = join(dir, 'missing.yaml');
    const gone = thrown(() => loadConfigInChild(missing, program)) as ConfigError;
    expect({ message: gone.message, code: gone.code }).toEqual({
      message: (thrown(() => loadConfig(missing)) as Error).message,
      code: 'CANH_ERR_CONFIG_UNREADABLE',
    });
  });

  it('checks central configs the same way, without blocking', async () => {
    const good = { agent: { interval: '30s' }, inputs: [{ type: 'mem' }, { type: 'ping', urls: ['10.0.0.1'] }] };
    expect(await parseCentralInChild(good, program)).toEqual(parseCentralConfig(good));
    expect(await parseCentralInChild({ detectors: [{ type: 'accounts' }] }, program)).toEqual(parseCentralConfig({ detectors: [{ type: 'accounts' }] }));
    const bad = { agent: { hostname: 'x' }, inputs: [{ type: 'ping' }], extra: 1 };
    const err = await parseCentralInChild(bad, program).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual((thrown(() => parseCentralConfig(bad)) as ConfigError).problems);
  });
});
