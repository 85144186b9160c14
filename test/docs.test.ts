// Docs and code stay in step: every error code the code can raise is listed in
// docs/errors.md, and every listed code still exists in the code.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'generated' || name === 'testdata') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// The registry (core/src/errors.ts) names every code; the code that raises them is elsewhere.
const registry = join(root, 'core', 'src', 'errors.ts');

describe('docs/errors.md', () => {
  const files = ['core', 'protocol', 'agent', 'collector', 'dashboards'].flatMap((d) => sources(join(root, d))).filter((f) => f !== registry);
  const inCode = new Set(files.flatMap((f) => readFileSync(f, 'utf8').match(/CANH_ERR_[A-Z0-9_]+/g) ?? []));
  const documented = new Set(readFileSync(join(root, 'docs', 'errors.md'), 'utf8').match(/CANH_ERR_[A-Z0-9_]+/g) ?? []);
  it('lists every code the code raises', () => {
    expect([...inCode].filter((c) => !documented.has(c)).sort()).toEqual([]);
  });
  it('lists no code that no longer exists', () => {
    expect([...documented].filter((c) => !inCode.has(c)).sort()).toEqual([]);
  });
});
