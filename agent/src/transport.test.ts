import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { pino } from 'pino';
import { decodeAgentMessage, decodeCollectorMessage, encode, pointsOf, type Batch, type Point } from '@canh/protocol';
import { quickAck, Transport } from './transport.ts';
import { collectorServer, onBatches, transportOptions, welcomeFrame } from './transport-testing.ts';
import { MemorySpool } from './spool/memory.ts';
import { Batcher } from './batcher.ts';
import { CertFactory } from './inputs/tls-testing.ts';
import { DiskSpool, nodeSpoolFs, type SpoolFs } from '@canh/core';

let certs: CertFactory | undefined;

describe('quickAck', () => {
  it('reads the acks the collector writes, as the schema does', () => {
    for (const seq of [0, 1, 42, 123_456_789_012]) {
      const frame = Buffer.from(encode({ type: 'ack', seq }));
      expect(quickAck(frame)).toBe(seq);
      expect(decodeCollectorMessage(frame)).toEqual({ type: 'ack', seq });
    }
  });
  it('leaves everything else to the full decoder', () => {
    for (const text of [
      '{"type":"ack","seq":-1}',
      '{"type":"ack","seq":1.5}',
      '{"type":"ack","seq":1,"x":1}',
      '{"seq":1,"type":"ack"}',
      '{"type":"error","seq":1}',
      ' {"type":"ack","seq":1}',
      '{"type":"ack","seq":1234567890123456}',
    ]) {
      expect(quickAck(Buffer.from(text))).toBeUndefined();
    }
  });
});

