import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import snmpInput, { deviceName } from './index.ts';
import { columnOf, counterField, EXACT_LIMIT, octetString, T, toBigInt, type Varbind } from '../snmp-shared/varbind.ts';
import { bitsPerSecond, restarted } from './rates.ts';
import { counterDelta } from '../../rate.ts';
import { IF_COLUMNS, IFX_COLUMNS, interfacePoints, type Columns, type ColumnName } from './interfaces.ts';
import { pollDevice, type DeviceState, type PollSpec } from './poll.ts';
import type { SnmpClient } from './session.ts';
import { parseWalkText } from './walk-text.ts';
import { fakeContext, recorder, testdata } from '../testing.ts';
import type { Accumulator } from '../types.ts';
import { startSnmpd, type Snmpd } from '../../../../test/helpers/snmpd.ts';
import { freePort } from '../../../../test/helpers/ports.ts';

const walk = (n: 1 | 2) => parseWalkText(readFileSync(testdata('snmp', `netsnmp-linux-${n}.txt`), 'utf8'));
const only32 = (vbs: Varbind[]) => vbs.filter((v) => !v.oid.startsWith('1.3.6.1.2.1.31.'));

function columns(vbs: Varbind[]): Columns {
  const cols: Columns = {};
  for (const [k, oid] of Object.entries({ ...IF_COLUMNS, ...IFX_COLUMNS })) cols[k as ColumnName] = columnOf(vbs, oid);
  return cols;
}

/** A device that answers from captured walks: fake only in the sense that the UDP hop is left out. */
function capturedDevice(vbs: Varbind[]): SnmpClient {
  return {
    get: async (oids) => oids.map((o) => vbs.find((v) => v.oid === o) ?? { oid: o, type: T.NoSuchObject, value: null }),
    walk: async (oid) => vbs.filter((v) => v.oid.startsWith(`${oid}.`)),
    close() {},
  };
}

/** recorder() plus the events it refuses (host inputs emit none; snmp does). */
function eventRecorder() {
  const r = recorder();
  const events: Parameters<Accumulator['addEvent']>[0][] = [];
  return Object.assign(r, { events, addEvent: (e: (typeof events)[number]) => void events.push(e) });
}

const spec: PollSpec = { agentHost: 'sw1', device: 'sw1', tags: {}, ifMib: true, fields: [], tables: [], maxRows: 1000 };

