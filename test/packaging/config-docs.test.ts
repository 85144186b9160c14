// The committed config reference and JSON Schemas are what `npm run docs:config` makes
// from today's schemas; and the schema does accept the example configs it documents.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { outputs } from '../../deploy/build/config-docs.ts';
import { parseCollectorConfig } from '../../collector/src/config.ts';
import { parse } from 'yaml';
import { ROOT, tmp } from './helpers.ts';

describe('generated config docs', () => {
  for (const [file, text] of Object.entries(outputs())) {
    it(`${file} is up to date (run npm run docs:config)`, () => {
      expect(readFileSync(join(ROOT, file), 'utf8')).toBe(text);
    });
  }

  it('documents every agent option with its default', () => {
    const md = outputs()['docs/operating/config-reference.md']!;
    expect(md).toMatch(/\| `agent\.interval` \| duration \| `"10s"` \|/);
    expect(md).toMatch(/\| `listen\.port` \| integer \| `8443` \|/);
    expect(md).toContain('### `ping`');
  });

  it('takes each description from the comment above its key only, never code around it', () => {
    const descriptions = (v: unknown): string[] =>
      typeof v !== 'object' || v === null ? [] : Object.entries(v).flatMap(([k, x]) => (k === 'description' && typeof x === 'string' ? [x] : descriptions(x)));
    for (const [file, text] of Object.entries(outputs())) {
      if (!file.endsWith('.json')) continue;
      const all = descriptions(JSON.parse(text));
      expect(all.length, file).toBeGreaterThan(50);
      for (const d of all) expect(d, file).not.toMatch(/\*\/|=>|\bfunction\b|\bconst\b|\breturn\b/);
    }
    expect(outputs()['docs/operating/config-reference.md']).toMatch(
      /\| `listen\.tls` \| object \| {2}\| Serve wss:\/\/ directly; otherwise put a TLS proxy in front \(deploy\/nginx\)\. \|/,
    );
  });

  it('the example collector config is valid', () => {
    expect(() => parseCollectorConfig(parse(readFileSync(join(ROOT, 'deploy/collector.example.yaml'), 'utf8')))).not.toThrow();
    // The compose config names its secrets under /run/secrets: made here by make-secrets.sh.
    const secrets = tmp('compose-secrets');
    const made = spawnSync('bash', [join(ROOT, 'deploy/compose/make-secrets.sh'), 'collector.example.gov.vn'], {
      env: { PATH: process.env.PATH, CANH_SECRETS_DIR: secrets },
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).toBe(0);
    const compose = readFileSync(join(ROOT, 'deploy/compose/collector.yaml'), 'utf8').replaceAll('/run/secrets/', `${secrets}/`);
    expect(() => parseCollectorConfig(parse(compose))).not.toThrow();
  });
});
