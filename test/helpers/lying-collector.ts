// A WebSocket man in the middle between an agent and a real collector, for fault tests:
// every frame passes through unchanged, except that on its first `lies` connections it
// holds the agent's hello for `holdHelloMs` (so a backlog builds up in the agent's spool),
// then answers the first batch with an ack for a later seq — one spooled by the agent but
// not sent. An agent that believed it would drop that batch unsent.
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';

export interface LyingCollector {
  port: number;
  /** Connections from the agent so far. */
  connections: number;
  /** Acks sent for batches the agent had not sent. */
  lies: number;
  /** Close codes the agent ended its connections with. */
  agentCloseCodes: number[];
  close(): Promise<void>;
}

const text = (d: RawData): string => (Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d as Buffer)).toString('utf8');

/** A close code ws lets us send on: 1000, or an application code. */
const sendable = (code: number): number => (code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000);

export async function startLyingCollector(opts: { upstream: string; lies: number; ahead: number; holdHelloMs: number }): Promise<LyingCollector> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once('listening', r));
  const state: LyingCollector = {
    port: (wss.address() as AddressInfo).port,
    connections: 0,
    lies: 0,
    agentCloseCodes: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (agent, req) => {
    const lying = state.connections++ < opts.lies;
    let lied = false;
    const up = new WebSocket(opts.upstream, { headers: { authorization: req.headers.authorization ?? '' }, perMessageDeflate: false });
    const toUpstream: string[] = [];
    let helloHeld = lying;
    const flush = () => {
      while (!helloHeld && up.readyState === WebSocket.OPEN && toUpstream.length) up.send(toUpstream.shift()!);
    };
    if (lying) {
      setTimeout(() => {
        helloHeld = false;
        flush();
      }, opts.holdHelloMs);
    }
    up.on('open', flush);
    up.on('message', (d) => {
      if (agent.readyState === WebSocket.OPEN) agent.send(text(d));
    });
    up.on('close', (code, reason) => {
      if (agent.readyState === WebSocket.OPEN) agent.close(sendable(code), reason);
    });
    up.on('error', () => agent.terminate());
    agent.on('message', (d) => {
      const frame = text(d);
      toUpstream.push(frame);
      flush();
      if (!lying || lied) return;
      const m = /^\{"type":"batch","seq":(\d+)/.exec(frame);
      if (!m) return;
      lied = true;
      state.lies++;
      agent.send(JSON.stringify({ type: 'ack', seq: Number(m[1]) + opts.ahead }));
    });
    agent.on('close', (code, reason) => {
      state.agentCloseCodes.push(code);
      if (up.readyState === WebSocket.OPEN) up.close(sendable(code), reason);
      else up.terminate();
    });
    agent.on('error', () => up.terminate());
  });
  return state;
}
