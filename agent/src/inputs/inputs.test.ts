// Walks the list of inputs: names unique, each one's folder documented, and the example
// config in each README accepted by that input's own schema (so docs cannot rot).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { inputs } from './index.ts';

const HOST_INPUTS = ['cpu', 'mem', 'swap', 'disk', 'diskio', 'kernel', 'processes', 'system', 'net'];

function firstYamlBlock(readme: string): string | undefined {
  return /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
}

describe('inputs list', () => {
  it('has unique names', () => {
    const names = inputs.map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('holds the Linux host inputs Telegraf enables by default, all on by default', () => {
    for (const name of HOST_INPUTS) {
      const def = inputs.find((i) => i.name === name);
      expect(def, name).toBeDefined();
      expect(def!.enabledByDefault, name).toBe(true);
      // With no options at all, the schema's defaults must make a valid config.
      expect(def!.config.safeParse({}).success, name).toBe(true);
    }
  });

  describe.each(inputs.map((i) => [i.name, i] as const))('%s', (name, def) => {
    const readmePath = join(import.meta.dirname, name, 'README.md');

    it('has a README.md in its folder', () => {
      expect(existsSync(readmePath)).toBe(true);
    });

    it('has a README whose first yaml example is a list of entries its schema accepts', () => {
      const block = firstYamlBlock(readFileSync(readmePath, 'utf8'));
      expect(block, 'no ```yaml block').toBeDefined();
      const doc: unknown = parse(block!);
      expect(Array.isArray(doc)).toBe(true);
      const entries = doc as Record<string, unknown>[];
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) {
        const { type, interval: _interval, tags: _tags, ...options } = entry;
        expect(type).toBe(name);
        const parsed = def.config.strict().safeParse(options);
        expect(parsed.success, parsed.success ? '' : parsed.error.message).toBe(true);
      }
    });
  });
});
