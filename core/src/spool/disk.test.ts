import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { DiskSpool, nodeSpoolFs, type SpoolFs } from './disk.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'canh-spool-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const frame =
  (n: number, size = 50) =>
  (seq: number) => ({ frame: JSON.stringify({ type: 'batch', seq, pad: 'p'.repeat(size), n }), points: n, events: 0 });

describe('disk spool', () => {
  it('keeps unacked batches across a restart, in order, with seqs continuing', () => {
    const dir = tmp();
    const a = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    for (let i = 1; i <= 5; i++) a.append(frame(i));
    a.ack(1);
    a.ack(3);
    a.close();
    const b = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    expect(b.after(0, 100).map((r) => r.seq)).toEqual([2, 4, 5]);
    expect(JSON.parse(b.after(3, 1)[0]!.frame.toString()).n).toBe(4);
    expect(b.recovery).toMatchObject({ records: 5, unacked: 3, truncatedBytes: 0 });
    expect(b.append(frame(6))).toBe(6);
    b.close();
  });

  it('hands over the frame it just wrote as the bytes on disk, and reads older ones back', () => {
    const dir = tmp();
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'never' });
    const text = (n: number) => JSON.stringify({ type: 'batch', seq: n, n, who: 'Nguyễn Văn A' });
    s.append((seq) => ({ frame: text(seq), points: 1, events: 0 }));
    s.append((seq) => ({ frame: text(seq), points: 1, events: 0 }));
    const [first, last] = s.after(0, 10);
    expect([first!.frame.toString(), last!.frame.toString()]).toEqual([text(1), text(2)]);
    s.close();
    // The same bytes from disk after a restart.
    const again = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'never' });
    expect(again.after(0, 10).map((r) => r.frame.toString())).toEqual([text(1), text(2)]);
    again.close();
  });

  it('deletes fully acked segments and compacts the ack log', () => {
    const dir = tmp();
    const s = new DiskSpool({ dir, maxBytes: 1e7, fsync: 'never', segmentBytes: 1000 });
    for (let i = 1; i <= 100; i++) s.append(frame(1));
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBeGreaterThan(5);
    for (let i = 1; i <= 100; i++) s.ack(i);
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBe(1);
    expect(s.stats()).toMatchObject({ batches: 0, bytes: 0 });
    s.close();
    const again = new DiskSpool({ dir, maxBytes: 1e7, fsync: 'never', segmentBytes: 1000 });
    expect(again.after(0, 1000)).toEqual([]);
    expect(again.append(frame(1))).toBe(101);
    again.close();
  });

  it('cuts a torn tail at start-up and reports it, keeping every whole record', () => {
    const dir = tmp();
    const a = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    for (let i = 1; i <= 3; i++) a.append(frame(i));
    a.close();
    const seg = join(
      dir,
      readdirSync(dir).find((f) => f.startsWith('seg-'))!,
    );
    const whole = statSync(seg).size;
    truncateSync(seg, whole - 7); // power loss in the middle of record 3
    const b = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    expect(b.after(0, 10).map((r) => r.seq)).toEqual([1, 2]);
    expect(b.recovery.truncatedBytes).toBeGreaterThan(0);
    // Seqs are never reused, even for a record that was cut off.
    expect(b.append(frame(9))).toBe(4);
    b.close();
  });

  it('a corrupt record (bad checksum) ends the readable part; garbage never crashes', () => {
    const dir = tmp();
    const a = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    for (let i = 1; i <= 3; i++) a.append(frame(i));
    a.close();
    const seg = join(
      dir,
      readdirSync(dir).find((f) => f.startsWith('seg-'))!,
    );
    const buf = readFileSync(seg);
    const second = buf.indexOf('"seq":2');
    buf[second + 3] = buf[second + 3]! ^ 0xff;
    writeFileSync(seg, buf);
    appendFileSync(seg, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    writeFileSync(join(dir, 'meta.json'), '{not json');
    const b = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    expect(b.after(0, 10).map((r) => r.seq)).toEqual([1]);
    b.close();
  });

  it('when full, drops the oldest segments and counts the points, persistently', () => {
    const dir = tmp();
    const s = new DiskSpool({ dir, maxBytes: 3000, fsync: 'never', segmentBytes: 1000 });
    for (let i = 1; i <= 60; i++) s.append(frame(10));
    const st = s.stats();
    expect(st.bytes).toBeLessThanOrEqual(3000);
    expect(st.droppedPoints).toBeGreaterThan(0);
    expect(st.droppedPoints + st.batches * 10).toBe(600);
    expect(s.after(0, 1)[0]!.seq).toBeGreaterThan(1);
    s.close();
    expect(new DiskSpool({ dir, maxBytes: 3000, fsync: 'never', segmentBytes: 1000 }).stats().droppedPoints).toBe(st.droppedPoints);
  });

  it('survives kill -9 of a process appending with fsync=always: every reported append is there', async () => {
    const dir = tmp();
    const script = `
      import { DiskSpool } from ${JSON.stringify(join(import.meta.dirname, 'disk.ts'))};
      const s = new DiskSpool({ dir: ${JSON.stringify(dir)}, maxBytes: 1e8, fsync: 'always' });
      let i = 0;
      setInterval(() => { for (let k = 0; k < 20; k++) { const seq = s.append((q) => ({ frame: JSON.stringify({ seq: q, pad: 'x'.repeat(200) }), points: 1, events: 0 })); process.stdout.write(seq + '\\n'); } }, 1);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (out.split('\n').length > 500) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const reported = out.split('\n').filter(Boolean).map(Number);
    const s = new DiskSpool({ dir, maxBytes: 1e8, fsync: 'always' });
    const seqs = new Set(s.after(0, 1e6).map((r) => r.seq));
    for (const seq of reported) expect(seqs.has(seq)).toBe(true);
    expect(seqs.size).toBeGreaterThanOrEqual(reported.length);
    s.close();
  });
});

// ---- Faults of the disk itself: short writes, ENOSPC, EIO at every write and sync ----

type FaultKind = 'short' | 'short-then-full' | 'full' | 'full-no-truncate' | 'eio';
type Op = 'writeSync' | 'fsyncSync';

/**
 * node:fs with faults: the k-th call of `op` (counting from 0) goes wrong as `kind` says,
 * and for 'full' kinds every write and sync after it fails too until `heal()`. A short
 * write really writes part of the data (as the kernel does) and says so. fsync does not
 * reach the disk here (the data is in the page cache either way; faults are what is tested).
 */
class FaultyFs implements SpoolFs {
  calls: Record<Op, number> = { writeSync: 0, fsyncSync: 0 };
  private fullNow = false;
  private noTruncate = false;
  free = 1e12;
  fsBytes = 2e12;
  private readonly plan: { op: Op; at: number; kind: FaultKind } | undefined;
  constructor(plan?: { op: Op; at: number; kind: FaultKind }) {
    this.plan = plan;
  }
  heal(): void {
    this.fullNow = false;
    this.noTruncate = false;
  }
  private fault(op: Op): FaultKind | undefined {
    const i = this.calls[op]++;
    return this.plan && this.plan.op === op && this.plan.at === i ? this.plan.kind : undefined;
  }
  private enospc(): Error {
    return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  }
  mkdirSync = nodeSpoolFs.mkdirSync;
  openSync = nodeSpoolFs.openSync;
  closeSync = nodeSpoolFs.closeSync;
  readSync = nodeSpoolFs.readSync;
  fstatSync = nodeSpoolFs.fstatSync;
  readFileSync = nodeSpoolFs.readFileSync;
  existsSync = nodeSpoolFs.existsSync;
  readdirSync = nodeSpoolFs.readdirSync;
  renameSync = nodeSpoolFs.renameSync;
  unlinkSync = nodeSpoolFs.unlinkSync;
  statfsSync = () => ({ bsize: 1, blocks: this.fsBytes, bavail: this.free });
  writeSync = (fd: number, buf: Buffer, off: number, len: number, pos: number | null): number => {
    const kind = this.fault('writeSync');
    if (this.fullNow) throw this.enospc();
    if (kind === 'eio') throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    if (kind === 'full' || kind === 'full-no-truncate') {
      this.fullNow = true;
      this.noTruncate = kind === 'full-no-truncate';
      // What the kernel took before the disk filled: a torn record on disk.
      nodeSpoolFs.writeSync(fd, buf, off, Math.max(1, len >> 2), pos);
      throw this.enospc();
    }
    if (kind === 'short' || kind === 'short-then-full') {
      if (kind === 'short-then-full') this.fullNow = true;
      return nodeSpoolFs.writeSync(fd, buf, off, Math.max(1, len >> 1), pos);
    }
    return nodeSpoolFs.writeSync(fd, buf, off, len, pos);
  };
  fsyncSync = (): void => {
    const kind = this.fault('fsyncSync');
    if (kind === 'full') this.fullNow = true;
    if (this.fullNow) throw this.enospc();
    if (kind === 'eio') throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
  };
  ftruncateSync = (fd: number, len: number): void => {
    if (this.noTruncate) throw this.enospc();
    nodeSpoolFs.ftruncateSync(fd, len);
  };
}

interface Run {
  /** seq → its frame, for every append that returned a seq. */
  kept: Map<number, string>;
  acked: Set<number>;
  /** Points of appends that returned undefined. */
  refusedPoints: number;
  total: number;
  spool: DiskSpool;
}

/**
 * The collector's and the agent's use of a spool: append 24 batches (with fsync always, as
 * the collector), ack the oldest now and then, the clock moving 700 ms per batch. The disk
 * heals after batch 12 when a fault made it full.
 */
function workload(dir: string, fs: FaultyFs): Run {
  let t = 0;
  const spool = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always', segmentBytes: 600, minFree: 0, fs, now: () => t });
  const run: Run = { kept: new Map(), acked: new Set(), refusedPoints: 0, total: 0, spool };
  for (let i = 1; i <= 24; i++) {
    t += 700;
    if (i === 12) fs.heal();
    const points = i;
    run.total += points;
    let text = '';
    const seq = spool.append((q) => {
      text = JSON.stringify({ type: 'batch', seq: q, i, pad: 'x'.repeat(40) });
      return { frame: text, points, events: 0 };
    });
    if (seq === undefined) run.refusedPoints += points;
    else {
      expect(run.kept.has(seq), 'a seq handed out twice').toBe(false);
      run.kept.set(seq, text);
    }
    if (i % 3 === 0) {
      const oldest = spool.first();
      if (oldest !== undefined && spool.ack(oldest)) run.acked.add(oldest);
    }
  }
  return run;
}

describe('disk spool under disk faults', () => {
  const clean = new FaultyFs();
  workload(tmp(), clean);
  const counts = { ...clean.calls };
  // A sync cannot be short: it fails with the disk full (and stays so until healed), or with EIO.
  const kinds: Record<Op, FaultKind[]> = { writeSync: ['short', 'short-then-full', 'full', 'full-no-truncate', 'eio'], fsyncSync: ['full', 'eio'] };
  const cases: [Op, number, FaultKind][] = [];
  for (const op of ['writeSync', 'fsyncSync'] as Op[]) for (let at = 0; at < counts[op]; at++) for (const kind of kinds[op]) cases.push([op, at, kind]);

  it('the workload makes the calls the faults are injected into', () => {
    // 24 records and 8 acks written, one sync per record: every one of them gets each fault below.
    expect(counts.writeSync).toBeGreaterThanOrEqual(32);
    expect(counts.fsyncSync).toBeGreaterThanOrEqual(24);
  });

  it.each(cases)('%s #%i fails (%s): every kept record is whole after a restart, every refused point is counted', (op, at, kind) => {
    const dir = tmp();
    const fs = new FaultyFs({ op, at, kind });
    const run = workload(dir, fs);
    fs.heal();
    // What the spool says it refused is exactly what the caller was refused.
    expect(run.spool.stats().droppedDiskFullPoints).toBe(run.refusedPoints);
    expect(run.spool.stats().droppedPoints).toBe(run.refusedPoints);
    if (kind === 'short') expect(run.refusedPoints, 'a short write is retried, not refused').toBe(0);
    run.spool.close();
    const again = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always', segmentBytes: 600, minFree: 0 });
    const back = new Map(again.after(0, 1000).map((r) => [r.seq, r.frame.toString()]));
    // Nothing kept and unacked is lost, and it comes back byte for byte.
    for (const [seq, text] of run.kept) if (!run.acked.has(seq)) expect(back.get(seq), `seq ${seq} lost`).toBe(text);
    // Nothing comes back that was not kept (no torn record, no record after a hole).
    for (const seq of back.keys()) expect(run.kept.has(seq), `seq ${seq} was never kept`).toBe(true);
    // Counted across the restart: kept + refused = everything appended.
    expect(again.stats().droppedDiskFullPoints).toBe(run.refusedPoints);
    let keptPoints = 0;
    for (const text of run.kept.values()) keptPoints += (JSON.parse(text) as { i: number }).i;
    expect(keptPoints + run.refusedPoints).toBe(run.total);
    // And it goes on appending, after the last whole record.
    const seq = again.append((q) => ({ frame: JSON.stringify({ seq: q }), points: 1, events: 0 }));
    expect(seq).toBeGreaterThan(Math.max(0, ...run.kept.keys()));
    again.close();
  });

  it('below the free-space floor it refuses and counts, logs once a minute, and resumes when space returns', () => {
    const dir = tmp();
    const fs = new FaultyFs();
    const warnings: unknown[][] = [];
    const log = { warn: (...a: unknown[]) => warnings.push(a), info: () => {} } as unknown as import('pino').Logger;
    let t = 0;
    fs.fsBytes = 100 * 1024 * 1024;
    fs.free = 4 * 1024 * 1024; // under 5 % of 100 MiB
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'never', fs, log, now: () => t });
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      t += 10_000;
      if (s.append(frame(7)) === undefined) refused += 7;
    }
    expect(refused).toBe(210);
    expect(s.stats()).toMatchObject({ diskFull: true, batches: 0, droppedPoints: 210, droppedDiskFullPoints: 210 });
    // 300 s of refusals: five lines, not thirty.
    const full = warnings.filter((w) => (w[0] as { code?: string }).code === 'CANH_ERR_SPOOL_DISK_FULL');
    expect(full.length).toBe(5);
    expect(full.reduce((k, w) => k + (w[0] as { refusedPoints: number }).refusedPoints, 0)).toBeLessThanOrEqual(210);
    fs.free = 50 * 1024 * 1024;
    t += 60_000;
    expect(s.append(frame(7))).toBe(1);
    expect(s.stats().diskFull).toBe(false);
    expect(warnings.at(-1)![1]).toMatch(/resumed/);
    s.close();
  });

  it('opens on a full disk (no ack log or meta rewrite possible), drains what it holds and frees its segments', () => {
    const dir = tmp();
    const a = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always', segmentBytes: 600, minFree: 0 });
    for (let i = 1; i <= 12; i++) a.append(frame(1));
    a.ack(1);
    a.close();
    const fs = new FaultyFs();
    const full = () => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    fs.writeSync = full;
    fs.fsyncSync = full;
    fs.free = 0;
    const realOpen = fs.openSync;
    fs.openSync = (p, flags) => (typeof flags === 'string' && flags.startsWith('w') ? full() : realOpen(p, flags));
    let t = 0;
    const b = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always', segmentBytes: 600, minFree: 0, fs, now: () => (t += 100) });
    const held = b.after(0, 100).map((r) => r.seq);
    expect(held).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(b.append(frame(5))).toBeUndefined();
    for (const seq of held) expect(b.ack(seq)).toBe(true);
    expect(b.stats()).toMatchObject({ batches: 0, droppedDiskFullPoints: 5 });
    // Fully acked segments went, the one being written too while the disk is full: that is how the drain frees it.
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBe(0);
    expect(b.stats().diskFull).toBe(true);
    b.close();
  });

  it('a disk filled by acked records in the segment being written frees itself: that segment goes when an append is refused', () => {
    const dir = tmp();
    const fs = new FaultyFs();
    let t = 0;
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'never', segmentBytes: 1e5, minFree: 0, fs, now: () => t });
    for (let i = 1; i <= 5; i++) s.ack(s.append(frame(1))!);
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBe(1);
    const write = fs.writeSync;
    fs.writeSync = () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    expect(s.append(frame(1))).toBeUndefined();
    expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).length).toBe(0);
    fs.writeSync = write;
    t += 1000;
    expect(s.append(frame(1))).toBe(6);
    expect(s.stats()).toMatchObject({ batches: 1, diskFull: false, droppedDiskFullPoints: 1 });
    s.close();
  });

  it('a record the disk cannot give back (EIO on read) is dropped and counted, and the others still go', () => {
    const dir = tmp();
    const fs = new FaultyFs();
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'never', minFree: 0, fs });
    for (let i = 1; i <= 3; i++) s.append(frame(i));
    const read = fs.readSync;
    let calls = 0;
    fs.readSync = (fd, b, o, l, p) => {
      if (++calls === 1) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      return read(fd, b, o, l, p);
    };
    // Seq 3 was appended last and is handed over from memory; 1 cannot be read, 2 can.
    expect(s.after(0, 10).map((r) => r.seq)).toEqual([2, 3]);
    expect(s.stats()).toMatchObject({ batches: 2, droppedPoints: 1, droppedDiskFullPoints: 1 });
    s.close();
  });

  it('a sync that fails under `interval` is counted and logged, never thrown from the timer', () => {
    const dir = tmp();
    const fs = new FaultyFs();
    fs.fsyncSync = () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    };
    const warnings: unknown[][] = [];
    const log = { warn: (...a: unknown[]) => warnings.push(a), info: () => {} } as unknown as import('pino').Logger;
    let t = 0;
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'interval', fsyncIntervalMs: 1000, fs, log, now: () => t });
    s.append(frame(1));
    t += 5000;
    expect(s.append(frame(1))).toBe(2); // syncs the overdue first batch: fails, logged
    expect(warnings.some((w) => (w[0] as { code?: string }).code === 'CANH_ERR_SPOOL_IO')).toBe(true);
    expect(s.stats().batches).toBe(2);
    s.close();
  });
});
