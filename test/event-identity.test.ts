// No security event point can overwrite another (issue 18, "identity of an event in
// storage"), proven against a real InfluxDB, real collector restarts and two collectors
// at once. Events are stored at a nanosecond of their second drawn from their digest:
// two distinct events that a millisecond slot would have put together (one pair in a
// thousand) are two points even where nothing could tell the second collector about the
// first event (restart with InfluxDB down; two collectors during a failover). And where
// two events are forced onto one slot (an injected slot function), the ledger and the
// lookup in InfluxDB still keep them apart: the first stored before a restart and the
// second after it are two points, resent still two; the same when the first never
// reached InfluxDB (down) and waits in the collector's spool across the restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { encode, PROTOCOL_VERSION, type SecurityEvent } from '@canh/protocol';
import { Collector } from '../collector/src/collector.ts';
import { parseCollectorConfig } from '../collector/src/config.ts';
import { eventDigest, type SlotOf } from '../collector/src/event-times.ts';
import { healthLine } from '../collector/src/health.ts';
import { seriesRows, startInfluxd, type Influxd, type InfluxQueryResult } from './helpers/influxd.ts';
import { until } from '../agent/src/detectors/testing.ts';

let influx: Influxd;
let dir: string;
const log = pino({ level: process.env.CANH_TEST_LOG ?? 'silent' });

beforeAll(async () => {
  influx = await startInfluxd();
  dir = mkdtempSync(join(tmpdir(), 'canh-event-identity-'));
}, 60_000);

