// How a failed validation is told to a person: each problem on its own line, named by
// its path (`inputs[2].targets[0]: ...`). Shared by the wire protocol and both configs.
import type { z } from 'zod';

export function issuePath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s || '(root)';
}

/** One line per problem; `prefix` is where the validated value sits in a larger document. */
export function issueLines(err: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return err.issues.map((i) => {
    const path = issuePath([...prefix, ...i.path]);
    if (i.code === 'unrecognized_keys') return `${path}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${path}: ${i.message}`;
  });
}
