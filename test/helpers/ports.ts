// Free loopback ports for test servers: bind port 0 on 127.0.0.1, read the port the
// kernel chose, close. Racy by nature (another process could take it before our server
// binds), so we remember what we handed out in this process and never hand it out twice.
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const handedOut = new Set<number>();

function tcpProbe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('freePort: could not read the bound port'))));
    });
  });
}

function udpProbe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.unref();
    sock.once('error', reject);
    sock.bind({ address: '127.0.0.1', port: 0, exclusive: true }, () => {
      const port = sock.address().port;
      sock.close(() => resolve(port));
    });
  });
}

/** A TCP (default) or UDP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(proto: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = proto === 'tcp' ? await tcpProbe() : await udpProbe();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort: no unused ${proto} port after 50 attempts`);
}

/** Several distinct free ports at once. */
export async function freePorts(n: number, proto: 'tcp' | 'udp' = 'tcp'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await freePort(proto));
  return out;
}
