// net_response against real sockets: a TCP server with and without the expected banner, one
// that says nothing, a closed port, a listener whose full accept queue drops new SYNs (a
// real connect timeout), and UDP echo / closed ports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import input, { config } from './index.ts';
import { firstLine, splitAddress } from './parse.ts';
import { checkRecorder, readmeExample, realContext } from '../check-testing.ts';

const servers: Server[] = [];
const tcp = async (onConn: (s: import('node:net').Socket) => void) => {
  const s = createServer(onConn);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
};

let smtp: number, silent: number, closed: number, udpEcho: UdpSocket, udpPort: number;
beforeAll(async () => {
  smtp = await tcp((s) => {
    s.write('220 mail.example.gov.vn ESMTP\r\n');
    s.on('data', (d) => {
      if (d.toString().startsWith('QUIT')) s.end('221 Bye\r\n');
    });
  });
  silent = await tcp(() => {});
  closed = await tcp(() => {});
  await new Promise((r) => servers.pop()!.close(r));
  udpEcho = createSocket('udp4');
  udpEcho.on('message', (m, r) => udpEcho.send(`echo ${m.toString()}`, r.port, r.address));
  await new Promise<void>((r) => udpEcho.bind(0, '127.0.0.1', r));
  udpPort = udpEcho.address().port;
});
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  udpEcho.close();
});

async function probe(options: Record<string, unknown>) {
  const acc = checkRecorder();
  await input.create(config.parse(options), realContext()).gather!(acc);
  expect(acc.points).toHaveLength(1);
  return acc.points[0]!;
}

describe('net_response tcp', () => {
  it('connects and matches the SMTP banner', async () => {
    const started = performance.now();
    const p = await probe({ address: `127.0.0.1:${smtp}`, send: 'QUIT\r\n', expect: '^220 ' });
    const tookS = (performance.now() - started) / 1000;
    expect(p.tags).toEqual({ server: '127.0.0.1', port: String(smtp), protocol: 'tcp', result: 'success' });
    expect(p.fields).toMatchObject({ result_code: 0, result_type: 'success', string_found: true });
    expect(p.fields.response_time).toBeGreaterThan(0);
    // In seconds, within the probe's own wall time (not a speed bound: a loaded machine may take long).
    expect(p.fields.response_time).toBeLessThanOrEqual(tookS);
    expect(p.int).toEqual(['result_code']);
  });

  it('measures each phase in its socket event: name resolved, connected, first byte, answer line', async () => {
    const p = await probe({ address: `localhost:${smtp}`, send: 'QUIT\r\n', expect: '^220 ' });
    const f = p.fields as Record<string, number>;
    expect(p.fields).toMatchObject({ result_code: 0 });
    for (const k of ['dns_time', 'connect_time', 'ttfb', 'response_time']) expect(f[k], k).toBeGreaterThan(0);
    expect(f.dns_time).toBeLessThanOrEqual(f.connect_time!);
    expect(f.connect_time).toBeLessThanOrEqual(f.ttfb!);
    expect(f.ttfb).toBeLessThanOrEqual(f.response_time!);
    // An address needs no lookup; without expect, response_time is the connect.
    const q = (await probe({ address: `127.0.0.1:${silent}` })).fields as Record<string, number>;
    expect(q).not.toHaveProperty('dns_time');
    expect(q.response_time).toBe(q.connect_time);
  });

  it('reports a banner that does not match', async () => {
    const p = await probe({ address: `127.0.0.1:${smtp}`, expect: '^SSH-2\\.0' });
    expect(p.fields).toMatchObject({ result_code: 4, result_type: 'string_mismatch', string_found: false });
  });

  it('reports a service that says nothing as read_failed after read_timeout', async () => {
    const started = Date.now();
    const p = await probe({ address: `127.0.0.1:${silent}`, expect: '^220', read_timeout: '300ms' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(p.fields).toMatchObject({ result_code: 3, result_type: 'read_failed', string_found: false });
  });

  it('connects without expecting anything', async () => {
    const p = await probe({ address: `127.0.0.1:${silent}` });
    expect(p.fields).toMatchObject({ result_code: 0 });
    expect(p.fields).not.toHaveProperty('string_found');
  });

  it('reports a closed port and an unknown name as connection_failed', async () => {
    expect((await probe({ address: `127.0.0.1:${closed}` })).fields).toEqual({ result_code: 2, result_type: 'connection_failed' });
    expect((await probe({ address: 'no-such-host.invalid:25' })).fields).toEqual({ result_code: 2, result_type: 'connection_failed' });
  });

  describe('a listener that never accepts', () => {
    // python3's socket with listen(0) and no accept(): once its accept queue is full, the
    // kernel drops further SYNs, so a connect hangs exactly as towards a filtered port.
    let child: ChildProcess;
    let port = 0;
    const fillers: import('node:net').Socket[] = [];
    beforeAll(async () => {
      child = spawn('python3', [
        '-c',
        'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)',
      ]);
      port = await new Promise<number>((r) => child.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
      // One filler accepted into the queue fills it (whatever the machine's speed, not after a
      // fixed sleep); the others' SYNs are dropped from then on, as the probe's will be.
      const connected: Promise<void>[] = [];
      for (let i = 0; i < 3; i++) {
        const f = connect(port, '127.0.0.1').on('error', () => {});
        fillers.push(f);
        connected.push(new Promise((r) => f.once('connect', () => r())));
      }
      await Promise.race(connected);
    });
    afterAll(() => {
      for (const f of fillers) f.destroy();
      child.kill();
    });
    it('times out the connect', async () => {
      const started = Date.now();
      const p = await probe({ address: `127.0.0.1:${port}`, timeout: '400ms' });
      expect(p.fields).toEqual({ result_code: 1, result_type: 'timeout' });
      // Gave up at its timeout, not after the kernel's SYN retries (about two minutes): a
      // bound only a missing timeout would pass, loose enough for a loaded machine.
      expect(Date.now() - started).toBeLessThan(15_000);
    });
  });
});

describe('net_response udp', () => {
  it('gets an answer from a UDP service', async () => {
    const p = await probe({ protocol: 'udp', address: `127.0.0.1:${udpPort}`, send: 'hello', expect: '^echo hello$' });
    expect(p.tags.protocol).toBe('udp');
    expect(p.fields).toMatchObject({ result_code: 0, string_found: true });
  });
  it('reports no answer as read_failed', async () => {
    const p = await probe({ protocol: 'udp', address: `127.0.0.1:${closed}`, send: 'hello', read_timeout: '300ms' });
    expect(p.fields).toMatchObject({ result_code: 3, result_type: 'read_failed' });
  });
});

describe('net_response pure parts', () => {
  it('parses the README example', () => {
    expect(readmeExample(import.meta.dirname, input)).toMatchObject({ address: expect.any(String) });
  });
  it('splits addresses and refuses nonsense', () => {
    expect(splitAddress('mail.example.gov.vn:25')).toEqual({ host: 'mail.example.gov.vn', port: 25 });
    expect(splitAddress('[2001:db8::1]:443')).toEqual({ host: '2001:db8::1', port: 443 });
    for (const bad of ['host', 'host:0', 'host:70000', '-x:22', 'a b:22']) expect(splitAddress(bad)).toBeUndefined();
    expect(config.safeParse({ protocol: 'udp', address: 'h:53' }).success).toBe(false);
    expect(firstLine('220 hi\r\nmore')).toBe('220 hi');
  });
});
