// Shared by the transport's tests (not shipped behaviour): the options every test's
// Transport shares, a real WebSocket server on a loopback port the OS picks, standing in
// for a collector, the welcome frame a collector answers a hello with, and the collector's
// side of a connection up to its batches (what it does with them is each test's own).
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { decodeAgentMessage, encode, PROTOCOL_VERSION, type Batch } from '@canh/protocol';
import type { TransportOptions } from './transport.ts';

/** A transport's options: a token, a name, a quick reconnect and a window of two, with `over` on top (a url or urls at least). */
export function transportOptions(over: Partial<TransportOptions>): TransportOptions {
  return {
    token: 't',
    hostname: 'h',
    agentVersion: 'test',
    pingIntervalMs: 10_000,
    reconnectMinMs: 50,
    reconnectMaxMs: 100,
    maxInFlight: 2,
    ...over,
  };
}

/** A WebSocket server listening on 127.0.0.1 (port 0 unless `opts` attach it to a server), and the agent's URL for it. */
export async function collectorServer(opts: Omit<ServerOptions, 'host' | 'port'> = {}): Promise<{ wss: WebSocketServer; url: string }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...opts });
  await new Promise((r) => wss.once('listening', r));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/agent` };
}

/** The collector's welcome, for any agent. */
export function welcomeFrame(): string {
  return encode({ type: 'welcome', protocol: PROTOCOL_VERSION, server_time: Date.now(), agent: { id: 'a', host: 'h', agency: 'x', site: 's' } });
}

/** The collector's side of `ws`: each hello is welcomed, each batch decoded (as the collector does) and handed to `onBatch`. */
export function onBatches(ws: WebSocket, onBatch: (batch: Batch) => void): void {
  ws.on('message', (data) => {
    const msg = decodeAgentMessage(data as Buffer);
    if (msg.type === 'hello') ws.send(welcomeFrame());
    else if (msg.type === 'batch') onBatch(msg);
  });
}
