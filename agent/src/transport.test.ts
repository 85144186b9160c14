import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { decodeCollectorMessage, encode, PROTOCOL_VERSION } from '@canh/protocol';
import { quickAck, Transport } from './transport.ts';
import { MemorySpool } from './spool/memory.ts';

describe('quickAck', () => {
  it('reads the acks the collector writes, as the schema does', () => {
    for (const seq of [0, 1, 42, 123_456_789_012]) {
      const frame = Buffer.from(encode({ type: 'ack', seq }));
      expect(quickAck(frame)).toBe(seq);
      expect(decodeCollectorMessage(frame)).toEqual({ type: 'ack', seq });
    }
  });
  it('leaves everything else to the full decoder', () => {
    for (const text of ['{"type":"ack","seq":-1}', '{"type":"ack","seq":1.5}', '{"type":"ack","seq":1,"x":1}', '{"seq":1,"type":"ack"}', '{"type":"error","seq":1}', ' {"type":"ack","seq":1}', '{"type":"ack","seq":1234567890123456}']) {
      expect(quickAck(Buffer.from(text))).toBeUndefined();
    }
  });
});

describe('transport liveness', () => {
  // A real WebSocket server standing in for the collector's protocol: it welcomes the
  // agent, acks what it wants to, and answers pings only when told to (autoPong off).
  let wss: WebSocketServer | undefined;
  let transport: Transport | undefined;
  afterEach(async () => {
    await transport?.stop();
    await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
  });

  async function collector(opts: { pong: boolean; ackEveryMs?: number }) {
    const seen = { pings: 0, connections: 0, closed: 0 };
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
    await new Promise((r) => wss!.once('listening', r));
    wss.on('connection', (ws: WebSocket) => {
      seen.connections++;
      ws.on('ping', (d) => {
        seen.pings++;
        if (opts.pong) ws.pong(d);
      });
      ws.on('close', () => seen.closed++);
      ws.once('message', () => {
        ws.send(encode({ type: 'welcome', protocol: PROTOCOL_VERSION, server_time: Date.now(), agent: { id: 'a', host: 'h', agency: 'x', site: 's' } }));
        // Frames the agent takes as "the collector is there" (an unknown seq acks nothing).
        if (opts.ackEveryMs) {
          const t = setInterval(() => ws.send(encode({ type: 'ack', seq: 999_999 })), opts.ackEveryMs);
          ws.on('close', () => clearInterval(t));
        }
      });
    });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/agent`;
    transport = new Transport(
      { url, token: 't', hostname: 'h', agentVersion: 'test', pingIntervalMs: 200, reconnectMinMs: 50, reconnectMaxMs: 100, maxInFlight: 2 },
      new MemorySpool({ maxBytes: 1e6 }),
      pino({ level: 'silent' }),
    );
    transport.start();
    return seen;
  }

  it('does not ping a collector it hears from every interval, and keeps the connection', async () => {
    const seen = await collector({ pong: false, ackEveryMs: 50 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen).toEqual({ pings: 0, connections: 1, closed: 0 });
    expect(transport!.connectionState).toBe('connected');
  });

  it('pings a silent collector, and ends the connection when no pong comes back', async () => {
    const seen = await collector({ pong: false });
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen.pings).toBeGreaterThan(0);
    expect(seen.closed).toBeGreaterThan(0);
    expect(seen.connections).toBeGreaterThan(1);
  });

  it('stays connected to a silent collector that answers its pings', async () => {
    const seen = await collector({ pong: true });
    await new Promise((r) => setTimeout(r, 1500));
    expect(seen.pings).toBeGreaterThan(2);
    expect(seen).toMatchObject({ connections: 1, closed: 0 });
  });
});
