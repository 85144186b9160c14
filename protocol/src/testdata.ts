// Golden frames shared by the protocol's, the agent's and the collector's tests.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', 'testdata');

export function goldenFrames(kind: 'valid' | 'invalid' | 'hostile'): { name: string; text: string }[] {
  return readdirSync(join(root, kind))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), text: readFileSync(join(root, kind, f), 'utf8') }));
}
