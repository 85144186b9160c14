// The collector logs with the same logger and redaction list as the agent (@canh/core):
// what it holds of an agent's config (pushed central configs, SNMP devices with their
// communities and SNMPv3 keys) and its own secrets must never reach its log.
import { afterEach, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@canh/core';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the collector's log", () => {
  it('redacts SNMP communities, SNMPv3 keys, tokens and passwords', () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-collector-log-'));
    const file = join(dir, 'log');
    const fd = openSync(file, 'w');
    // As cli.ts makes it.
    const log = createLogger({ name: 'canh-collector', level: 'info', destination: fd, sync: true });
    const central = log.child({ component: 'central' });
    central.info(
      { scope: 'agency', config: { inputs: [{ type: 'snmp', agents: ['10.0.0.1'], community: 'c0mmunity-x', auth_key: 'authk3y-x', priv_key: 'privk3y-x' }] } },
      'central config stored',
    );
    central.warn({ device: { host: '10.0.0.2', community: 'c0mmunity-y' }, auth_key: 'authk3y-y' }, 'device');
    log.info(
      { agent: { name: 'a1', token: 't0ken-x' }, smtp: { auth: { user: 'u', pass: 'pa55-x' } }, req: { headers: { authorization: 'Bearer t0ken-y' } } },
      'misc',
    );
    closeSync(fd);
    const out = readFileSync(file, 'utf8');
    expect(out.trim().split('\n')).toHaveLength(3);
    for (const secret of ['c0mmunity-x', 'c0mmunity-y', 'authk3y-x', 'authk3y-y', 'privk3y-x', 't0ken-x', 't0ken-y', 'pa55-x'])
      expect(out).not.toContain(secret);
    expect(out).toContain('"name":"canh-collector"');
    expect(out).toContain('"host":"10.0.0.2"');
    expect(out).toContain('"user":"u"');
  });
});
