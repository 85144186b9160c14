// The set of InfluxDB targets against a real influxd and a port nobody listens on (a node
// that is down): the ack rule (write_quorum, the spool counts), a gap past the quorum
// counted, a write refused below it, and the backlog drained when the node returns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { CanhError } from '@canh/core';
import { seriesRows, startInfluxd, type Influxd } from '../../../test/helpers/influxd.ts';
import { freePort } from '../../../test/helpers/ports.ts';
import { InfluxTargets } from './targets.ts';

let up: Influxd;
let downUrl: string;
const dirs: string[] = [];
const open: InfluxTargets[] = [];
const log = pino({ level: 'silent' });

beforeAll(async () => {
  up = await startInfluxd();
  downUrl = `http://127.0.0.1:${await freePort()}`;
}, 60_000);
afterAll(async () => {
  for (const t of open) await t.stop();
  await up?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function targets(db: string, opts: { quorum?: number; spoolBytes?: number; second?: string; maxQueuedLines?: number } = {}): InfluxTargets {
  const dir = mkdtempSync(join(tmpdir(), 'canh-targets-'));
  dirs.push(dir);
  const t = new InfluxTargets(
    {
      targets: [
        { name: 'up', url: up.url },
        { name: 'down', url: opts.second ?? downUrl },
      ],
      writeQuorum: opts.quorum,
      writer: { database: db, batchSize: 1000, flushIntervalMs: 20, timeoutMs: 1000, maxQueuedLines: opts.maxQueuedLines ?? 10_000, concurrency: 2 },
      spool: { stateDir: dir, maxBytes: opts.spoolBytes ?? 64 * 1024 * 1024 },
    },
    log,
  );
  open.push(t);
  return t;
}

async function count(influx: Influxd, db: string): Promise<number> {
  return Number(seriesRows(await influx.query('SELECT count(v) FROM m', db))[0]?.count ?? 0);
}

const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `m,k=x v=${from + i} ${1_700_000_000_000 + from + i}`);

describe('InfluxDB targets', () => {
  it('acks with every target by default while one is down: the down one holds the batch in its spool', async () => {
    await up.createDatabase('quorum_all');
    const t = targets('quorum_all');
    expect(t.quorum).toBe(2);
    t.start();
    await t.write(lines(0, 10));
    await t.write(lines(10, 10));
    const [a, b] = t.status();
    expect(a!.spooled_records).toBe(0);
    expect(b!.spooled_records).toBeGreaterThan(0);
    expect(b!.healthy).toBe(false);
    expect(await count(up, 'quorum_all')).toBe(20);
    expect(await t.pingEach()).toEqual([true, false]);
    // Fewer targets answering than the quorum: /healthz says so.
    expect(await t.ping()).toBe(false);
  });

  it('refuses the batch (no ack) when fewer than write_quorum targets can hold it', async () => {
    await up.createDatabase('quorum_refused');
    // The down target's spool takes one record and is then over its bound; its writer then
    // keeps one more batch in memory (5 lines), and answers busy past that.
    const t = targets('quorum_refused', { spoolBytes: 1, maxQueuedLines: 5 });
    t.start();
    await t.write(lines(0, 5));
    void t.write(lines(5, 5)).catch(() => {}); // waits in the down target's memory queue
    const err = await t.write(lines(10, 5)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CanhError);
    expect((err as CanhError).code).toBe('CANH_ERR_INFLUX_QUORUM');
    // Refused, not a gap: the agent resends it to every target.
    expect(t.status()[1]!.lost_lines).toBe(0);
  });

  it('with write_quorum 1, acks from the live target and counts what the other misses as lost_lines', async () => {
    await up.createDatabase('quorum_one');
    const t = targets('quorum_one', { quorum: 1, spoolBytes: 1, maxQueuedLines: 5 });
    t.start();
    // 1: the down target's spool; 2: its memory queue; 3 and 4: neither (a gap of 10 lines).
    for (let i = 0; i < 4; i++) await t.write(lines(i * 5, 5));
    expect(await count(up, 'quorum_one')).toBe(20);
    // The down target's failures settle in the background: waited for (was a 50 ms sleep).
    const settled = () => {
      const { spooled_records, queued_lines, lost_lines } = t.status()[1]!;
      return { spooled_records, queued_lines, lost_lines };
    };
    await expect.poll(settled, { timeout: 15_000, interval: 20 }).toEqual({ spooled_records: 1, queued_lines: 5, lost_lines: 10 });
  });

  it('a node that returns catches up from its spool: both hold the same points', async () => {
    const second = await startInfluxd();
    try {
      await up.createDatabase('catch_up');
      await second.createDatabase('catch_up');
      const secondUrl = second.url;
      await second.kill9();
      const t = targets('catch_up', { second: secondUrl });
      t.start();
      for (let i = 0; i < 5; i++) await t.write(lines(i * 10, 10));
      expect(t.status()[1]!.spooled_records).toBeGreaterThan(0);
      await second.restart();
      const deadline = Date.now() + 60_000;
      while (t.status()[1]!.spooled_records > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(t.status()[1]!.spooled_records).toBe(0);
      expect(await count(second, 'catch_up')).toBe(50);
      expect(await count(up, 'catch_up')).toBe(50);
    } finally {
      await second.stop();
    }
  }, 90_000);
});
