import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import trapInput from './index.ts';
import { interpret, type ReceivedTrap } from './parse.ts';
import { fakeContext, recorder, testdata } from '../testing.ts';
import type { Accumulator, Input } from '../types.ts';
import type { Varbind } from '../snmp-shared/varbind.ts';
import { freePort } from '../../../../test/helpers/ports.ts';

const run = promisify(execFile);
const limits = { maxVarbinds: 32, maxValueLength: 1024 };

/** Notifications net-snmp decoded from Debian's snmptrap (see testdata/notifications.json). */
function captured(): ReceivedTrap[] {
  const raw = JSON.parse(readFileSync(testdata('snmp_trap', 'notifications.json'), 'utf8'), (_k, v: unknown) =>
    v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data) : v,
  ) as {
    pdu: { type: number; varbinds: Varbind[]; community?: string; enterprise?: string; agentAddr?: string; generic?: number; specific?: number };
    rinfo: { address: string };
  }[];
  return raw.map((n) => ({ source: n.rinfo.address, version: n.pdu.type === 164 ? '1' : '2c', pduType: n.pdu.type, ...n.pdu }));
}

function eventRecorder() {
  const r = recorder();
  const events: Parameters<Accumulator['addEvent']>[0][] = [];
  return Object.assign(r, { events, addEvent: (e: (typeof events)[number]) => void events.push(e) });
}

describe('interpret', () => {
  it('turns a captured v2c linkDown into an event with the port', () => {
    const out = interpret(captured()[0]!, limits);
    expect(out).toMatchObject({
      kind: 'event',
      type: 'snmp_link_down',
      severity: 'medium',
      message: 'SNMP device 127.0.0.1 reports a link down on Gi0/2',
      evidence: { source: '127.0.0.1', ifIndex: 2, ifName: 'Gi0/2', ifAdminStatus: 1, ifOperStatus: 2, trap_oid: '1.3.6.1.6.3.1.1.5.3' },
    });
  });

  it('maps a captured v1 authenticationFailure (generic 4) to its v2 OID', () => {
    expect(interpret(captured()[1]!, limits)).toMatchObject({
      kind: 'event',
      type: 'snmp_auth_failure',
      mitre: 'T1110',
      evidence: { agent_address: '10.0.0.1', trap_oid: '1.3.6.1.6.3.1.1.5.5' },
    });
  });

  it('records an enterprise trap as a point with its varbinds', () => {
    const out = interpret(captured()[2]!, limits);
    expect(out).toEqual({
      kind: 'point',
      tags: { source: '127.0.0.1', oid: '1.3.6.1.4.1.9999.1.2', version: '2c' },
      fields: {
        sysUpTimeInstance: 12345,
        '1.3.6.1.4.1.9999.1.3.0': 'fan 2 failed',
        '1.3.6.1.4.1.9999.1.4.0': 42,
        '1.3.6.1.4.1.9999.1.5.0': 'de:ad:be:ef',
        varbinds: 3,
      },
      int: ['sysUpTimeInstance', '1.3.6.1.4.1.9999.1.4.0', 'varbinds'],
    });
  });

  it('bounds hostile traps: many varbinds, huge strings, no trap OID', () => {
    const varbinds: Varbind[] = Array.from({ length: 500 }, (_, i) => ({ oid: `1.3.6.1.4.1.1.${i}`, type: 4, value: Buffer.alloc(100_000, 0x41) }));
    const out = interpret({ source: '10.0.0.9', version: '2c', pduType: 167, varbinds }, limits);
    if (out.kind !== 'point') throw new Error('expected a point');
    expect(out.tags.oid).toBe('unknown');
    expect(out.fields.varbinds).toBe(500);
    expect(out.fields.varbinds_dropped).toBe(468);
    expect(Object.keys(out.fields)).toHaveLength(32 + 2);
    expect((out.fields['1.3.6.1.4.1.1.0'] as string).length).toBe(1024);
  });
});

describe('config', () => {
  it('parses the README example with the input schema', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const [entry] = parseYaml(/```yaml\n([\s\S]*?)```/.exec(readme)![1]!) as Record<string, unknown>[];
    const { type, interval: _i, tags: _t, ...options } = entry!;
    expect(type).toBe('snmp_trap');
    expect(trapInput.config.parse(options).users).toHaveLength(1);
  });

  it('refuses a listener that would accept nobody', () => {
    expect(trapInput.config.safeParse({}).success).toBe(false);
  });
});

