// Walks the list of detectors as inputs.test.ts walks the inputs: names unique and apart
// from the inputs' (one config list holds both), every detector folder listed, each one
// documented with a README whose example its own schema accepts.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inputs } from '../inputs/index.ts';
import { readmeExample } from '../inputs/check-testing.ts';
import { detectors } from './index.ts';

const here = import.meta.dirname;

describe('detectors list', () => {
  it('has unique names that no input uses', () => {
    const names = detectors.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    const inputNames = new Set(inputs.map((i) => i.name));
    expect(names.filter((n) => inputNames.has(n))).toEqual([]);
  });

  it('lists every detector folder (a folder with an index.ts), and the inputs list every input folder', () => {
    const plugins = (dir: string) =>
      readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'index.ts')))
        .map((e) => e.name)
        .sort();
    expect(plugins(here)).toEqual(detectors.map((d) => d.name).sort());
    expect(plugins(join(here, '..', 'inputs'))).toEqual(inputs.map((i) => i.name).sort());
  });

  describe.each(detectors.map((d) => [d.name, d] as const))('%s', (name, def) => {
    it('has a README whose first yaml example its schema accepts', () => {
      expect(() => readmeExample(join(here, name), def)).not.toThrow();
    });
    it('has a description', () => {
      expect(def.description.length).toBeGreaterThan(10);
    });
  });
});
