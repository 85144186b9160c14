// The committed config reference and JSON Schemas are what `npm run docs:config` makes
// from today's schemas; and the schema does accept the example configs it documents.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { outputs } from '../../deploy/build/config-docs.ts';
import { parseCollectorConfig } from '../../collector/src/config.ts';
import { parse } from 'yaml';
import { ROOT } from './helpers.ts';

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

  it('the example collector config is valid', () => {
    expect(() => parseCollectorConfig(parse(readFileSync(join(ROOT, 'deploy/collector.example.yaml'), 'utf8')))).not.toThrow();
    expect(() => parseCollectorConfig(parse(readFileSync(join(ROOT, 'deploy/compose/collector.yaml'), 'utf8')))).not.toThrow();
  });
});
