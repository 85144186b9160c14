// bench:storage — what a province's data costs on disk, and what the roll-ups cost (issue 29).
//
//   1. One simulated day (yesterday, 10-second samples) of BENCH_AGENTS agents, each
//      with BENCH_SERIES series (the Telegraf-shaped host series of bench/lib/points.ts,
//      repeated with other tags to reach ~150 points per 10 s), written straight into a
//      real influxd as fast as it takes them (batches of 5000, 4 requests at a time).
//   2. InfluxDB snapshots and compacts (cold durations of 1 s), then the data directory
//      of the raw policy is measured: bytes per point on disk.
//   3. The roll-ups of that day are computed with the collector's own statements
//      (rollup-schema.ts back-fill, the same SELECT … INTO its CQs run), timing the CPU
//      of influxd (/proc) and of this process (the collector's side: it only sends the
//      statements) — per hour of data.
//   4. Projection for a province of BENCH_PROVINCE agents (default 1,000), linear in the
//      number of agents: points/s, GB per day, and disk for a year with and without
//      roll-ups (raw 30 d + 400 d of roll-ups vs a year of raw).
//
// A province's full day (1,000 agents × 150 points / 10 s ≈ 1.3 billion points) would take
// hours on a small machine, so BENCH_AGENTS (default 2) agents are written at the real
// resolution and the figures are scaled: bytes per point and roll-up cost per series do
// not depend on how many other agents there are.
//
// Env: BENCH_AGENTS (2) BENCH_SERIES (150) BENCH_HOURS (24) BENCH_PROVINCE (1000)
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startInfluxd, seriesRows, type Influxd } from '../test/helpers/influxd.ts';
import { cpuOf } from './lib/proc.ts';
import { HOST_SERIES } from './lib/points.ts';
import { backfillStatements, planRollup, type FieldType } from '../collector/src/influx/rollup-schema.ts';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 2);
const SERIES = Number(process.env.BENCH_SERIES ?? 150);
const HOURS = Number(process.env.BENCH_HOURS ?? 24);
const PROVINCE = Number(process.env.BENCH_PROVINCE ?? 1000);
const STEP_MS = 10_000;
const DAY = 86_400_000;

function dirBytes(dir: string): number {
  let n = 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  } catch {
    /* not there (yet) */
  }
  return n;
}

/** The series of one agent: the host series, repeated under `instance` tags up to SERIES. */
function agentSeries(agent: number): { prefix: string; fields: string[]; int: Set<string>; seed: number }[] {
  const out: { prefix: string; fields: string[]; int: Set<string>; seed: number }[] = [];
  for (let i = 0; out.length < SERIES; i++) {
    const t = HOST_SERIES[i % HOST_SERIES.length]!;
    const tags = Object.entries({ ...t.tags, ...(i >= HOST_SERIES.length ? { instance: String(Math.floor(i / HOST_SERIES.length)) } : {}) })
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `,${k}=${v}`)
      .join('');
    out.push({ prefix: `${t.name},agency=so-${agent % 20},host=host-${agent},site=hq${tags}`, fields: t.fields, int: new Set(t.int), seed: agent * 1000 + i });
  }
  return out;
}

/** A value that moves like a measurement: a slow wave plus noise, counters only growing. */
function value(seed: number, f: number, step: number, isInt: boolean): string {
  const base = ((seed * 7919 + f * 104729) % 1000) + 10;
  if (isInt) return `${Math.floor(base * 1000 + step * ((seed + f) % 50))}i`;
  const v = base / 10 + Math.sin((step + seed) / 360) * 5 + ((step * 2654435761 + f) % 1000) / 1000;
  return v.toFixed(2);
}