// The ways of checking liveness: the transport's own timer, and the agent's ticks
// (livenessByOwner: checkLiveness() called every 100 ms here, as the agent calls it every
// interval), with the socket read all the time or only at those ticks (readAtTicks: the
// check comes after the tick's reads, and the socket rests until the next tick).
describe.each([
  { mode: 'its own timer', byOwner: false, atTicks: false },
  { mode: "the owner's checks", byOwner: true, atTicks: false },
  { mode: "the owner's checks, reading at ticks", byOwner: true, atTicks: true },
])('transport liveness by $mode', ({ byOwner, atTicks }) => {
  // A real WebSocket server standing in for the collector's protocol: it welcomes the
  // agent, acks what it wants to, and answers pings only when told to (autoPong off).
  let wss: WebSocketServer | undefined;
  let transport: Transport | undefined;
  let checks: NodeJS.Timeout | undefined;
  afterEach(async () => {
    clearInterval(checks);
    await transport?.stop();
    await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
  });

  async function collector(opts: { pong: boolean; ackEveryMs?: number }) {
    const seen = { pings: 0, connections: 0, closed: 0 };
    let url: string;
    ({ wss, url } = await collectorServer({ autoPong: false }));
    wss.on('connection', (ws: WebSocket) => {
      seen.connections++;
      ws.on('ping', (d) => {
        seen.pings++;
        if (opts.pong) ws.pong(d);
      });
      ws.on('close', () => seen.closed++);
      ws.once('message', () => {
        ws.send(welcomeFrame());
        // Frames the agent takes as "the collector is there" without acting on them (an ack
        // for a seq not in flight would be a protocol error that closes the connection).
        if (opts.ackEveryMs) {
          const t = setInterval(() => ws.send(encode({ type: 'error', code: 'CANH_ERR_INFLUX_BUSY', message: 'still here' })), opts.ackEveryMs);
          ws.on('close', () => clearInterval(t));
        }
      });
    });
    transport = new Transport(
      transportOptions({ url, pingIntervalMs: 200, livenessByOwner: byOwner, readAtTicks: atTicks }),
      new MemorySpool({ maxBytes: 1e6 }),
      pino({ level: 'silent' }),
    );
    transport.start();
    if (byOwner && !atTicks) checks = setInterval(() => transport!.checkLiveness(), 100);
    if (atTicks) {
      checks = setInterval(() => {
        transport!.wake();
        setImmediate(() => {
          transport!.checkLiveness();
          transport!.rest();
        });
      }, 100);
    }
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

  // Only the owner's way has no timer to prove absent.
  if (byOwner) {
    it('keeps no timer of its own: without checks, a silent collector is never pinged', async () => {
      const seen = await collector({ pong: false });
      clearInterval(checks);
      await new Promise((r) => setTimeout(r, 1000));
      expect(seen).toEqual({ pings: 0, connections: 1, closed: 0 });
    });
  }
});

describe('transport: a backlog leaves in merged frames', () => {
  // A real WebSocket server that decodes every frame with the collector's decoder and
  // acks it (or refuses the first one as busy), recording what arrived.
  let wss: WebSocketServer | undefined;
  let transport: Transport | undefined;
  afterEach(async () => {
    await transport?.stop(0);
    await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
  });

  async function run(spool: MemorySpool, opts: { busyFirst?: boolean } = {}) {
    const frames: Batch[] = [];
    let url: string;
    ({ wss, url } = await collectorServer());
    let refused = false;
    wss.on('connection', (ws: WebSocket) => {
      onBatches(ws, (msg) => {
        if (opts.busyFirst && !refused) {
          refused = true;
          ws.send(encode({ type: 'error', code: 'CANH_ERR_INFLUX_BUSY', message: 'busy', seq: msg.seq }));
          return;
        }
        frames.push(msg);
        // Acks come later than the next frames would, as from InfluxDB.
        setTimeout(() => ws.send(encode({ type: 'ack', seq: msg.seq })), 5);
      });
    });
    transport = new Transport(transportOptions({ url, maxBatchPoints: 100 }), spool, pino({ level: 'silent' }));
    transport.start();
    for (let i = 0; i < 200 && spool.stats().batches > 0; i++) await new Promise((r) => setTimeout(r, 20));
    return frames;
  }

  /** A spool holding `cycles` batches of one cycle each (10 points), one with an event. */
  function backlog(cycles: number, eventAt = -1): { spool: MemorySpool; points: Point[] } {
    const spool = new MemorySpool({ maxBytes: 1e7 });
    const b = new Batcher(spool, { batchSize: 1000, flushIntervalMs: 60_000, maxMessageBytes: 4e6 });
    const acc = b.accumulator('host');
    const points: Point[] = [];
    for (let c = 0; c < cycles; c++) {
      for (let i = 0; i < 10; i++) {
        const p: Point = {
          name: i < 5 ? 'cpu' : 'net',
          time: 1_700_000_000_000 + c * 10_000,
          tags: { n: String(i) },
          fields: { v: c + i / 10, n: c },
          int: ['n'],
        };
        acc.addPoint(p.name, p.tags, p.fields, { time: p.time, int: p.int });
        points.push(p);
      }
      if (c === eventAt) acc.addEvent({ type: 'port_new', severity: 'low', message: 'm' });
      b.flush();
    }
    return { spool, points };
  }

  it('merges a backlog into frames of up to batch_size points, all acked, every point once', async () => {
    const { spool, points } = backlog(50);
    expect(spool.stats().batches).toBe(50);
    const frames = await run(spool);
    expect(spool.stats().batches).toBe(0);
    // 500 points at most 100 per frame: 5 frames instead of 50 (the last ones may be smaller).
    expect(frames.length).toBeLessThanOrEqual(8);
    expect(frames.every((f) => f.rows.length <= 100)).toBe(true);
    const got = frames.flatMap((f) => pointsOf(f));
    expect(got).toHaveLength(500);
    expect(new Set(got.map((p) => JSON.stringify(p)))).toEqual(new Set(points.map((p) => JSON.stringify(p))));
    // Each series is written once per merged frame.
    expect(Math.max(...frames.map((f) => f.series.length))).toBe(10);
    expect(transport!.merged).toBeGreaterThanOrEqual(45);
  });

  it('sends a batch with events alone, and what fits the window as it is', async () => {
    const { spool } = backlog(12, 5);
    const frames = await run(spool);
    expect(spool.stats().batches).toBe(0);
    const withEvent = frames.filter((f) => f.events.length > 0);
    expect(withEvent).toHaveLength(1);
    expect(withEvent[0]!.rows).toHaveLength(10);
    expect(frames.flatMap((f) => pointsOf(f))).toHaveLength(120);

    // Two batches and a window of two: nothing to merge, the spooled frames go as they are.
    const small = backlog(2);
    const sent = small.spool.after(0, 10).map((r) => r.frame);
    await transport!.stop(0);
    await new Promise((r) => wss!.close(r));
    const frames2 = await run(small.spool);
    expect(frames2.map((f) => JSON.stringify(f))).toEqual(sent.map((f) => JSON.stringify(decodeAgentMessage(f))));
  });

  it('a merged frame refused as busy is sent again, and acked batches are not resent', async () => {
    const { spool } = backlog(30);
    const frames = await run(spool, { busyFirst: true });
    expect(spool.stats().batches).toBe(0);
    const got = frames.flatMap((f) => pointsOf(f));
    expect(new Set(got.map((p) => `${p.name}|${p.tags.n}|${p.time}`)).size).toBe(300);
    expect(got.length).toBe(300);
  });
});

// Over ws:// and wss:// (the socket under a TLS connection is stopped and started the same way).
describe.each([{ scheme: 'ws' }, { scheme: 'wss' }])('transport: acks read at ticks (readAtTicks), $scheme', ({ scheme }) => {
  // A real WebSocket server that welcomes the agent and acks every batch at once; the
  // agent's socket is not read between rest() and wake(), as between two ticks.
  let wss: WebSocketServer | undefined;
  let https: HttpsServer | undefined;
  let transport: Transport | undefined;
  afterEach(async () => {
    await transport?.stop(0);
    await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
    await new Promise((r) => (https ? https.close(r) : r(undefined)));
    https = undefined;
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const frame = (seq: number) => ({ frame: JSON.stringify({ type: 'batch', seq, points: [], events: [] }), points: 0, events: 0 });

  async function run(maxInFlight = 4) {
    const seen = { acksSent: 0, connections: 0, server: [] as WebSocket[] };
    let caFile: string | undefined;
    let port: number;
    if (scheme === 'wss') {
      certs ??= new CertFactory();
      const ca = certs.ca();
      const leaf = certs.leaf({ days: 1, ca });
      caFile = ca.certFile;
      https = createHttpsServer({ cert: leaf.cert, key: leaf.key });
      await new Promise<void>((r) => https!.listen(0, '127.0.0.1', r));
      wss = new WebSocketServer({ server: https });
      port = (https.address() as AddressInfo).port;
    } else {
      ({ wss } = await collectorServer());
      port = (wss.address() as AddressInfo).port;
    }
    wss.on('connection', (ws: WebSocket) => {
      seen.connections++;
      seen.server.push(ws);
      onBatches(ws, (msg) => ws.send(encode({ type: 'ack', seq: msg.seq }), () => seen.acksSent++));
    });
    const spool = new MemorySpool({ maxBytes: 1e6 });
    const url = `${scheme}://127.0.0.1:${port}/v1/agent`;
    transport = new Transport(
      transportOptions({ url, pingIntervalMs: 60_000, maxInFlight, livenessByOwner: true, readAtTicks: true, caFile }),
      spool,
      pino({ level: 'silent' }),
    );
    transport.start();
    for (let i = 0; i < 100 && transport.connectionState !== 'connected'; i++) await sleep(10);
    expect(transport.connectionState).toBe('connected');
    /** A tick: read what came, send the tick's batch, rest until the next one. */
    const tick = async () => {
      transport!.wake();
      await new Promise((r) => setImmediate(r));
      spool.append(frame);
      transport!.pump();
      transport!.rest();
    };
    return { seen, spool, tick };
  }

  it('leaves the ack of a tick batch unread until the next tick, then reads it', async () => {
    const { seen, spool, tick } = await run();
    await tick();
    await sleep(300);
    expect(seen.acksSent).toBe(1); // the collector has acked it...
    expect(transport!.acked).toBe(0); // ...and the agent has not read it
    expect(spool.stats().batches).toBe(1);
    await tick(); // reads the first ack before sending the second batch
    expect(transport!.acked).toBe(1);
    expect(spool.stats().batches).toBe(1);
    await sleep(300);
    expect(transport!.acked).toBe(1);
    transport!.wake();
    await sleep(100);
    expect(transport!.acked).toBe(2);
    expect(spool.stats().batches).toBe(0);
  });

  it('reads the ack of a batch that leaves between ticks (security events) when it comes', async () => {
    const { spool, tick } = await run();
    await tick();
    await sleep(100);
    expect(transport!.acked).toBe(0);
    spool.append(frame); // an event batch, sent at once
    transport!.pump();
    await sleep(200);
    expect(transport!.acked).toBe(2); // reading resumed: both acks read
    expect(spool.stats().batches).toBe(0);
  });

  it('does not rest while the window is full', async () => {
    const { spool, tick } = await run(1);
    await tick(); // one frame in flight fills a window of one
    await sleep(200);
    expect(transport!.acked).toBe(1);
    expect(spool.stats().batches).toBe(0);
  });

  it('notices a connection the collector closed while it rested at the next tick, and reconnects', async () => {
    const { seen, tick } = await run();
    await tick();
    seen.server[0]!.terminate();
    await sleep(300);
    expect(seen.connections).toBe(1);
    transport!.wake();
    for (let i = 0; i < 100 && seen.connections < 2; i++) await sleep(10);
    expect(seen.connections).toBe(2);
  });
});

describe('transport: several collectors (collector.urls)', () => {
  // Two real WebSocket servers speaking the collector's side of the protocol; each records
  // the seqs it acked. One is closed with its connections, as a collector that dies.
  const servers: WebSocketServer[] = [];
  let transport: Transport | undefined;
  afterEach(async () => {
    await transport?.stop(0);
    transport = undefined;
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  async function collector(opts: { refuse?: boolean } = {}) {
    const acked: number[] = [];
    const { wss, url } = await collectorServer({
      // As the collector: an unknown token gets HTTP 401 before the upgrade.
      verifyClient: (_info, cb) => (opts.refuse ? cb(false, 401) : cb(true)),
    });
    servers.push(wss);
    wss.on('connection', (ws: WebSocket) => {
      onBatches(ws, (msg) => {
        acked.push(msg.seq);
        ws.send(encode({ type: 'ack', seq: msg.seq }));
      });
    });
    const kill = async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    };
    return { url, acked, wss, kill };
  }

  function spoolWith(batches: number): { spool: MemorySpool; batcher: Batcher } {
    const spool = new MemorySpool({ maxBytes: 1e7 });
    const batcher = new Batcher(spool, { batchSize: 1000, flushIntervalMs: 60_000, maxMessageBytes: 4e6 });
    for (let c = 0; c < batches; c++) addOne(batcher, c);
    return { spool, batcher };
  }
  function addOne(batcher: Batcher, c: number): void {
    batcher.accumulator('host').addPoint('cpu', { n: '0' }, { v: c }, { time: 1_700_000_000_000 + c * 1000 });
    batcher.flush();
  }
  async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
    for (const end = performance.now() + ms; performance.now() < end;) {
      if (cond()) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return cond();
  }

  it('sticks to the first collector it reaches, and moves the spool to the other when that one dies', async () => {
    const a = await collector();
    const b = await collector();
    const { spool, batcher } = spoolWith(3);
    transport = new Transport(transportOptions({ urls: [a.url, b.url], firstUrl: 0, reconnectMaxMs: 200 }), spool, pino({ level: 'silent' }));
    batcher.onBatch = () => transport!.pump();
    transport.start();
    expect(await until(() => spool.stats().batches === 0)).toBe(true);
    expect(a.acked.length).toBeGreaterThan(0);
    expect(b.acked).toEqual([]);
    expect(transport.url).toBe(a.url);

    await a.kill();
    // Batches made while no collector answers wait in the spool, then go to b.
    for (let c = 3; c < 8; c++) addOne(batcher, c);
    expect(await until(() => spool.stats().batches === 0 && transport!.connectionState === 'connected')).toBe(true);
    expect(transport.url).toBe(b.url);
    expect(b.acked.length).toBeGreaterThan(0);
    expect(transport.failovers).toBeGreaterThanOrEqual(1);
    expect(transport.acked).toBe(8);
  });

  it('passes over a collector that refuses the token (HTTP 401) to one that takes it', async () => {
    const refusing = await collector({ refuse: true });
    const good = await collector();
    const { spool } = spoolWith(2);
    transport = new Transport(transportOptions({ urls: [refusing.url, good.url], firstUrl: 0, reconnectMaxMs: 200 }), spool, pino({ level: 'silent' }));
    transport.start();
    expect(await until(() => spool.stats().batches === 0)).toBe(true);
    expect(good.acked.length).toBeGreaterThan(0);
    expect(transport.url).toBe(good.url);
  });

  it('starts at a random collector of the list, so agents spread over them', () => {
    const urls = ['ws://127.0.0.1:1/v1/agent', 'ws://127.0.0.1:2/v1/agent', 'ws://127.0.0.1:3/v1/agent'];
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const t = new Transport(transportOptions({ urls, reconnectMaxMs: 200 }), new MemorySpool({ maxBytes: 1e6 }), pino({ level: 'silent' }));
      seen.add(t.url);
    }
    expect(seen).toEqual(new Set(urls));
  });
});

describe('transport: a backlog waits on disk, not in memory', () => {
  // A DiskSpool on a real folder whose reads are counted (node:fs underneath), and a real
  // WebSocket server acking each frame a little later, as a collector behind InfluxDB does.
  let wss: WebSocketServer | undefined;
  let transport: Transport | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await transport?.stop(0);
    await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads from the spool only the frames it sends, each once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'canh-transport-backlog-'));
    let readBytes = 0;
    const fs: SpoolFs = {
      ...nodeSpoolFs,
      readSync: (fd, buf, off, len, pos) => {
        const n = nodeSpoolFs.readSync(fd, buf, off, len, pos);
        readBytes += n;
        return n;
      },
    };
    const spool = new DiskSpool({ dir, maxBytes: 64e6, fsync: 'never', minFree: 0, fs });
    const batcher = new Batcher(spool, { batchSize: 1000, flushIntervalMs: 60_000, maxMessageBytes: 4e6 });
    const acc = batcher.accumulator('auth_log');
    // 300 batches as a log read from its beginning makes them: two of three with a security
    // event (each goes alone), one with points only (merged with its like where they meet).
    for (let c = 0; c < 300; c++) {
      if (c % 3 === 2) acc.addPoint('cpu', { n: String(c) }, { v: c }, { time: 1_700_000_000_000 + c });
      else acc.addEvent({ type: 'brute_force', severity: 'high', message: `attack ${c} ${'x'.repeat(2000)}`, evidence: { src_ip: `198.18.0.${c % 250}` } });
      batcher.flush();
    }
    const spooledBytes = spool.stats().bytes;
    readBytes = 0;
    const got = { events: 0, points: 0 };
    let url: string;
    ({ wss, url } = await collectorServer());
    wss.on('connection', (ws: WebSocket) => {
      onBatches(ws, (msg) => {
        got.events += msg.events.length;
        got.points += pointsOf(msg).length;
        setTimeout(() => ws.send(encode({ type: 'ack', seq: msg.seq })), 2);
      });
    });
    transport = new Transport(transportOptions({ url, maxBatchPoints: 100 }), spool, pino({ level: 'silent' }));
    transport.start();
    for (let i = 0; i < 1000 && spool.stats().batches > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(spool.stats().batches).toBe(0);
    expect(got).toEqual({ events: 200, points: 100 });
    // Every frame read once at most. Before, each pump read up to 64 batches per free slot of
    // the window ahead, to decide what to merge: ~60 times the backlog over its drain.
    expect(readBytes).toBeGreaterThan(0);
    expect(readBytes).toBeLessThanOrEqual(spooledBytes);
    spool.close();
  });
});