describe('Counter64 and counter values', () => {
  it('reads Counter64 buffers exactly, whatever their length, and refuses nonsense', () => {
    expect(toBigInt(Buffer.from([]))).toBe(0n);
    expect(toBigInt(Buffer.from([0x01, 0x00]))).toBe(256n);
    expect(toBigInt(Buffer.from('00ffffffffffffffff', 'hex'))).toBe(2n ** 64n - 1n);
    expect(toBigInt(Buffer.from('0020000000000001', 'hex'))).toBe(2n ** 53n + 1n);
    expect(toBigInt(Buffer.from('010000000000000000', 'hex'))).toBeUndefined();
    expect(toBigInt(-1)).toBeUndefined();
    expect(toBigInt('12')).toBeUndefined();
  });

  it('sends counters below 2^53 as they are and wraps them at 2^53 above', () => {
    expect(counterField(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(counterField(EXACT_LIMIT + 5n)).toBe(5);
    expect(Number.isSafeInteger(counterField(2n ** 64n - 1n))).toBe(true);
  });

  it('decodes octet strings as text, binary ones as hex', () => {
    expect(octetString(Buffer.from('GigabitEthernet0/1\0\0'))).toBe('GigabitEthernet0/1');
    expect(octetString(Buffer.from([0xae, 0x48, 0x21, 0xd8, 0xba, 0x8a]))).toBe('ae:48:21:d8:ba:8a');
    expect(octetString(Buffer.from('a\nb\u0001'))).toBe('61:0a:62:01');
  });
});

describe('rates', () => {
  it('takes exact deltas of 64-bit counters past 2^53 and reads a 64-bit decrease as a reset', () => {
    const prev = 2n ** 60n + 123n;
    expect(counterDelta(prev, prev + 1_000_000_007n, 64)).toBe(1_000_000_007n);
    expect(bitsPerSecond(prev, prev + 1_250_000_000n, 10_000, 64)).toBe(1e9);
    expect(counterDelta(prev, 5n, 64)).toBeUndefined();
  });

  it('reads one 32-bit wrap and refuses an implausible one', () => {
    expect(counterDelta(4_294_967_000n, 704n, 32)).toBe(1000n);
    expect(bitsPerSecond(4_294_967_000n, 704n, 1000, 32)).toBe(8000);
    expect(counterDelta(1_000_000_000n, 5n, 32)).toBeUndefined();
    expect(bitsPerSecond(1n, 2n, 0, 32)).toBeUndefined();
  });

  it('tells a restart from the 497-day sysUpTime wrap', () => {
    expect(restarted(500_000, 501_000, 10_000)).toBe(false);
    expect(restarted(500_000, 300, 10_000)).toBe(true);
    // Up 10 s, but 1 h since the last poll: it restarted while we could not reach it.
    expect(restarted(500_000, 1_000, 3_600_000)).toBe(true);
    expect(restarted(2 ** 32 - 500, 500, 10_000)).toBe(false);
  });
});

describe('interface table from captured Net-SNMP walks', () => {
  it('gives 64-bit counters, names and rates between two captures', () => {
    const first = interfacePoints(columns(walk(1)), new Map(), 1_000);
    expect(first.points.map((p) => p.tags)).toEqual([
      { ifIndex: '1', ifName: 'lo' },
      { ifIndex: '2', ifName: 'ifb0' },
      { ifIndex: '3', ifName: 'ifb1' },
      { ifIndex: '4', ifName: 'eth0' },
    ]);
    const lo1 = first.points[0]!.fields;
    expect(lo1).toMatchObject({ ifHCInOctets: 23_872_579, ifHighSpeed: 10, ifSpeed: 10_000_000, ifOperStatus: 1, ifAdminStatus: 1, ifDescr: 'lo' });
    expect(lo1.in_bps).toBeUndefined();
    const second = interfacePoints(columns(walk(2)), first.counters, 11_000);
    const lo2 = second.points[0]!.fields;
    const delta = (lo2.ifHCInOctets as number) - (lo1.ifHCInOctets as number);
    expect(delta).toBeGreaterThan(0);
    expect(lo2.in_bps).toBeCloseTo((delta * 8) / 10);
    expect(lo2.in_utilization).toBeCloseTo((lo2.in_bps as number) / 100_000);
    for (const p of second.points) {
      expect(p.fields.in_bps).toBeGreaterThanOrEqual(0);
      expect(p.int).toContain('ifHCInOctets');
      expect(p.int).not.toContain('in_bps');
    }
  });

  it('falls back to the 32-bit ifTable when the device has no ifXTable', () => {
    const first = interfacePoints(columns(only32(walk(1))), new Map(), 0);
    const second = interfacePoints(columns(only32(walk(2))), first.counters, 10_000);
    const eth = second.points.find((p) => p.tags.ifName === 'eth0')!;
    expect(eth.fields.ifInOctets).toBeTypeOf('number');
    expect(eth.fields.ifHCInOctets).toBeUndefined();
    expect(eth.fields.in_bps).toBeGreaterThanOrEqual(0);
    expect(second.counters.get('4')!.width).toBe(32);
  });

  it('wraps a 32-bit counter without a negative rate', () => {
    const vbs = only32(walk(1)).map((v) => (v.oid === `${IF_COLUMNS.ifInOctets}.4` ? { ...v, value: 4_294_960_000 } : v));
    const first = interfacePoints(columns(vbs), new Map(), 0);
    const wrapped = vbs.map((v) => (v.oid === `${IF_COLUMNS.ifInOctets}.4` ? { ...v, value: 2_704 } : v));
    const eth = interfacePoints(columns(wrapped), first.counters, 1_000).points.find((p) => p.tags.ifIndex === '4')!;
    expect(eth.fields.in_bps).toBe(10_000 * 8);
  });

  it('measures rates and restarts between polls by the monotonic clock, not across a step of the wall clock', async () => {
    const acc = eventRecorder();
    const clock = { wall: 1_800_000_000_000, mono: 5_000 };
    const first = await pollDevice(
      capturedDevice(walk(1)),
      spec,
      { interfaces: new Map() },
      acc,
      () => clock.wall,
      () => clock.mono,
    );
    // Ten seconds pass (as walk 2 captured them) while the wall clock steps forward an hour.
    clock.mono += 10_000;
    clock.wall += 10_000 + 3600_000;
    const acc2 = eventRecorder();
    const out = await pollDevice(
      capturedDevice(walk(2)),
      spec,
      first.state,
      acc2,
      () => clock.wall,
      () => clock.mono,
    );
    expect(out.result).toBe('success');
    expect(acc2.events).toEqual([]);
    const lo1 = acc.find('interface', { ifName: 'lo' })[0]!.fields;
    const lo2 = acc2.find('interface', { ifName: 'lo' })[0]!.fields;
    expect(lo2.in_bps).toBeCloseTo((((lo2.ifHCInOctets as number) - (lo1.ifHCInOctets as number)) * 8) / 10);
    expect(acc2.find('snmp')[0]!.time).toBe(clock.wall);
  });

  it('skips rates and reports a device_reboot event when sysUpTime goes back', async () => {
    const acc = eventRecorder();
    const clock = { now: 1_000_000 };
    let state: DeviceState = { interfaces: new Map() };
    state = (await pollDevice(capturedDevice(walk(1)), spec, state, acc, () => clock.now)).state;
    clock.now += 10_000;
    // The same device after a reboot: uptime 3 s, counters back near zero.
    const rebooted = walk(2).map((v) =>
      v.oid === '1.3.6.1.2.1.1.3.0' ? { ...v, value: 300 } : v.type === T.Counter64 ? { ...v, value: Buffer.from([0x10]) } : v,
    );
    const out = await pollDevice(capturedDevice(rebooted), spec, state, acc, () => clock.now);
    expect(out.result).toBe('success');
    expect(acc.events).toHaveLength(1);
    expect(acc.events[0]).toMatchObject({ type: 'device_reboot', severity: 'medium', evidence: { agent_host: 'sw1', sysUpTime: 300 } });
    const after = acc.find('interface').slice(4);
    expect(after).toHaveLength(4);
    for (const p of after) expect(p.fields.in_bps).toBeUndefined();
    // The next poll has rates again, from the post-reboot counters.
    clock.now += 10_000;
    const later = rebooted.map((v) =>
      v.oid === '1.3.6.1.2.1.1.3.0' ? { ...v, value: 1_300 } : v.type === T.Counter64 ? { ...v, value: Buffer.from([0x10, 0x00]) } : v,
    );
    const acc2 = eventRecorder();
    await pollDevice(capturedDevice(later), spec, out.state, acc2, () => clock.now);
    expect(acc2.events).toEqual([]);
    expect(acc2.find('interface', { ifName: 'lo' })[0]!.fields.in_bps).toBeCloseTo(((4096 - 16) * 8) / 10);
  });

  it('turns a device answering garbage into an error result, not a throw', async () => {
    const acc = eventRecorder();
    const junk: SnmpClient = {
      get: async (oids) => oids.map((oid) => ({ oid, type: T.OctetString, value: Buffer.from('x') })),
      walk: async () => [],
      close() {},
    };
    const out = await pollDevice(junk, spec, { interfaces: new Map() }, acc, Date.now);
    expect(out.result).toBe('error');
    expect(acc.find('snmp')[0]!.fields).toMatchObject({ result: 'error', result_code: 3 });
  });
});

describe('config', () => {
  it('parses the README example with the input schema', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const [entry] = parseYaml(yaml) as Record<string, unknown>[];
    const { type, interval: _i, tags: _t, ...options } = entry!;
    expect(type).toBe('snmp');
    const cfg = snmpInput.config.parse(options);
    expect(cfg.agents.length).toBeGreaterThan(0);
  });

  it('names each device by `name`, else host (with the port when not 161), and refuses two devices with one name', () => {
    const c = snmpInput.config.parse({ agents: [{ host: '10.0.0.1' }, { host: '10.0.0.1', port: 1161 }, { host: '10.0.0.2', name: 'core switch' }] });
    expect(c.agents.map((d) => deviceName(d))).toEqual(['10.0.0.1', '10.0.0.1:1161', 'core switch']);
    const dup = snmpInput.config.safeParse({
      agents: [
        { host: '10.0.0.1', port: 1161 },
        { host: '10.0.0.9', name: '10.0.0.1:1161' },
      ],
    });
    expect(dup.success).toBe(false);
    expect(dup.error!.issues[0]).toMatchObject({ path: ['agents', 1, 'name'] });
    expect(snmpInput.config.safeParse({ agents: [{ host: 'h', name: 'a\nb' }] }).success).toBe(false);
  });

  it('names what is wrong in a v3 device without keys', () => {
    const r = snmpInput.config.safeParse({ agents: [{ host: 'sw1', version: 3, user: 'u', auth_key: 'short' }] });
    expect(r.success).toBe(false);
    const msg = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    expect(msg).toContain('agents.0.auth_key: SNMPv3 pass phrases are at least 8 characters');
    expect(msg).toContain('agents.0.priv_key: security_level authPriv needs priv_key');
  });
});

describe('against a real snmpd', () => {
  let snmpd: Snmpd;
  let freeSinkPort: number;
  beforeAll(async () => {
    snmpd = await startSnmpd();
    freeSinkPort = await freePort('udp');
  });
  afterAll(async () => {
    await snmpd?.stop();
  });

  // A real clock: rates need time to pass between polls.
  const ctx = () => ({ ...fakeContext(), now: Date.now });
  const v3 = () => ({ host: '127.0.0.1', port: snmpd.port, version: 3, user: snmpd.v3.user, auth_key: snmpd.v3.authKey, priv_key: snmpd.v3.privKey });

  it('reads the interface table over v2c and v3 authPriv and computes rates across two polls', async () => {
    const input = snmpInput.create(
      snmpInput.config.parse({
        agents: [
          { host: '127.0.0.1', port: snmpd.port, community: snmpd.community, name: 'over v2c', tags: { auth: 'v2c' } },
          { ...v3(), name: 'over v3', tags: { auth: 'v3' } },
        ],
      }),
      ctx(),
    );
    const acc1 = eventRecorder();
    await input.gather!(acc1);
    // Net-SNMP caches its interface table for a few seconds; wait past that, with traffic on lo.
    const sock = createSocket('udp4');
    for (let i = 0; i < 50; i++) sock.send(Buffer.alloc(1000), freeSinkPort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 4000));
    sock.close();
    const acc2 = eventRecorder();
    await input.gather!(acc2);
    await input.stop!();
    for (const auth of ['v2c', 'v3']) {
      expect(acc2.find('snmp', { auth })[0]!.fields).toMatchObject({ result: 'success', result_code: 0 });
      expect(acc2.find('snmp', { auth })[0]!.fields.sysUpTime).toBeGreaterThan(0);
      const lo = acc2.find('interface', { auth, ifName: 'lo' })[0]!;
      expect(lo.tags.agent_host).toBe('127.0.0.1');
      expect(lo.fields.ifHCInOctets).toBeGreaterThan(0);
      // snmpd's own answers cross lo between the polls, so lo moved.
      expect(lo.fields.in_bps).toBeGreaterThan(0);
      expect(lo.fields.in_bps).toBeLessThan(1e11);
    }
    // Four walks and a 4 s wait: on a loaded machine a walk alone has taken over 3 s.
  }, 60_000);

  it('keeps two devices on one address apart by port, with up, last success and response time in the snmp point', async () => {
    const deadPort = await freePort('udp');
    const input = snmpInput.create(
      snmpInput.config.parse({
        agents: [
          // A long timeout: gather waits for the live walk (up to the longest timeout), however
          // slow a loaded machine makes it, so the second gather polls it again.
          { host: '127.0.0.1', port: snmpd.port, community: snmpd.community, timeout: '20s' },
          { host: '127.0.0.1', port: deadPort, community: 'x', timeout: '200ms', retries: 0, name: 'dead switch' },
        ],
      }),
      ctx(),
    );
    const acc = eventRecorder();
    await input.gather!(acc);
    await new Promise((r) => setTimeout(r, 500));
    await input.gather!(acc);
    await new Promise((r) => setTimeout(r, 500));
    await input.stop!();
    const live = acc.find('snmp', { device: `127.0.0.1:${snmpd.port}` });
    const dead = acc.find('snmp', { device: 'dead switch' });
    expect(live).toHaveLength(2);
    expect(dead).toHaveLength(2);
    expect(live[1]!.tags.agent_host).toBe('127.0.0.1');
    expect(live[0]!.fields).toMatchObject({ up: 1, result: 'success', last_success: live[0]!.time });
    expect(live[1]!.fields).toMatchObject({ up: 1, last_success: live[1]!.time });
    expect(live[1]!.fields.response_time_ms).toBeGreaterThanOrEqual(0);
    expect(dead[1]!.fields).toMatchObject({ up: 0, result: 'timeout' });
    expect(dead[1]!.fields).not.toHaveProperty('last_success');
    expect(acc.find('interface').every((p) => p.tags.device === `127.0.0.1:${snmpd.port}`)).toBe(true);
  }, 60_000);

  it('gives auth_error for a wrong v3 auth key and names the device in the log', async () => {
    const lines: string[] = [];
    const c = ctx();
    const { pino } = await import('pino');
    c.log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
    const input = snmpInput.create(snmpInput.config.parse({ agents: [{ ...v3(), auth_key: 'not-the-auth-key' }] }), c);
    const acc = eventRecorder();
    await input.gather!(acc);
    await input.stop!();
    expect(acc.find('snmp')[0]!.fields).toMatchObject({ result: 'auth_error', result_code: 2 });
    expect(acc.find('interface')).toEqual([]);
    expect(lines.join('')).toContain(`"device":"127.0.0.1:${snmpd.port}"`);
    expect(lines.join('')).toContain('CANH_ERR_SNMP_AUTH');
    expect(lines.join('')).not.toContain('not-the-auth-key');
  });

  it('does not let a dead device delay a live one', async () => {
    // Relations, not speeds: on a loaded machine the live walk may take seconds, but it must
    // still be reported before the dead device's tries (timeout × 2) have run out.
    const deadPort = await freePort('udp');
    const input = snmpInput.create(
      snmpInput.config.parse({
        agents: [
          { host: '127.0.0.1', port: deadPort, community: 'x', timeout: '4s', retries: 1, tags: { d: 'dead' } },
          { host: '127.0.0.1', port: snmpd.port, community: snmpd.community, timeout: '3s', tags: { d: 'live' } },
        ],
      }),
      ctx(),
    );
    const t0 = Date.now();
    const arrived: Record<string, number> = {};
    const acc = eventRecorder();
    const add = acc.addPoint.bind(acc);
    acc.addPoint = (name, tags, fields, opts) => {
      if (name === 'snmp') arrived[tags.d!] = Date.now() - t0;
      add(name, tags, fields, opts);
    };
    await input.gather!(acc);
    // gather waited at most one timeout (the longest device's), not timeout × tries.
    expect(arrived.dead).toBeUndefined();
    await expect.poll(() => arrived.live, { timeout: 7000, interval: 20 }).toBeDefined();
    expect(acc.find('snmp', { d: 'live' })[0]!.fields).toMatchObject({ up: 1, result: 'success' });
    // The live device was reported while the dead one was still being retried.
    expect(arrived.dead).toBeUndefined();
    // A second gather while the dead one is still being retried polls the live one again.
    const liveBefore = acc.find('snmp', { d: 'live' }).length;
    await input.gather!(acc);
    await expect.poll(() => acc.find('snmp', { d: 'live' }).length, { timeout: 7000, interval: 20 }).toBe(liveBefore + 1);
    await expect.poll(() => arrived.dead, { timeout: 15_000, interval: 50 }).toBeDefined();
    expect(acc.find('snmp', { d: 'dead' })[0]!.fields).toMatchObject({ result: 'timeout', result_code: 1 });
    expect(arrived.dead).toBeGreaterThanOrEqual(7900);
    expect(acc.find('snmp', { d: 'dead' })).toHaveLength(1);
    await input.stop!();
  }, 40_000);
});