describe('receiving real traps from snmptrap', () => {
  let input: Input | undefined;
  afterEach(async () => {
    await input?.stop?.();
    input = undefined;
  });
  const v3 = { user: 'canh', auth_key: 'canh-auth-pass', priv_key: 'canh-priv-pass' };
  const env = { ...process.env, MIBS: '', MIBDIRS: '' };
  // Up to 20 s by the clock (was 100 sleeps of 20 ms): the assertions after it tell what arrived.
  const waitFor = async (cond: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };

  async function listen() {
    const port = await freePort('udp');
    input = trapInput.create(trapInput.config.parse({ address: '127.0.0.1', port, communities: ['traps'], users: [v3] }), fakeContext());
    const acc = eventRecorder();
    await input.start!(acc);
    return { port, acc };
  }

  it('turns v2c and v3 authPriv traps into events and others into points; drops a wrong community', async () => {
    const { port, acc } = await listen();
    const target = `udp:127.0.0.1:${port}`;
    await run(
      'snmptrap',
      ['-v2c', '-c', 'traps', target, '', '1.3.6.1.6.3.1.1.5.3', '1.3.6.1.2.1.2.2.1.1.7', 'i', '7', '1.3.6.1.2.1.31.1.1.1.1.7', 's', 'ge-0/0/7'],
      { env },
    );
    await run(
      'snmptrap',
      [
        '-v3',
        '-e',
        '0x80001f8880c0ffee01',
        '-u',
        'canh',
        '-l',
        'authPriv',
        '-a',
        'SHA',
        '-A',
        v3.auth_key,
        '-x',
        'AES',
        '-X',
        v3.priv_key,
        target,
        '',
        '1.3.6.1.6.3.1.1.5.1',
      ],
      { env },
    );
    await run('snmptrap', ['-v2c', '-c', 'wrong', target, '', '1.3.6.1.6.3.1.1.5.4'], { env });
    await run(
      'snmptrap',
      [
        '-v3',
        '-e',
        '0x80001f8880c0ffee01',
        '-u',
        'canh',
        '-l',
        'authPriv',
        '-a',
        'SHA',
        '-A',
        'wrong-auth-key',
        '-x',
        'AES',
        '-X',
        v3.priv_key,
        target,
        '',
        '1.3.6.1.6.3.1.1.5.4',
      ],
      { env },
    );
    await run('snmptrap', ['-v2c', '-c', 'traps', target, '', '1.3.6.1.4.1.9999.0.1', '1.3.6.1.4.1.9999.1.1.0', 's', 'psu'], { env });
    await waitFor(() => acc.events.length >= 2 && acc.points.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(acc.events.map((e) => [e.type, e.evidence?.version])).toEqual([
      ['snmp_link_down', '2c'],
      ['snmp_cold_start', '3'],
    ]);
    expect(acc.events[0]!.evidence).toMatchObject({ ifIndex: 7, ifName: 'ge-0/0/7', source: '127.0.0.1' });
    expect(acc.points).toHaveLength(1);
    expect(acc.points[0]).toMatchObject({
      name: 'snmp_trap',
      tags: { oid: '1.3.6.1.4.1.9999.0.1', version: '2c' },
      fields: { '1.3.6.1.4.1.9999.1.1.0': 'psu' },
    });
  });

  it('stores a Counter64 varbind exactly, as a decimal string, also above 2^53', async () => {
    const { port, acc } = await listen();
    const big = '18446744073709551557'; // 2^64 - 59: modulo 2^53 it would read 9007199254740933
    const small = '9007199254740993'; // 2^53 + 1: not a safe integer
    await run(
      'snmptrap',
      [
        '-v2c',
        '-c',
        'traps',
        `udp:127.0.0.1:${port}`,
        '',
        '1.3.6.1.4.1.9999.0.2',
        '1.3.6.1.4.1.9999.1.2.0',
        'C',
        big,
        '1.3.6.1.4.1.9999.1.3.0',
        'C',
        small,
        '1.3.6.1.4.1.9999.1.4.0',
        'C',
        '42',
      ],
      { env },
    );
    await waitFor(() => acc.points.length >= 1);
    expect(acc.points[0]!.fields).toMatchObject({ '1.3.6.1.4.1.9999.1.2.0': big, '1.3.6.1.4.1.9999.1.3.0': small, '1.3.6.1.4.1.9999.1.4.0': '42' });
    expect(acc.points[0]!.int ?? []).not.toContain('1.3.6.1.4.1.9999.1.2.0');
  });

  it('survives garbage datagrams and keeps receiving', async () => {
    const { port, acc } = await listen();
    const { createSocket } = await import('node:dgram');
    const s = createSocket('udp4');
    for (const junk of [Buffer.from('hello'), Buffer.from([0x30, 0x82, 0xff, 0xff, 0x02]), Buffer.alloc(1400, 0x30)]) {
      await new Promise<void>((r) => s.send(junk, port, '127.0.0.1', () => r()));
    }
    s.close();
    await run('snmptrap', ['-v2c', '-c', 'traps', `udp:127.0.0.1:${port}`, '', '1.3.6.1.6.3.1.1.5.2'], { env });
    await waitFor(() => acc.events.length >= 1);
    expect(acc.events.map((e) => e.type)).toEqual(['snmp_warm_start']);
  });

  it('fails start with a clear code when the port is taken, and stop is safe twice', async () => {
    const { port } = await listen();
    const second = trapInput.create(trapInput.config.parse({ address: '127.0.0.1', port, communities: ['x'] }), fakeContext());
    await expect(second.start!(eventRecorder())).rejects.toMatchObject({ code: 'CANH_ERR_SNMP_TRAP_BIND' });
    await second.stop!();
    await second.stop!();
  });
});
