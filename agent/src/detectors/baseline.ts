// Persisted baselines for host-state detectors (file hashes, known ports, accounts, LAN
// devices). A baseline is what "normal" looked like last time; losing it must never stop a
// detector, so a missing or corrupt file is reported and rebuilt, and writes are atomic
// (@canh/core's writeStateFile: temp file + fsync + rename + fsync of the folder) so a
// crash mid-write leaves the previous version intact.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeStateFile } from '@canh/core';

const FORMAT = 1;

export interface BaselineStore<T> {
  readonly path: string;
  /** The saved data, or undefined when there is none yet or it was unreadable. */
  load(): Promise<T | undefined>;
  save(data: T): Promise<void>;
}

/** What a baseline's data must look like: a shape (shape.ts), or any schema with zod's safeParse. */
export interface BaselineSchema<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { message: string }[] } };
}

/** `name` becomes the file name: <stateDir>/baseline-<name>.json. */
export function baselineStore<T>(opts: { stateDir: string; name: string; schema: BaselineSchema<T>; log: Logger }): BaselineStore<T> {
  if (!/^[a-z0-9_.-]+$/i.test(opts.name)) throw new Error(`baseline name must be a plain file name, got "${opts.name}"`);
  const path = join(opts.stateDir, `baseline-${opts.name}.json`);
  return {
    path,
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          opts.log.info({ path }, 'no baseline yet; this run records one and reports no changes');
        } else {
          opts.log.warn(
            { err, path, code: 'CANH_ERR_DETECTOR_BASELINE_UNREADABLE' },
            'cannot read baseline; rebuilding it (check permissions of the agent state_dir)',
          );
        }
        return undefined;
      }
      try {
        const doc = JSON.parse(text) as { format?: unknown; data?: unknown };
        if (doc.format !== FORMAT) throw new Error(`unknown baseline format ${String(doc.format)}`);
        const parsed = opts.schema.safeParse(doc.data);
        if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid');
        return parsed.data;
      } catch (err) {
        const aside = `${path}.corrupt-${Date.now()}`;
        await rename(path, aside).catch(() => {});
        opts.log.warn(
          { err, path, kept_as: aside, code: 'CANH_ERR_DETECTOR_BASELINE_CORRUPT' },
          'baseline file is corrupt; kept it aside and rebuilding (changes made since the last good baseline are not reported)',
        );
        return undefined;
      }
    },
    async save(data) {
      await writeStateFile(path, JSON.stringify({ format: FORMAT, saved_at: new Date().toISOString(), data }));
    },
  };
}
