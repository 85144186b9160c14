import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteRegistry } from './sqlite.ts';

const dirs: string[] = [];
function open(): { reg: SqliteRegistry; file: string } {
  const d = mkdtempSync(join(tmpdir(), 'canh-reg-'));
  dirs.push(d);
  const file = join(d, 'collector.db');
  return { reg: new SqliteRegistry(file), file };
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('sqlite registry', () => {
  it('issues a token once, stores only its hash, authenticates with it', () => {
    const { reg, file } = open();
    const { agent, token } = reg.add({ name: 'mc-portal-01', agency: 'so-tttt', site: 'dc' });
    expect(token).toMatch(/^canh_[A-Za-z0-9_-]{43}$/);
    expect(reg.authenticate(token)?.id).toBe(agent.id);
    expect(reg.authenticate(`${token}x`)).toBeUndefined();
    expect(reg.authenticate('')).toBeUndefined();
    reg.close();
    expect(readFileSync(file).includes(Buffer.from(token))).toBe(false);
  });
  it('revoked tokens stop authenticating; state survives reopening', () => {
    const { reg, file } = open();
    const { token } = reg.add({ name: 'h1', agency: 'a', site: 's' });
    expect(reg.revoke('h1')?.revokedAt).toBeTypeOf('number');
    expect(reg.authenticate(token)).toBeUndefined();
    reg.close();
    const again = new SqliteRegistry(file);
    expect(again.get('h1')?.revokedAt).toBeTypeOf('number');
    expect(again.isRevoked(again.get('h1')!.id)).toBe(true);
    again.close();
  });
  it('refuses duplicate names and unsafe names with clear codes', () => {
    const { reg } = open();
    reg.add({ name: 'h1', agency: 'a', site: 's' });
    expect(() => reg.add({ name: 'h1', agency: 'a', site: 's' })).toThrow(expect.objectContaining({ code: 'CANH_ERR_REGISTRY_EXISTS' }));
    expect(() => reg.add({ name: 'bad name', agency: 'a', site: 's' })).toThrow(expect.objectContaining({ code: 'CANH_ERR_REGISTRY_BAD_NAME' }));
    expect(() => reg.add({ name: 'h2', agency: 'a\nb', site: 's' })).toThrow(/--agency/);
    reg.close();
  });
  it('accepts Vietnamese names and records last seen and version', () => {
    const { reg } = open();
    const { agent } = reg.add({ name: 'máy-chủ-1', agency: 'sở-nội-vụ', site: 'trung-tâm' });
    reg.markSeen(agent.id, 1234, '0.1.0', true);
    expect(reg.list()[0]).toMatchObject({ name: 'máy-chủ-1', lastSeen: 1234, version: '0.1.0', connected: true });
    reg.close();
  });
});