afterAll(async () => {
  await influx?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Forced collisions: a slot among the first thousand nanoseconds, so a pair from collidingWith shares it. */
const msSlot: SlotOf = (d) => d % 1000;

async function startCollector(stateDir: string, eventSlot?: SlotOf): Promise<Collector> {
  const c = new Collector(
    parseCollectorConfig({
      listen: { host: '127.0.0.1', port: 0 },
      state_dir: stateDir,
      influx: { url: influx.url, database: 'canh', flush_interval: 50, timeout: 2000 },
    }),
    { log, eventSlot },
  );
  await c.start();
  return c;
}

/** A raw agent connection: sends batches, collects acks. */
async function connect(c: Collector, token: string): Promise<{ send(seq: number, events: SecurityEvent[]): Promise<void>; close(): void }> {
  const ws = new WebSocket(`ws://127.0.0.1:${c.server.port}/v1/agent`, { headers: { authorization: `Bearer ${token}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () =>
      ws.send(encode({ type: 'hello', protocol: PROTOCOL_VERSION, agent_version: 'raw', hostname: 'x', os: 'test', spool_batches: 0, dropped_points: 0 })),
    );
    ws.once('message', () => resolve());
    ws.once('error', reject);
  });
  const acks = new Set<number>();
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m)) as { type: string; seq: number };
    if (msg.type === 'ack') acks.add(msg.seq);
  });
  return {
    async send(seq, events) {
      ws.send(encode({ type: 'batch', seq, points: [], events }));
      expect(await until(() => acks.has(seq), 20_000), `ack of batch ${seq}`).toBe(true);
    },
    close: () => ws.close(),
  };
}

const second = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const bf = (ip: string, t = second): SecurityEvent => ({
  time: t,
  detector: 'auth_log',
  type: 'brute_force',
  severity: 'high',
  mitre: 'T1110.001',
  message: `Brute-force attack: 5 failed logins from ${ip} within 10m for root`,
  evidence: { src_ip: ip, users: 'root', user_count: 1, total_failures: 5 },
  count: 5,
});

/** A second event from another address whose digest lands on the same millisecond as `a`'s. */
function collidingWith(host: string, a: SecurityEvent): SecurityEvent {
  const want = eventDigest(host, a, 0) % 1000;
  for (let i = 1; i < 200_000; i++) {
    const b = bf(`198.51.${100 + Math.floor(i / 250)}.${i % 250}`, a.time);
    if (b.evidence.src_ip !== a.evidence.src_ip && eventDigest(host, b, 0) % 1000 === want) return b;
  }
  throw new Error('no colliding event found');
}

async function stored(host: string): Promise<{ ip: string; time: number }[]> {
  const rows = seriesRows(await influx.query(`SELECT src_ip FROM security_event WHERE host = '${host}'`, 'canh'));
  return rows.map((r) => ({ ip: String(r.src_ip), time: Number(r.time) })).sort((x, y) => x.time - y.time);
}

/** The same with exact times in ns (JSON numbers past 2^53 read from their source text). */
async function storedNs(host: string): Promise<{ ip: string; ns: bigint }[]> {
  const form = new URLSearchParams({ q: `SELECT src_ip FROM security_event WHERE host = '${host}'`, db: 'canh', epoch: 'ns' });
  const text = await (await fetch(`${influx.url}/query`, { method: 'POST', body: form })).text();
  const exact = (_k: string, v: unknown, c?: { source?: string }) => (typeof v === 'number' && c?.source && /^\d+$/.test(c.source) ? BigInt(c.source) : v);
  const rows = seriesRows(JSON.parse(text, exact as (k: string, v: unknown) => unknown) as InfluxQueryResult);
  return rows.map((r) => ({ ip: String(r.src_ip), ns: r.time as bigint })).sort((x, y) => (x.ns < y.ns ? -1 : 1));
}

/** Where an event stored at its digest's slot is, in ns. */
const slotNs = (host: string, e: SecurityEvent, slot: SlotOf = (d) => d % 1e9) =>
  BigInt(e.time - (e.time % 1000)) * 1_000_000n + BigInt(slot(eventDigest(host, e, 0)));

describe('security event identity in InfluxDB', () => {
  // Issue 18's two cases that the ledger and the lookup cannot see. Each uses a pair of
  // distinct events that share a millisecond of their second (one pair in a thousand
  // does): stored at a millisecond chosen from their digests, the second overwrote the first.
  it('collector restarted while InfluxDB is down: an event stored before the restart and a distinct one of the same second after it are two points', async () => {
    const stateDir = join(dir, 'unprobed');
    let c = await startCollector(stateDir);
    const { token } = c.registry.add({ name: 'coll03', agency: 'so-tttt', site: 'dc1' });
    const a = bf('203.0.113.70', second - 10_000);
    const b = collidingWith('coll03', a);
    let conn = await connect(c, token);
    await conn.send(1, [a]); // acked: in InfluxDB
    conn.close();
    expect(c.spool.pendingRecords).toBe(0);
    await influx.kill9();
    try {
      await c.stop();
      // A new process: no ledger, and InfluxDB cannot be asked.
      c = await startCollector(stateDir);
      conn = await connect(c, token);
      await conn.send(2, [b]); // acked from the collector's spool
      conn.close();
      expect(c.server.eventTimes.stats.unprobed).toBeGreaterThan(0);
    } finally {
      await influx.restart();
    }
    expect(await until(() => c.spool.pendingRecords === 0, 60_000)).toBe(true);
    await c.stop();
    const rows = await stored('coll03');
    expect(rows.map((r) => r.ip).sort()).toEqual([a.evidence.src_ip, b.evidence.src_ip].sort());
    for (const r of rows) expect(r.time - (r.time % 1000)).toBe(a.time);
    // Each at its own digest's nanosecond: nothing had to move.
    const ns = await storedNs('coll03');
    expect(ns.find((r) => r.ip === a.evidence.src_ip)!.ns).toBe(slotNs('coll03', a));
    expect(ns.find((r) => r.ip === b.evidence.src_ip)!.ns).toBe(slotNs('coll03', b));
  }, 120_000);

  it('two collectors sharing one InfluxDB (a failover), each given one of two distinct events of one host and second: two points', async () => {
    const [c1, c2] = [await startCollector(join(dir, 'pair-1')), await startCollector(join(dir, 'pair-2'))];
    try {
      // One host known to both (the registry each collector shares with its peer).
      const ident = { name: 'coll04', agency: 'so-tttt', site: 'dc1' };
      const [t1, t2] = [c1.registry.add(ident).token, c2.registry.add(ident).token];
      const a = bf('203.0.113.80', second - 15_000);
      const b = collidingWith('coll04', a);
      const other = bf('192.0.2.9', a.time);
      expect(slotNs('coll04', b)).not.toBe(slotNs('coll04', a));
      // The agent was on the second collector a moment ago: it knows that second (looked
      // it up, stored an event there). Then it fails over to the first one and back, each
      // collector placing its event from what it knew: not coordinated.
      const k2 = await connect(c2, t2);
      await k2.send(1, [other]);
      const k1 = await connect(c1, t1);
      await k1.send(2, [a]);
      k1.close();
      await k2.send(3, [b]);
      k2.close();
      const rows = await stored('coll04');
      expect(rows.map((r) => r.ip).sort()).toEqual([a.evidence.src_ip, b.evidence.src_ip, other.evidence.src_ip].sort());
    } finally {
      await c1.stop();
      await c2.stop();
    }
  }, 120_000);

  it('two events forced onto one slot, one before and one after a collector restart, are two points; resent, still two', async () => {
    const stateDir = join(dir, 'restart');
    let c = await startCollector(stateDir, msSlot);
    const { token } = c.registry.add({ name: 'coll01', agency: 'so-tttt', site: 'dc1' });
    const a = bf('203.0.113.50');
    const b = collidingWith('coll01', a);
    let conn = await connect(c, token);
    await conn.send(1, [a]);
    conn.close();
    await c.stop();

    c = await startCollector(stateDir, msSlot);
    conn = await connect(c, token);
    await conn.send(2, [b]);
    // Acked means written: both are there before any resend.
    expect((await stored('coll01')).map((r) => r.ip).sort()).toEqual([a.evidence.src_ip, b.evidence.src_ip].sort());
    // The agent resends both (acks it did not see), to the collector that has just restarted.
    await conn.send(1, [a]);
    await conn.send(2, [b]);
    conn.close();
    await c.stop();

    c = await startCollector(stateDir, msSlot);
    conn = await connect(c, token);
    await conn.send(2, [b]);
    await conn.send(1, [a]);
    conn.close();
    await c.stop();

    const rows = await stored('coll01');
    expect(rows.map((r) => r.ip).sort()).toEqual([a.evidence.src_ip, b.evidence.src_ip].sort());
    // Both in the second they happened; the second one moved off the first one's slot.
    for (const r of rows) expect(r.time - (r.time % 1000)).toBe(second);
    const ns = await storedNs('coll01');
    expect(ns[0]!.ns).not.toBe(ns[1]!.ns);
    expect(slotNs('coll01', b, msSlot)).toBe(slotNs('coll01', a, msSlot));
    expect(ns.find((r) => r.ip === a.evidence.src_ip)!.ns).toBe(slotNs('coll01', a, msSlot));
    // Nanoseconds apart, within one millisecond: the copy into the long-kept events policy
    // (storage, influx/retention.ts) keeps them two points.
    c = await startCollector(stateDir, msSlot);
    await c.storage.idle();
    await c.storage.copyEvents(second, second + 1000);
    await c.stop();
    const kept = seriesRows(await influx.query(`SELECT count("message") FROM "events"."security_event" WHERE host = 'coll01'`, 'canh'));
    expect(kept[0]?.count).toBe(2);
  }, 120_000);

  it('the same with the first event still in the collector spool (InfluxDB down) across the restart', async () => {
    const stateDir = join(dir, 'spooled');
    let c = await startCollector(stateDir, msSlot);
    const { token } = c.registry.add({ name: 'coll02', agency: 'so-tttt', site: 'dc1' });
    const a = bf('203.0.113.60', second - 5000);
    const b = collidingWith('coll02', a);
    await influx.kill9();
    try {
      let conn = await connect(c, token);
      await conn.send(1, [a]); // acked from the collector's spool
      expect(c.spool.pendingRecords).toBeGreaterThan(0);
      conn.close();
      await c.stop();

      c = await startCollector(stateDir, msSlot);
      conn = await connect(c, token);
      await conn.send(2, [b]);
      await conn.send(1, [a]); // resent while it still waits in the spool
      conn.close();
      // Placed without InfluxDB's answer: counted where the operator sees it.
      expect(c.server.eventTimes.stats.probeFailures).toBeGreaterThan(0);
      expect(healthLine(c, 1)).toMatch(/events_unprobed=[1-9]\d*i/);
    } finally {
      await influx.restart();
    }
    // The spool drains into the InfluxDB that is back.
    expect(await until(() => c.spool.pendingRecords === 0, 60_000)).toBe(true);
    await c.stop();
    const rows = await storedNs('coll02');
    expect(rows.map((r) => r.ip).sort()).toEqual([a.evidence.src_ip, b.evidence.src_ip].sort());
    expect(rows[0]!.ns).not.toBe(rows[1]!.ns);
    // The first keeps its slot: the second never sat on it (a resend moved would hide that).
    expect(rows.find((r) => r.ip === a.evidence.src_ip)!.ns).toBe(slotNs('coll02', a, msSlot));
  }, 120_000);
});
