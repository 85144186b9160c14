import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import net from './index.ts';
import { parseNetDev, parseSnmp } from './parse.ts';
import { fakeContext, hostContext, recorder, testdata } from '../testing.ts';

const COUNTERS = ['bytes_sent', 'bytes_recv', 'packets_sent', 'packets_recv', 'err_in', 'err_out', 'drop_in', 'drop_out'];
const RATES = COUNTERS.map((c) => `${c}_rate`);
const captured = (sample: 1 | 2, file: string) => readFileSync(testdata('net', 'host', String(sample), 'proc/net', file), 'utf8');

const HEADER =
  'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
const dev = (name: string, rx: number, tx: number) => `  ${name}: ${rx} ${rx / 100} 1 2 0 0 0 0 ${tx} ${tx / 100} 3 4 0 0 0 0\n`;

function setup(config: Record<string, unknown> = {}) {
  const files: Record<string, string> = {};
  const clock = { now: 1_700_000_000_000 };
  const ctx = fakeContext({ root: testdata('net', 'host'), files, clock });
  const input = net.create(net.config.parse(config), ctx);
  const gather = async (devText: string, snmp?: string) => {
    files['/proc/net/dev'] = devText;
    if (snmp !== undefined) files['/proc/net/snmp'] = snmp;
    const acc = recorder();
    await input.gather!(acc);
    return acc;
  };
  return { gather, clock, files };
}

