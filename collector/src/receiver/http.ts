// The collector's HTTP side: the listening server (TLS when configured), /healthz, the
// routes the rest of the collector adds (hooks.http), and the answer to an upgrade that
// is refused before any socket is made.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { Receiver } from './types.ts';

/** Listen on the configured address; requests go to onRequest, upgrades to onUpgrade. */
export async function listen(
  r: Receiver,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): Promise<Server> {
  const tls = r.config.listen.tls;
  const server = tls ? createHttpsServer({ cert: readFileSync(tls.cert_file), key: readFileSync(tls.key_file) }, onRequest) : createHttpServer(onRequest);
  server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(r.config.listen.port, r.config.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** /healthz, then the hooks' routes, else 404. */
export async function handleRequest(r: Receiver, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      const influxUp = await r.writer.ping();
      const body = {
        status: influxUp ? 'ok' : 'degraded',
        influx: {
          up: influxUp,
          queued_lines: r.writer.stats.queued,
          requests: r.writer.stats.requests,
          written_lines: r.writer.stats.written,
          last_error: r.writer.stats.lastError,
        },
        agents_connected: r.conns.size,
        batch_ack_ms: r.ackLatency.snapshot(),
        ...r.health?.(),
      };
      res.writeHead(influxUp ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (r.hooks.http && (await r.hooks.http(req, res))) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  } catch (err) {
    r.log.error({ err }, 'HTTP handler failed');
    if (!res.headersSent) res.writeHead(500).end();
  }
}

/** Answer an upgrade request with a plain HTTP status and close the socket. */
export function reject(socket: Duplex, status: number, text: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n${status === 401 ? 'WWW-Authenticate: Bearer\r\n' : ''}Content-Length: ${text.length + 1}\r\n\r\n${text}\n`,
  );
  socket.destroy();
}
