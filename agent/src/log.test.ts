// The agent logs with the same logger and redaction list as the collector (@canh/core):
// its config (the collector token, SNMP communities and SNMPv3 keys of the snmp and
// snmp_trap inputs) must never reach its log.
import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@canh/core';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the agent's log", () => {
  it('redacts the collector token, SNMP communities and SNMPv3 keys', () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-agent-log-'));
    const file = join(dir, 'log');
    const fd = openSync(file, 'w');
    // As cli.ts makes it.
    const log = createLogger({ name: 'canh-agent', level: 'info', destination: fd, sync: true });
    log.info({ config: { collector: { url: 'wss://c', token: 't0ken-a' }, inputs: [{ type: 'snmp', community: 'c0mmunity-a' }] } }, 'config');
    log.child({ input: 'snmp' }).warn({ device: { host: '10.0.0.9', community: 'c0mmunity-b', auth_key: 'authk3y-a', priv_key: 'privk3y-a' } }, 'poll failed');
    log.child({ input: 'snmp_trap' }).info({ user: { name: 'u3', auth_key: 'authk3y-b' } }, 'v3 user');
    closeSync(fd);
    const out = readFileSync(file, 'utf8');
    expect(out.trim().split('\n')).toHaveLength(3);
    for (const secret of ['t0ken-a', 'c0mmunity-a', 'c0mmunity-b', 'authk3y-a', 'authk3y-b', 'privk3y-a']) expect(out).not.toContain(secret);
    expect(out).toContain('"host":"10.0.0.9"');
    expect(out).toContain('"url":"wss://c"');
  });
});
