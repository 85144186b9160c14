// The last content hash seen per checked URL, kept in the agent's state dir so a changed
// static page is noticed across agent restarts (possible defacement, MITRE T1491.002).
import { createHash } from 'node:crypto';
import type { StateStore } from '../types.ts';

/** SHA-256 of the body after removing the parts that change on every load (dates, tokens). */
export function contentHash(body: Buffer, ignore: readonly RegExp[]): string {
  const h = createHash('sha256');
  if (ignore.length === 0) return h.update(body).digest('hex');
  let text = body.toString('utf8');
  for (const re of ignore) text = text.replace(re, '');
  return h.update(text).digest('hex');
}

export class HashStore {
  private readonly state: StateStore;
  constructor(state: StateStore) {
    this.state = state;
  }

  private name(key: string): string {
    return `http_response/${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`;
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const saved = JSON.parse((await this.state.read(this.name(key))) ?? 'null') as { key?: unknown; hash?: unknown } | null;
      return saved?.key === key && typeof saved.hash === 'string' ? saved.hash : undefined;
    } catch {
      return undefined;
    }
  }

  async set(key: string, hash: string, time: number): Promise<void> {
    // Atomic: a crash mid-write must not leave a half file that reads as a change.
    await this.state.write(this.name(key), JSON.stringify({ key, hash, time }));
  }
}