async function main(): Promise<void> {
  const inf = await startInfluxdCold();
  try {
    await inf.createDatabase('canh');
    const end = Math.floor((Date.now() - DAY) / DAY) * DAY + HOURS * 3_600_000;
    const start = end - HOURS * 3_600_000;
    const series = Array.from({ length: AGENTS }, (_, a) => agentSeries(a)).flat();
    const steps = Math.floor((end - start) / STEP_MS);
    const total = steps * series.length;
    process.stdout.write(
      `bench:storage — ${AGENTS} agents × ${series.length / AGENTS} series × ${steps} samples (${HOURS} h at 10 s) = ${(total / 1e6).toFixed(1)} M points\n`,
    );

    // 1. write as fast as influxd takes it
    const t0 = performance.now();
    const batch: string[] = [];
    const inflight = new Set<Promise<void>>();
    const flush = async (): Promise<void> => {
      const body = batch.splice(0);
      const p = inf.write('canh', body);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      if (inflight.size >= 4) await Promise.race(inflight);
    };
    for (let s = 0; s < steps; s++) {
      const t = start + s * STEP_MS;
      for (const x of series) {
        let line = `${x.prefix} `;
        x.fields.forEach((f, i) => (line += `${i ? ',' : ''}${f}=${value(x.seed, i, s, x.int.has(f))}`));
        batch.push(`${line} ${t}`);
        if (batch.length >= 5000) await flush();
      }
    }
    if (batch.length) await flush();
    await Promise.all(inflight);
    const writeS = (performance.now() - t0) / 1000;
    process.stdout.write(`written in ${writeS.toFixed(0)} s: ${Math.round(total / writeS)} points/s into influxd\n`);

    // 2. let influxd snapshot and compact, then measure the raw policy on disk
    const rawDir = join(inf.dir, 'data', 'canh', 'autogen');
    let last = -1;
    for (let i = 0; i < 120; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      const wal = dirBytes(join(inf.dir, 'wal'));
      const now = dirBytes(rawDir);
      if (wal < 1_000_000 && now === last) break;
      last = now;
    }
    const rawBytes = dirBytes(rawDir);
    const counted = seriesRows(await inf.query(`SELECT count("used_percent") FROM "mem"`, 'canh'))[0]?.count;
    const bpp = rawBytes / total;

    // 3. roll-ups with the collector's statements; CPU of influxd and of this process
    await inf.query('CREATE RETENTION POLICY "rollup_5m" ON "canh" DURATION 400d REPLICATION 1 SHARD DURATION 7d', 'canh');
    const fields = seriesRows(await inf.query('SHOW FIELD KEYS', 'canh'));
    const by = new Map<string, { name: string; type: FieldType }[]>();
    for (const r of fields)
      by.set(String(r._measurement), [...(by.get(String(r._measurement)) ?? []), { name: String(r.fieldKey), type: String(r.fieldType) as FieldType }]);
    const plans = [...by].map(([measurement, f]) => planRollup({ measurement, fields: f })).filter((p) => p !== undefined);
    const pid = inf.process.pid!;
    const c0 = cpuOf(pid);
    const me0 = process.cpuUsage();
    const r0 = performance.now();
    for (let h = start; h < end; h += 3_600_000)
      for (const p of plans)
        for (const st of backfillStatements(p, { database: 'canh', raw: 'autogen', rollup: 'rollup_5m' }, h, h + 3_600_000)) await inf.query(st, 'canh');
    const rollS = (performance.now() - r0) / 1000;
    const influxCpuS = (cpuOf(pid).selfMs - c0.selfMs) / 1000;
    const me = process.cpuUsage(me0);
    const meS = (me.user + me.system) / 1e6;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      if (dirBytes(join(inf.dir, 'wal')) < 1_000_000) break;
    }
    await new Promise((r) => setTimeout(r, 4000));
    const rollBytes = dirBytes(join(inf.dir, 'data', 'canh', 'rollup_5m'));

    // 4. projection
    const scale = PROVINCE / AGENTS;
    const perDay = 24 / HOURS;
    const pps = ((series.length / AGENTS) * PROVINCE) / (STEP_MS / 1000);
    const rawGBday = (rawBytes * scale * perDay) / 1e9;
    const rollGBday = (rollBytes * scale * perDay) / 1e9;
    const GB = (n: number): string => `${n.toFixed(1)} GB`;
    const lines = [
      `stored: ${(rawBytes / 1e6).toFixed(1)} MB raw (mem series count check: ${String(counted)} points), ${(rollBytes / 1e6).toFixed(2)} MB of roll-ups`,
      `bytes per point on disk (raw, compacted TSM): ${bpp.toFixed(2)}`,
      `roll-up of ${HOURS} h of data: ${rollS.toFixed(1)} s wall, influxd CPU ${influxCpuS.toFixed(1)} s, collector side ${meS.toFixed(2)} s → per hour of data: influxd ${((influxCpuS / HOURS) * scale).toFixed(1)} CPU-s, collector ${((meS / HOURS) * scale).toFixed(2)} CPU-s for ${PROVINCE} agents`,
      `province of ${PROVINCE} agents: ${Math.round(pps)} points/s, raw ${GB(rawGBday)}/day, roll-ups ${GB(rollGBday)}/day (${((rollBytes / rawBytes) * 100).toFixed(1)} % of raw)`,
      `projected disk for a year: without roll-ups (a year of raw) ${GB(rawGBday * 365)}; with them (30 d raw + a year of 5-minute roll-ups) ${GB(rawGBday * 30 + rollGBday * 365)}; steady state with 400 d of roll-ups ${GB(rawGBday * 30 + rollGBday * 400)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await inf.stop();
  }
}

/** influxd with snapshots and full compactions after 1 s of quiet, so the disk figure is that of compacted TSM files. */
async function startInfluxdCold(): Promise<Influxd> {
  const inf = await startInfluxd();
  const conf = join(inf.dir, 'influxdb.conf');
  writeFileSync(
    conf,
    readFileSync(conf, 'utf8').replace('[data]\n', '[data]\n  cache-snapshot-write-cold-duration = "1s"\n  compact-full-write-cold-duration = "1s"\n'),
  );
  await inf.restart();
  return inf;
}

await main();
