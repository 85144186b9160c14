// The InfluxDB writer and the collector spool against a real influxd: a refused point
// does not block the others; InfluxDB down → lines go to the durable spool and drain
// back in order when it returns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startInfluxd, seriesRows, type Influxd } from '../../../test/helpers/influxd.ts';
import { InfluxWriter, type InfluxOptions } from './writer.ts';
import { CollectorSpool } from './spool.ts';
import { nodeSpoolFs, type SpoolFs } from '@canh/core';

let influx: Influxd;
const dirs: string[] = [];
const log = pino({ level: 'silent' });

beforeAll(async () => {
  influx = await startInfluxd();
}, 60_000);
afterAll(async () => {
  await influx?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function writer(db: string, url = influx.url, opts: Partial<InfluxOptions> = {}): InfluxWriter {
  return new InfluxWriter({ url, database: db, batchSize: 1000, flushIntervalMs: 50, timeoutMs: 2000, maxQueuedLines: 100_000, concurrency: 2, ...opts }, log);
}

async function count(db: string, m: string): Promise<number> {
  const rows = seriesRows(await influx.query(`SELECT count(*) FROM ${m}`, db));
  const r = rows[0] ?? {};
  return Math.max(
    0,
    ...Object.entries(r)
      .filter(([k]) => k.startsWith('count'))
      .map(([, v]) => Number(v)),
  );
}

describe('influx writer', () => {
  it('a point InfluxDB refuses does not block the rest of its batch', async () => {
    const w = writer('partial');
    await w.ensureDatabase();
    w.start();
    await w.write(['m v=1i 1000']);
    // v is an integer field now; the float below is a type conflict for that one point.
    await w.write(['m v=2i 2000', 'm v=2.5 3000', 'm v=4i 4000', 'garbage line here', 'm v=5i 5000']);
    expect(await count('partial', 'm')).toBe(4);
    expect(w.stats.refused).toBe(1);
    expect(w.stats.lastError).toMatch(/conflict|unable to parse/);
    await w.stop();
  });

  it('sends at once when nothing is in flight, and gathers what comes meanwhile into the next request', async () => {
    // No start(): no flush timer at all. Without flushWhenIdle these writes would wait
    // for a timer that never fires (the guard below turns that into a failure).
    const w = writer('eager', undefined, { flushIntervalMs: 3_600_000 });
    await w.ensureDatabase();
    const guard = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error('not sent without a flush timer')), 10_000))]);
    await guard(w.writeText('e v=1i 1000', 1));
    expect(w.stats.requests).toBe(1);
    // The first goes out alone; the next two wait for it and then share one request.
    const all = Promise.all([w.writeText('e v=2i 2000', 1), w.writeText('e v=3i 3000', 1), w.writeText('e v=4i 4000', 1)]);
    await guard(all);
    expect(w.stats.requests).toBe(3);
    const rows = seriesRows(await influx.query('SELECT count(v) FROM e', 'eager'));
    expect(rows[0]?.count).toBe(4);
    const off = writer('eager', undefined, { flushIntervalMs: 3_600_000, flushWhenIdle: false });
    let sent = false;
    void off.writeText('e v=5i 5000', 1).then(() => (sent = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toBe(false);
    await off.stop();
    await w.stop();
  });

  it('keeps max_queued_lines when a request fails: lines queued meanwhile keep their place, what no longer fits is refused', async () => {
    // A server that takes the request and holds it until the test drops the connection:
    // the first write is in flight while the second is queued, whatever the machine's speed.
    const { createServer } = await import('node:http');
    let received: () => void = () => {};
    const arrived = new Promise<void>((r) => (received = r));
    const holding = createServer(() => received());
    await new Promise<void>((r) => holding.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(holding.address() as import('node:net').AddressInfo).port}`;
    const w = writer('never', url, { maxQueuedLines: 5, batchSize: 5, timeoutMs: 60_000, flushIntervalMs: 3_600_000 });
    try {
      const first = w.writeText('n v=1i 1\nn v=2i 2\nn v=3i 3\nn v=4i 4\nn v=5i 5', 5);
      first.catch(() => {});
      await arrived;
      const second = w.writeText('n v=6i 6', 1);
      second.catch(() => {});
      expect(w.stats.queued).toBe(1);
      holding.closeAllConnections();
      await expect.poll(() => w.stats.failures, { timeout: 15_000, interval: 20 }).toBeGreaterThan(0);
      // The failed request's 5 lines do not fit beside the 1 queued: refused (the agent keeps them), not held past the bound.
      expect(w.stats.queued).toBe(1);
      await expect(first).rejects.toMatchObject({ code: 'CANH_ERR_INFLUX_BUSY' });
    } finally {
      holding.closeAllConnections();
      holding.close();
      await w.stop(0);
    }
  });

  it('with lingerMs, batches that arrive one after another while nothing is in flight share one request', async () => {
    // No start(): only the linger timer sends. Each write comes a turn of the event loop
    // after the one before: with lingerMs 0 the first would go alone.
    const w = writer('linger', undefined, { flushIntervalMs: 3_600_000, lingerMs: 2000 });
    await w.ensureDatabase();
    const done: Promise<void>[] = [];
    for (let i = 1; i <= 5; i++) {
      done.push(w.writeText(`l v=${i}i ${i * 1000}`, 1));
      await new Promise((r) => setImmediate(r));
    }
    expect(w.stats.requests).toBe(0);
    await Promise.all(done);
    expect(w.stats.requests).toBe(1);
    expect(seriesRows(await influx.query('SELECT count(v) FROM l', 'linger'))[0]?.count).toBe(5);
    // stop() sends what is lingering instead of refusing it.
    const last = w.writeText('l v=6i 6000', 1);
    await w.stop();
    await last;
    expect(seriesRows(await influx.query('SELECT count(v) FROM l', 'linger'))[0]?.count).toBe(6);
  });

  it('batches queued as strings and as UTF-8 buffers go out in one request, non-ASCII intact', async () => {
    const w = writer('mixed', undefined, { flushWhenIdle: false });
    await w.ensureDatabase();
    w.start();
    const done = Promise.all([
      w.writeText(Buffer.from('m,site=Sở\\ TTTT v=1i 1000\nm,site=Sở\\ TTTT v=2i 2000'), 2),
      w.writeText('m,site=Huế v=3i 3000', 1),
      w.writeText(Buffer.from('m,site=Đà\\ Nẵng note="điểm \\"x\\"",v=4i 4000'), 1),
    ]);
    w.flush();
    await done;
    expect(w.stats.requests).toBe(1);
    const rows = seriesRows(await influx.query('SELECT v, note FROM m GROUP BY site', 'mixed'));
    expect(rows.map((r) => [r.site, r.v, r.note ?? null])).toEqual([
      ['Huế', 3, null],
      ['Sở TTTT', 1, null],
      ['Sở TTTT', 2, null],
      ['Đà Nẵng', 4, 'điểm "x"'],
    ]);
    await w.stop();
  });

  it('InfluxDB down: lines are spooled durably (and acked), then drained when it is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-cspool-'));
    dirs.push(dir);
    const w = writer('outage');
    await w.ensureDatabase();
    const spool = new CollectorSpool({ dir, maxBytes: 10 * 1024 * 1024 }, w, log);
    w.fallback = (text, n) => spool.storeText(text, n);
    w.start();
    spool.start();
    await w.write(['o v=0i 1']);
    await influx.kill9();
    const t0 = Date.now();
    // These resolve (the collector would ack) although InfluxDB is gone: they are on disk.
    for (let i = 1; i <= 50; i++) await w.write([`o v=${i}i ${i + 1}`]);
    // They do not wait for InfluxDB (50 × the 2 s timeout = 100 s): a bound only that would
    // pass, loose enough for a loaded machine's fsyncs.
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(spool.pendingRecords).toBeGreaterThan(0);
    // A restart of the collector itself would find them again (same folder).
    spool.stop();
    const again = new CollectorSpool({ dir, maxBytes: 10 * 1024 * 1024 }, w, log);
    w.fallback = (text, n) => again.storeText(text, n);
    await influx.restart();
    again.start();
    const deadline = Date.now() + 20_000;
    while (again.pendingRecords > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(again.pendingRecords).toBe(0);
    expect(await count('outage', 'o')).toBe(51);
    again.stop();
    await w.stop();
  }, 120_000);

  it('texts in ms and in ns (batches carrying security events) never share a request, queued or drained from the spool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-cspool-'));
    dirs.push(dir);
    const w = writer('precision');
    await w.ensureDatabase();
    const spool = new CollectorSpool({ dir, maxBytes: 10 * 1024 * 1024 }, w, log);
    w.fallback = (text, n, precision) => spool.storeText(text, n, precision);
    w.start();
    spool.start();
    const ms = 1_733_600_000_123;
    await Promise.all([w.writeText(`p v=1i ${ms}`, 1), w.writeText(`p v=2i ${ms}000001`, 1, 'ns'), w.writeText(`p v=3i ${ms + 1}`, 1)]);
    await influx.kill9();
    try {
      await w.writeText(`p v=4i ${ms + 2}`, 1);
      await w.writeText(`p v=5i ${ms + 2}000001\np v=6i ${ms + 2}000002`, 2, 'ns');
      await w.writeText(`p v=7i ${ms + 3}`, 1);
      expect(spool.pendingRecords).toBeGreaterThan(0);
    } finally {
      await influx.restart();
    }
    const deadline = Date.now() + 20_000;
    while (spool.pendingRecords > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(spool.pendingRecords).toBe(0);
    const rows = seriesRows(await influx.query('SELECT v FROM p', 'precision')).map((r) => [Number(r.v), Number(r.time)]);
    expect(rows.sort((a, b) => a[0]! - b[0]!)).toEqual([
      [1, ms],
      [2, ms],
      [3, ms + 1],
      [4, ms + 2],
      [5, ms + 2],
      [6, ms + 2],
      [7, ms + 3],
    ]);
    // Asked in ns, the times past 2^53 come back exact.
    const exact = (await w.query('SELECT v FROM p WHERE v = 6', 'precision', 'ns')) as { results: { series: { values: unknown[][] }[] }[] };
    expect(exact.results[0]!.series[0]!.values[0]![0]).toBe(BigInt(`${ms + 2}000002`));
    spool.stop();
    await w.stop();
  }, 60_000);

  it('past its bound the spool refuses, so the writer does not ack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-cspool-'));
    dirs.push(dir);
    const w = writer('full', 'http://127.0.0.1:9'); // nothing listens there
    const spool = new CollectorSpool({ dir, maxBytes: 1024 * 1024 }, w, log);
    const big = Array.from({ length: 3000 }, (_, i) => `f,tag=${'x'.repeat(200)} v=${i}i ${i}`);
    expect(spool.store(big)).toBe(true);
    expect(spool.store(big)).toBe(true);
    expect(spool.store(big)).toBe(false);
    expect(spool.refusedFull).toBe(1);
    spool.stop();
    await w.stop(10);
  });

  it('a spool disk that takes nothing (ENOSPC): no throw, no ack (the writer keeps the lines), and it takes data again when the disk does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-cspool-'));
    dirs.push(dir);
    let full = false;
    const fs: SpoolFs = {
      ...nodeSpoolFs,
      writeSync: (fd, b, o, l, p) => {
        if (!full) return nodeSpoolFs.writeSync(fd, b, o, l, p);
        // The kernel takes a few bytes, then the disk is full: a torn record to cut back.
        if (l > 8) {
          nodeSpoolFs.writeSync(fd, b, o, 8, p);
          return 8;
        }
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    const w = writer('diskfull', 'http://127.0.0.1:9'); // nothing listens there
    const spool = new CollectorSpool({ dir, maxBytes: 1024 * 1024, minFree: 0, fs }, w, log);
    w.fallback = (text, n) => spool.storeText(text, n);
    expect(await w.post('d v=0i 1', 1)).toBe('retry'); // the writer now knows InfluxDB is down
    expect(spool.store(['d v=1i 1'])).toBe(true);
    full = true;
    const pending = w.writeText('d v=2i 2', 1);
    pending.catch(() => {});
    expect(spool.diskFull).toBe(true);
    expect(spool.refusedDiskFull).toBe(1);
    expect(w.stats.queued, 'refused by the spool: kept in memory, not acked').toBe(1);
    expect(spool.pendingRecords).toBe(1);
    full = false;
    let took = false;
    for (let i = 0; i < 50 && !(took = spool.store(['d v=3i 3'])); i++) await new Promise((r) => setTimeout(r, 100));
    expect(took).toBe(true);
    expect(spool.diskFull).toBe(false);
    spool.stop();
    // After a restart: the two whole records, nothing torn.
    const again = new CollectorSpool({ dir, maxBytes: 1024 * 1024, minFree: 0 }, w, log);
    expect(again.pendingRecords).toBe(2);
    again.stop();
    await w.stop(10);
  });
});
