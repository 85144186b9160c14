import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import def from './index.ts';
import { parseArp, parseDefaultGateways } from './parse.ts';
import { readmeExample, recorder, testContext } from '../testing.ts';
import { exec } from '../../context/exec.ts';

const data = (f: string) => readFileSync(join(import.meta.dirname, 'testdata', f), 'utf8');

describe('lan_devices parsing (captured /proc/net)', () => {
  it('reads resolved neighbours and skips incomplete ones', () => {
    expect(parseArp(data('arp-host.txt'))).toEqual({ neighbours: [{ ip: '192.0.2.1', mac: '02:fc:00:00:00:05', interface: 'eth0' }], malformed: 0 });
    const ns = parseArp(data('arp-netns.txt'));
    expect(ns.malformed).toBe(0);
    expect(ns.neighbours.map((n) => n.ip).sort()).toEqual(['10.250.0.1', '10.251.0.3']);
  });

  it('finds the default gateway', () => {
    expect(parseDefaultGateways(data('route-host.txt'))).toEqual(['192.0.2.1']);
    expect(parseDefaultGateways(data('route-netns.txt'))).toEqual(['10.250.0.1']);
  });

  it('garbage is counted, never a crash', () => {
    const r = parseArp('IP address HW type\n999.1.1.1 0x1 0x2 aa:bb:cc:dd:ee:ff * eth0\n10.0.0.1 0x1 0x2 zz:zz * eth0\nshort\n\u0000\u00ff');
    expect(r.neighbours).toEqual([]);
    expect(r.malformed).toBe(4);
    expect(parseDefaultGateways('garbage\n\n')).toEqual([]);
  });

  it('README example parses with the schema', () => {
    expect(readmeExample(import.meta.dirname, def)).toMatchObject({ allow_macs: ['00:00:5e:00:01:01'] });
  });
});

// Three network namespaces: "host" (where the detector looks), "gw" (its default gateway)
// and "pc" (a device that joins later). The gateway then changes its MAC, as an attacker
// answering for the gateway's IP would look from the host.
describe('lan_devices in network namespaces', () => {
  const tag = `${process.pid % 100000}`;
  const ns = { host: `canh-lan-h-${tag}`, gw: `canh-lan-g-${tag}`, pc: `canh-lan-p-${tag}` };
  const sh = async (...args: string[]) => {
    const r = await exec('ip', args, { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const inHost = (...args: string[]) => sh('netns', 'exec', ns.host, ...args);
  let state: string;

  beforeAll(async () => {
    state = mkdtempSync(join(tmpdir(), 'canh-lan-'));
    for (const n of Object.values(ns)) await sh('netns', 'add', n);
    await sh('link', 'add', 'hg', 'netns', ns.host, 'type', 'veth', 'peer', 'name', 'gh', 'netns', ns.gw);
    await sh('link', 'add', 'hp', 'netns', ns.host, 'type', 'veth', 'peer', 'name', 'ph', 'netns', ns.pc);
    await sh('-n', ns.gw, 'link', 'set', 'gh', 'address', '02:00:00:00:0a:01');
    await sh('-n', ns.host, 'addr', 'add', '10.250.0.2/24', 'dev', 'hg');
    await sh('-n', ns.gw, 'addr', 'add', '10.250.0.1/24', 'dev', 'gh');
    await sh('-n', ns.host, 'addr', 'add', '10.251.0.2/24', 'dev', 'hp');
    await sh('-n', ns.pc, 'addr', 'add', '10.251.0.3/24', 'dev', 'ph');
    for (const [n, dev] of [
      [ns.host, 'hg'],
      [ns.host, 'hp'],
      [ns.gw, 'gh'],
      [ns.pc, 'ph'],
    ] as const) {
      await sh('-n', n, 'link', 'set', dev, 'up');
      await sh('-n', n, 'link', 'set', 'lo', 'up');
    }
    await sh('-n', ns.host, 'route', 'add', 'default', 'via', '10.250.0.1');
  });

  afterAll(async () => {
    for (const n of Object.values(ns)) await sh('netns', 'del', n).catch(() => {});
    rmSync(state, { recursive: true, force: true });
  });

  it('sees a new device, then the gateway answering from another MAC', async () => {
    // The detector reads /proc/net/* as seen inside the host namespace.
    const ctx = testContext(state, {
      readFile: async (p) => {
        const r = await exec('ip', ['netns', 'exec', ns.host, 'cat', p], { timeoutMs: 5000 });
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout;
      },
    });
    const det = def.create(def.config.parse({}), ctx);
    const { acc, events } = recorder();
    const ping = (ip: string) => inHost('ping', '-c', '1', '-W', '2', ip);

    await ping('10.250.0.1');
    await det.gather!(acc); // baseline: the gateway
    expect(events).toEqual([]);

    await ping('10.251.0.3');
    await det.gather!(acc);
    const pcMac = (await sh('-n', ns.pc, '-j', 'link', 'show', 'ph')).match(/"address":"([0-9a-f:]+)"/)![1];
    expect(events).toEqual([
      expect.objectContaining({ type: 'new_lan_device', severity: 'medium', evidence: { ip: '10.251.0.3', mac: pcMac, interface: 'hp' } }),
    ]);

    events.length = 0;
    await det.gather!(acc);
    expect(events).toEqual([]); // nothing new, nothing said

    await sh('-n', ns.gw, 'link', 'set', 'gh', 'address', '02:00:00:00:66:66');
    await sh('-n', ns.host, 'neigh', 'flush', 'dev', 'hg');
    await ping('10.250.0.1');
    await det.gather!(acc);
    const spoof = events.find((e) => e.type === 'arp_spoofing');
    expect(spoof).toMatchObject({
      severity: 'critical',
      mitre: 'T1557.002',
      evidence: { ip: '10.250.0.1', mac: '02:00:00:00:66:66', expected_mac: '02:00:00:00:0a:01', interface: 'hg', gateway: true },
    });
    expect(events.filter((e) => e.type === 'new_lan_device').map((e) => e.evidence!.mac)).toEqual(['02:00:00:00:66:66']);

    // Reported once, not every interval; a restart does not repeat it either.
    events.length = 0;
    await det.gather!(acc);
    await def.create(def.config.parse({}), ctx).gather!(acc);
    expect(events).toEqual([]);

    // An allowlisted gateway (e.g. VRRP) is never reported.
    const allowed = def.create(def.config.parse({ allow_ips: ['10.250.0.1'], state_name: 'lan2' }), ctx);
    await sh('-n', ns.gw, 'link', 'set', 'gh', 'address', '02:00:00:00:0a:01');
    await allowed.gather!(acc);
    await sh('-n', ns.gw, 'link', 'set', 'gh', 'address', '02:00:00:00:77:77');
    await sh('-n', ns.host, 'neigh', 'flush', 'dev', 'hg');
    await ping('10.250.0.1');
    await allowed.gather!(acc);
    expect(events).toEqual([]);
  });
});
