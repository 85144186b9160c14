// The network side of net_response: a TCP connect (optionally send, then read one line and
// match it) or a UDP request/answer, each bounded by the connect and read timeouts.
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { lookup } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import { firstLine, type Probe } from './parse.ts';

export interface ProbeOptions {
  host: string;
  port: number;
  timeoutMs: number;
  readTimeoutMs: number;
  send?: string;
  expect?: RegExp;
}

const MAX_READ = 64 * 1024;

export function probeTcp(o: ProbeOptions): Promise<Probe> {
  return new Promise((resolve) => {
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    let done = false;
    let connected = false;
    let data = '';
    const socket = connect({ host: o.host, port: o.port });
    // Each phase's time taken first thing in its socket event (prepended listeners).
    const marks: { lookup?: number; connect?: number; firstByte?: number } = {};
    socket.prependOnceListener('lookup', (err: Error | null) => {
      if (!err) marks.lookup = elapsed();
    });
    socket.prependOnceListener('connect', () => (marks.connect = elapsed()));
    let lineAt: number | undefined;
    let seen = 0;
    socket.prependListener('data', (d: string) => {
      const at = elapsed();
      marks.firstByte ??= at;
      seen += d.length;
      if (lineAt === undefined && (d.includes('\n') || seen >= MAX_READ)) lineAt = at;
    });
    const finish = (p: Probe) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...p, dnsTime: marks.lookup, connectTime: marks.connect, firstByteTime: marks.firstByte });
    };
    let timer = setTimeout(() => finish({ result: 'timeout' }), o.timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      const connectTime = marks.connect ?? elapsed();
      clearTimeout(timer);
      if (o.send !== undefined) socket.write(o.send);
      if (!o.expect) return finish({ result: 'success', responseTime: connectTime });
      timer = setTimeout(() => finish({ result: 'read_failed', responseTime: elapsed() }), o.readTimeoutMs);
    });
    const check = (eof: boolean) => {
      if (!o.expect || (!data.includes('\n') && !eof && data.length < MAX_READ)) return;
      if (data.length === 0) return finish({ result: 'read_failed', responseTime: elapsed() });
      // The answer's time is when its line arrived: the data event that completed it.
      finish({ result: o.expect.test(firstLine(data)) ? 'success' : 'string_mismatch', responseTime: lineAt ?? elapsed() });
    };
    socket.on('data', (d: string) => {
      data += d;
      check(false);
    });
    socket.on('end', () => check(true));
    socket.on('error', () => finish(connected ? { result: 'read_failed', responseTime: elapsed() } : { result: 'connection_failed' }));
    socket.on('close', () => finish(connected ? { result: 'read_failed', responseTime: elapsed() } : { result: 'connection_failed' }));
  });
}

/** UDP has no connect: send the request and wait for one datagram back (as Telegraf). */
export async function probeUdp(o: ProbeOptions): Promise<Probe> {
  let address: string;
  try {
    address = (await lookup(o.host)).address;
  } catch {
    return { result: 'connection_failed' };
  }
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    const started = performance.now();
    let done = false;
    const finish = (p: Probe) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(p);
    };
    const timer = setTimeout(() => finish({ result: 'read_failed' }), o.readTimeoutMs);
    socket.on('message', (msg) => {
      const responseTime = (performance.now() - started) / 1000;
      const text = msg.subarray(0, MAX_READ).toString('utf8');
      finish({ result: !o.expect || o.expect.test(firstLine(text)) ? 'success' : 'string_mismatch', responseTime });
    });
    // A connected UDP socket hears ICMP port unreachable as ECONNREFUSED: nothing listens.
    socket.on('error', () => finish({ result: 'read_failed' }));
    socket.connect(o.port, address, () => socket.send(o.send ?? ''));
  });
}
