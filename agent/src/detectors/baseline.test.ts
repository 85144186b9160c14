import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { pino } from 'pino';
import { baselineStore } from './baseline.ts';

describe('baselineStore', () => {
  let dir: string;
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  const schema = z.object({ known: z.array(z.string()) });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'canh-baseline-'));
    lines.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('missing file: undefined; saved data round-trips, leaving no temp file behind', async () => {
    const store = baselineStore({ stateDir: join(dir, 'state'), name: 'x', schema, log });
    expect(await store.load()).toBeUndefined();
    await store.save({ known: ['a'] });
    await store.save({ known: ['a', 'b'] });
    expect(await store.load()).toEqual({ known: ['a', 'b'] });
    expect(readdirSync(join(dir, 'state'))).toEqual(['baseline-x.json']);
  });

  it('corrupt or wrongly shaped file: set aside with a coded warning, then rebuilt', async () => {
    const store = baselineStore({ stateDir: dir, name: 'x', schema, log });
    for (const bad of ['{"format":1,"data":', '{"format":1,"data":{"known":[1]}}', '{"format":99,"data":{}}', '\u0000\u00ff']) {
      writeFileSync(store.path, bad);
      expect(await store.load()).toBeUndefined();
    }
    expect(lines.filter((l) => l.includes('CANH_ERR_DETECTOR_BASELINE_CORRUPT'))).toHaveLength(4);
    expect(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length).toBeGreaterThan(0);
    await store.save({ known: [] });
    expect(await store.load()).toEqual({ known: [] });
  });

  it('unreadable file is reported, not thrown', async () => {
    // The agent runs as root, which reads any file: a folder in its place is unreadable to all.
    const store = baselineStore({ stateDir: dir, name: 'x', schema, log });
    mkdirSync(store.path);
    expect(await store.load()).toBeUndefined();
    expect(lines.some((l) => l.includes('CANH_ERR_DETECTOR_BASELINE_UNREADABLE'))).toBe(true);
  });

  it('refuses a name that is not a plain file name', () => {
    expect(() => baselineStore({ stateDir: dir, name: '../etc/passwd', schema, log })).toThrow(/plain file name/);
  });
});