describe('net', () => {
  it('reports up, non-loopback interfaces of the captured host with counters, speed and, asked for, protocol stats', async () => {
    const { gather, clock } = setup({ ignore_protocol_stats: false });
    const first = await gather(captured(1, 'dev'), captured(1, 'snmp'));
    // Captured flags: eth0 0x1003 (up), lo 0x9 (loopback), ifb0/ifb1 0x82 (down).
    const eth0 = first.find('net', { interface: 'eth0' });
    expect(first.points.map((p) => p.tags.interface).sort()).toEqual(['all', 'eth0']);
    expect(eth0[0]!.fields).toEqual({
      bytes_recv: 286114142,
      packets_recv: 8243,
      err_in: 0,
      drop_in: 0,
      bytes_sent: 617202,
      packets_sent: 5369,
      err_out: 0,
      drop_out: 0,
      speed: -1,
    });
    expect([...eth0[0]!.int].sort()).toEqual([...COUNTERS, 'speed'].sort());
    const all = first.find('net', { interface: 'all' })[0]!;
    expect(all.fields).toMatchObject({ tcp_activeopens: 85, tcp_maxconn: -1, udp_indatagrams: 97, ip_forwarding: 2, icmpmsg_intype3: 1 });
    expect([...all.int].sort()).toEqual(Object.keys(all.fields).sort());

    clock.now += 10_000;
    const second = await gather(captured(2, 'dev'));
    const f = second.find('net', { interface: 'eth0' })[0]!.fields;
    for (const r of RATES) expect(f[r]).toBe(0);
  });

  it('computes per-second rates from the previous sample, as floats', async () => {
    const { gather, clock } = setup({ interfaces: ['eth*'] });
    await gather(HEADER + dev('eth0', 1000, 2000));
    clock.now += 2_000;
    const p = (await gather(HEADER + dev('eth0', 5000, 2200))).find('net', { interface: 'eth0' })[0]!;
    expect(p.fields).toMatchObject({ bytes_recv_rate: 2000, bytes_sent_rate: 100, packets_recv_rate: 20, packets_sent_rate: 1, err_in_rate: 0 });
    for (const r of RATES) expect(p.int).not.toContain(r);
  });

  it('sends no rate across a counter reset (driver reload), and none on the first sample', async () => {
    const { gather, clock } = setup({ interfaces: ['eth0'] });
    const first = (await gather(HEADER + dev('eth0', 900_000, 900_000))).points[0]!;
    for (const r of RATES) expect(first.fields).not.toHaveProperty(r);
    clock.now += 1_000;
    const reset = (await gather(HEADER + dev('eth0', 100, 900_100))).points[0]!;
    expect(reset.fields).not.toHaveProperty('bytes_recv_rate');
    expect(reset.fields.bytes_sent_rate).toBe(100);
    clock.now += 1_000;
    expect((await gather(HEADER + dev('eth0', 300, 900_100))).points[0]!.fields.bytes_recv_rate).toBe(200);
  });

  it('leaves the protocol counters out unless asked for them (as Telegraf, which deprecated them in this input)', async () => {
    const { gather } = setup();
    const acc = await gather(captured(1, 'dev'), captured(1, 'snmp'));
    expect(acc.points.map((p) => p.tags.interface)).toEqual(['eth0']);
  });

  it('with interfaces set, reports matching interfaces whether up or not, loopback included', async () => {
    const { gather } = setup({ interfaces: ['lo', 'ifb[0-9]'], ignore_protocol_stats: true });
    const acc = await gather(captured(1, 'dev'), captured(1, 'snmp'));
    expect(acc.points.map((p) => p.tags.interface).sort()).toEqual(['ifb0', 'ifb1', 'lo']);
    expect(acc.find('net', { interface: 'lo' })[0]!.fields.speed).toBe(-1); // no speed file: unknown
  });

  it('skips garbage and truncated lines of /proc/net/dev and mismatched snmp pairs', async () => {
    expect(
      parseNetDev(`${HEADER}eth0:1 2 3\nbad: a b c d e f g h i j k l\n: 1 2 3 4 5 6 7 8 9 10 11 12\nwlan0:1 2 3 4 5 6 7 8 9 10 11 12\n`).map((d) => d.name),
    ).toEqual(['wlan0']);
    expect(parseSnmp('Tcp: A B\nTcp: 1\nUdp: InDatagrams\nUdp: 7\nIp: X\nTcp: 3\nIcmp: Y\n')).toEqual({ udp_indatagrams: 7 });
    const { gather } = setup({ ignore_protocol_stats: false });
    const acc = await gather('\0\0 garbage', 'garbage');
    expect(acc.points).toEqual([]);
  });

  it('says clearly when /proc/net/dev is missing, and goes on without /proc/net/snmp', async () => {
    const input = net.create(net.config.parse({}), fakeContext());
    await expect(input.gather!(recorder())).rejects.toMatchObject({ code: 'CANH_ERR_INPUT_UNREADABLE' });
    const ok = net.create(
      net.config.parse({ interfaces: ['*'], ignore_protocol_stats: false }),
      fakeContext({ files: { '/proc/net/dev': HEADER + dev('eth0', 100, 100) } }),
    );
    const acc = recorder();
    await ok.gather!(acc);
    expect(acc.points.map((p) => p.tags.interface)).toEqual(['eth0']);
  });

  it('reads interface flags and speed the same way from a context that can only read them asynchronously', async () => {
    const sync = await setup().gather(captured(1, 'dev'));
    const ctx = fakeContext({ root: testdata('net', 'host'), files: { '/proc/net/dev': captured(1, 'dev') } });
    delete ctx.readAttribute;
    const acc = recorder();
    await net.create(net.config.parse({}), ctx).gather!(acc);
    expect(acc.points).toEqual(sync.points);
    expect(acc.points.map((p) => p.tags.interface)).toEqual(['eth0']);
  });

  it("reads this machine's interfaces as their sysfs flags say, gather after gather", async () => {
    const input = net.create(net.config.parse({}), hostContext());
    const up = readdirSync('/sys/class/net').filter((n) => {
      const f = parseInt(readFileSync(`/sys/class/net/${n}/flags`, 'utf8'), 16);
      return (f & 1) !== 0 && (f & 8) === 0;
    });
    for (let i = 0; i < 3; i++) {
      const acc = recorder();
      await input.gather!(acc);
      expect(acc.points.map((p) => p.tags.interface).sort()).toEqual(up.sort());
    }
  });

  it('reads this machine: loopback counts the traffic we make on it, with a positive rate', async () => {
    const ctx = hostContext();
    const input = net.create(net.config.parse({ interfaces: ['lo'], ignore_protocol_stats: false }), ctx);
    await input.gather!(recorder());
    // Put known traffic on lo between the samples so the rate cannot be 0 by chance.
    const { createServer, connect } = await import('node:net');
    const server = createServer((s) => s.resume());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise<void>((r) => {
      const c = connect(port, '127.0.0.1', () => c.end(Buffer.alloc(100_000), r));
    });
    server.close();
    await sleep(100);
    const acc = recorder();
    await input.gather!(acc);
    const lo = acc.find('net', { interface: 'lo' })[0]!;
    expect(lo.fields.bytes_recv).toBeGreaterThanOrEqual(100_000);
    expect(lo.fields.bytes_recv_rate).toBeGreaterThan(0);
    const all = acc.find('net', { interface: 'all' })[0]!;
    expect(all.fields.tcp_activeopens).toBeGreaterThan(0);
  });
});
