import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileState, memoryState } from './state.ts';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

const BAD = ['', '../x', 'a/../../x', '/etc/passwd', 'a/b/c', '.hidden', 'a\\b', 'x\n'];

describe('fileState', () => {
  it('keeps each name as a file under the state folder, where earlier versions kept it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-ctx-state-'));
    const s = fileState(dir);
    expect(await s.read('reboot/last_boot.json')).toBeUndefined();
    await s.write('reboot/last_boot.json', '{"boot_time":1}');
    await s.write('reboot/last_boot.json', '{"boot_time":2}');
    await s.write('tail-auth.json', 'x');
    expect(await s.read('reboot/last_boot.json')).toBe('{"boot_time":2}');
    expect(readFileSync(join(dir, 'reboot', 'last_boot.json'), 'utf8')).toBe('{"boot_time":2}');
    expect(readdirSync(dir).sort()).toEqual(['reboot', 'tail-auth.json']);
    expect(readdirSync(join(dir, 'reboot'))).toEqual(['last_boot.json']);
  });
  it('refuses names that would leave the state folder', async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-ctx-state-'));
    const s = fileState(dir);
    for (const name of BAD) {
      await expect(s.write(name, 'x'), name).rejects.toThrow(/plain file name/);
      await expect(s.read(name), name).rejects.toThrow(/plain file name/);
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('memoryState', () => {
  it('has the same contract without a disk', async () => {
    const s = memoryState({ 'a.json': '1' });
    expect(await s.read('a.json')).toBe('1');
    expect(await s.read('b.json')).toBeUndefined();
    await s.write('b/c.json', '2');
    expect(await s.read('b/c.json')).toBe('2');
    for (const name of BAD) await expect(s.write(name, 'x'), name).rejects.toThrow(/plain file name/);
  });
});
