// The last content hash seen per checked URL, kept in the agent's state dir so a changed
// static page is noticed across agent restarts (possible defacement, MITRE T1491.002).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** SHA-256 of the body after removing the parts that change on every load (dates, tokens). */
export function contentHash(body: Buffer, ignore: readonly RegExp[]): string {
  const h = createHash('sha256');
  if (ignore.length === 0) return h.update(body).digest('hex');
  let text = body.toString('utf8');
  for (const re of ignore) text = text.replace(re, '');
  return h.update(text).digest('hex');
}

export class HashStore {
  private readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'http_response');
  }

  private file(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const saved = JSON.parse(await readFile(this.file(key), 'utf8')) as { key?: unknown; hash?: unknown };
      return saved.key === key && typeof saved.hash === 'string' ? saved.hash : undefined;
    } catch {
      return undefined;
    }
  }

  async set(key: string, hash: string, time: number): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o750 });
    const f = this.file(key);
    // Write then rename: a crash mid-write must not leave a half file that reads as a change.
    await writeFile(`${f}.tmp`, JSON.stringify({ key, hash, time }));
    await rename(`${f}.tmp`, f);
  }
}
