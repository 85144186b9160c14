import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, SECRET_KEYS } from './log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** What the logger writes for these calls, one object per line. */
function logged(name: string, write: (log: ReturnType<typeof createLogger>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'canh-log-'));
  dirs.push(dir);
  const file = join(dir, 'log');
  const fd = openSync(file, 'w');
  const log = createLogger({ name, level: 'info', destination: fd, sync: true });
  write(log);
  closeSync(fd);
  return readFileSync(file, 'utf8');
}

describe('createLogger', () => {
  it('redacts every secret key at the top and nested, and keeps the rest', () => {
    const obj: Record<string, unknown> = {};
    for (const k of SECRET_KEYS) obj[k] = `s3cret-${k}`;
    const out = logged('t', (log) => {
      log.info({ ...obj, host: 'h1' }, 'top');
      log.child({ input: 'snmp' }).warn({ device: { ...obj }, config: { inputs: [{ ...obj }] } }, 'nested');
    });
    expect(out).not.toContain('s3cret');
    expect(out).toContain('"host":"h1"');
    expect(out).toContain('"input":"snmp"');
    expect(out.match(/\[redacted\]/g)).toHaveLength(SECRET_KEYS.length * 3);
  });
});
