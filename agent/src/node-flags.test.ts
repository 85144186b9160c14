import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from './node-flags.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.includes('testing')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('the Node options the agent ships with', () => {
  it('are accepted by this Node, and what they leave out is not used by the agent', () => {
    const out = execFileSync(process.execPath, [...AGENT_NODE_FLAGS, '-p', 'typeof WebAssembly'], { encoding: 'utf8' }).trim();
    if (out === 'undefined') {
      // No WebAssembly, so no fetch: the agent's own code must not call either.
      const users = sources(import.meta.dirname).filter((f) => /\bfetch\(|\bWebAssembly\b/.test(readFileSync(f, 'utf8').replace(/^\s*\/\/.*$/gm, '')));
      expect(users).toEqual([]);
    }
    expect(['object', 'undefined']).toContain(out);
  });
});
