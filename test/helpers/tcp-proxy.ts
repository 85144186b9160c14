// A TCP proxy on loopback that a fault test can cut and restore, standing in for the
// network between an agency and the data center. cut() behaves like a dead link, not a
// refused port: bytes stop flowing both ways and new connections hang unanswered, so
// only liveness checks (ping/pong, timeouts) can notice.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let isCut = false;
  const pairs = new Set<{ a: Socket; b?: Socket }>();
  const server: Server = createServer((a) => {
    a.on('error', () => {});
    const pair: { a: Socket; b?: Socket } = { a };
    pairs.add(pair);
    a.on('close', () => {
      pair.b?.destroy();
      pairs.delete(pair);
    });
    if (isCut) return; // black hole: accepted, never answered
    const b = connect(target.port, target.host);
    pair.b = b;
    b.on('error', () => a.destroy());
    b.on('close', () => a.destroy());
    a.on('data', (d) => {
      if (!isCut) b.write(d);
    });
    b.on('data', (d) => {
      if (!isCut) a.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    cut() {
      isCut = true;
    },
    restore() {
      // Connections that lived through the outage are dead on both ends by now.
      for (const p of pairs) {
        p.a.destroy();
        p.b?.destroy();
      }
      pairs.clear();
      isCut = false;
    },
    async close() {
      for (const p of pairs) {
        p.a.destroy();
        p.b?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
