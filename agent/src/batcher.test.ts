import { describe, expect, it, vi } from 'vitest';
import { decodeAgentMessage, pointsOf } from '@canh/protocol';
import { Batcher } from './batcher.ts';
import { MemorySpool } from './spool/memory.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskSpool, nodeSpoolFs } from '@canh/core';

function setup(batchSize = 3, maxMessageBytes = 1_000_000) {
  const spool = new MemorySpool({ maxBytes: 10_000_000 });
  const b = new Batcher(spool, { batchSize, flushIntervalMs: 60_000, maxMessageBytes, now: () => 1000 });
  let batches = 0;
  b.onBatch = () => batches++;
  return { spool, b, count: () => batches };
}

describe('batcher', () => {
  it('cuts a batch at batch_size and stamps time, tags and int fields', () => {
    const { spool, b, count } = setup();
    const acc = b.accumulator('cpu', { rack: 'r1' }, () => 5000);
    acc.addPoint('cpu', { cpu: 'cpu0' }, { usage_idle: 99.5 });
    acc.addPoint('net', {}, { bytes_recv: 10, missing_int_is_ignored: 1 }, { int: ['bytes_recv', 'nope'] });
    expect(count()).toBe(0);
    acc.addPoint('cpu', {}, { x: 1 }, { time: 42 });
    expect(count()).toBe(1);
    const msg = decodeAgentMessage(spool.after(0, 1)[0]!.frame);
    if (msg.type !== 'batch') throw new Error('not a batch');
    expect(msg.seq).toBe(1);
    // Sent in the rows spelling: one series per distinct measurement, tags and fields.
    expect(msg.points).toEqual([]);
    expect(msg.series.map((s) => s.name)).toEqual(['cpu', 'net', 'cpu']);
    const points = pointsOf(msg);
    expect(points[0]).toEqual({ name: 'cpu', time: 5000, tags: { cpu: 'cpu0', rack: 'r1' }, fields: { usage_idle: 99.5 } });
    expect(points[1]!.int).toEqual(['bytes_recv']);
    expect(points[2]!.time).toBe(42);
  });
  it('writes each series once per batch, and leaves out points with nothing JSON can carry', () => {
    const { spool, b } = setup(100);
    const acc = b.accumulator('ping');
    for (let t = 0; t < 5; t++) {
      acc.addPoint('ping', { url: 'a' }, { average_response_ms: 1.5 + t, result_code: 0 }, { time: t, int: ['result_code'] });
      acc.addPoint('ping', { url: 'b' }, { average_response_ms: Number.NaN, result_code: 2 }, { time: t, int: ['result_code'] });
    }
    acc.addPoint('ping', { url: 'c' }, { average_response_ms: Number.NaN }, { time: 9 });
    b.flush();
    const [f] = spool.after(0, 10);
    expect(f!.points).toBe(10);
    const msg = decodeAgentMessage(f!.frame);
    if (msg.type !== 'batch') throw new Error('not a batch');
    expect(msg.series).toHaveLength(2);
    expect(msg.rows).toHaveLength(10);
    expect(pointsOf(msg)[1]).toEqual({ name: 'ping', time: 0, tags: { url: 'b' }, fields: { result_code: 2 }, int: ['result_code'] });
    expect(b.valueless).toBe(1); // url c: counted, for the agent's valueless_points
  });
  it('events fill in detector and time', () => {
    const { spool, b } = setup();
    b.accumulator('auth_log').addEvent({
      type: 'brute_force',
      severity: 'high',
      message: 'm',
      evidence: { src_ip: '203.0.113.7' },
      count: 7,
      mitre: 'T1110.001',
    });
    b.flush();
    const msg = decodeAgentMessage(spool.after(0, 1)[0]!.frame);
    if (msg.type !== 'batch') throw new Error('not a batch');
    expect(msg.events[0]).toEqual({
      time: 1000,
      detector: 'auth_log',
      type: 'brute_force',
      severity: 'high',
      message: 'm',
      evidence: { src_ip: '203.0.113.7' },
      count: 7,
      mitre: 'T1110.001',
    });
  });
  it('keeps batches under the message size limit', () => {
    const { spool, b } = setup(1_000_000, 2000);
    const acc = b.accumulator('x');
    for (let i = 0; i < 100; i++) acc.addPoint('m', {}, { s: 'y'.repeat(50) });
    b.flush();
    const frames = spool.after(0, 1000);
    expect(frames.length).toBeGreaterThan(3);
    for (const f of frames) expect(Buffer.byteLength(f.frame)).toBeLessThan(2000);
    expect(frames.reduce((n, f) => n + f.points, 0)).toBe(100);
  });
  it('a security event is sent promptly, without waiting for the flush interval', async () => {
    const { spool, b } = setup(100);
    const acc = b.accumulator('auth_log');
    acc.addPoint('m', {}, { v: 1 });
    acc.addEvent({ type: 'brute_force', severity: 'high', message: 'a', evidence: {}, count: 5 });
    acc.addEvent({ type: 'brute_force', severity: 'high', message: 'b', evidence: {}, count: 6 });
    expect(spool.stats().batches).toBe(0);
    await new Promise((r) => setImmediate(r));
    // One batch for the burst, carrying the pending point along.
    expect(spool.stats().batches).toBe(1);
    expect(spool.after(0, 1)[0]).toMatchObject({ points: 1, events: 2 });
  });
  // The flush timer on a fake clock: on a loaded machine a real 50 ms sleep may last 200 ms,
  // and what these tests check is the order of deadlines, not how fast timers fire.
  it('a point waits at most flush_interval, counted from the first point of the batch', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const spool = new MemorySpool({ maxBytes: 10_000_000 });
    const b = new Batcher(spool, { batchSize: 100, flushIntervalMs: 100, maxMessageBytes: 1_000_000 });
    b.start();
    try {
      // Started with nothing to send: nothing is cut however long it waits.
      vi.advanceTimersByTime(150);
      expect(spool.stats().batches).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      const acc = b.accumulator('x');
      acc.addPoint('m', {}, { v: 1 });
      vi.advanceTimersByTime(50);
      acc.addPoint('m', {}, { v: 2 });
      vi.advanceTimersByTime(49);
      expect(spool.stats().batches).toBe(0);
      vi.advanceTimersByTime(1);
      expect(spool.after(0, 10)).toMatchObject([{ points: 2 }]);
      acc.addPoint('m', {}, { v: 3 });
      vi.advanceTimersByTime(99);
      expect(spool.stats().batches).toBe(1);
      vi.advanceTimersByTime(1);
      expect(spool.after(0, 10)).toMatchObject([{ points: 2 }, { points: 1 }]);
    } finally {
      b.stop();
      vi.useRealTimers();
    }
  });
  it('held, arms no flush timer until released', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const spool = new MemorySpool({ maxBytes: 10_000_000 });
    const b = new Batcher(spool, { batchSize: 100, flushIntervalMs: 50, maxMessageBytes: 1_000_000 });
    b.start();
    try {
      const acc = b.accumulator('x');
      b.hold();
      acc.addPoint('m', {}, { v: 1 });
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(120);
      expect(spool.stats().batches).toBe(0);
      b.release();
      vi.advanceTimersByTime(50);
      expect(spool.after(0, 10)).toMatchObject([{ points: 1 }]);
      // Cut while held, then released with nothing waiting: no timer, no empty batch.
      b.hold();
      acc.addPoint('m', {}, { v: 2 });
      b.flush();
      b.release();
      expect(vi.getTimerCount()).toBe(0);
      acc.addPoint('m', {}, { v: 3 });
      vi.advanceTimersByTime(50);
      expect(spool.after(0, 10)).toMatchObject([{ points: 1 }, { points: 1 }, { points: 1 }]);
    } finally {
      b.stop();
      vi.useRealTimers();
    }
  });
  it('stop flushes what it holds', () => {
    const { spool, b } = setup(100);
    b.accumulator('x').addPoint('m', {}, { v: 1 });
    b.stop();
    expect(spool.stats().batches).toBe(1);
  });

  it('an event from a gather that outlives stop is counted, never written to the closing spool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-batcher-late-'));
    try {
      const spool = new DiskSpool({ dir, maxBytes: 10_000_000, fsync: 'interval', minFree: 0, fs: nodeSpoolFs });
      const b = new Batcher(spool, { batchSize: 100, flushIntervalMs: 60_000, maxMessageBytes: 1_000_000, now: () => 1000 });
      b.start();
      b.accumulator('x').addPoint('m', {}, { v: 1 });
      b.stop();
      spool.close();
      // Before: the event's prompt flush (setImmediate) appended to the closed spool: EBADF, uncaught.
      b.accumulator('late').addEvent({ type: 't', severity: 'high', message: 'after stop' });
      await new Promise((r) => setImmediate(r));
      expect(b.lateAfterStop).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a disk that takes nothing: flush does not throw, the batch is reported dropped (not sent) and counted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-batcher-'));
    let full = false;
    const fs = {
      ...nodeSpoolFs,
      writeSync: (fd: number, b: Buffer, o: number, l: number, p: number | null) => {
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return nodeSpoolFs.writeSync(fd, b, o, l, p);
      },
    };
    let t = 0;
    const spool = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'interval', minFree: 0, fs, now: () => t });
    const b = new Batcher(spool, { batchSize: 2, flushIntervalMs: 60_000, maxMessageBytes: 1_000_000, now: () => 1000 });
    const sent: number[] = [];
    const dropped: number[] = [];
    b.onSpooled = (seq) => sent.push(seq);
    b.onDropped = (points) => dropped.push(points.length);
    let batches = 0;
    b.onBatch = () => batches++;
    const acc = b.accumulator('x');
    acc.addPoint('m', {}, { v: 1 }, { time: 1 });
    acc.addPoint('m', {}, { v: 2 }, { time: 2 });
    full = true;
    t += 1000;
    expect(() => {
      acc.addPoint('m', {}, { v: 3 }, { time: 3 });
      acc.addPoint('m', {}, { v: 4 }, { time: 4 });
    }).not.toThrow();
    expect({ sent, dropped, batches }).toEqual({ sent: [1], dropped: [2], batches: 1 });
    expect(spool.stats()).toMatchObject({ batches: 1, droppedPoints: 2, droppedDiskFullPoints: 2, diskFull: true });
    full = false;
    t += 1000;
    acc.addPoint('m', {}, { v: 5 }, { time: 5 });
    acc.addPoint('m', {}, { v: 6 }, { time: 6 });
    expect(sent).toEqual([1, 2]);
    expect(spool.stats().diskFull).toBe(false);
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('batcher: log readers wait while the spool is backlogged', () => {
  it('says backlogged once the unacked batches reach backlogBytes, and not after their acks', () => {
    const spool = new MemorySpool({ maxBytes: 1e6 });
    const b = new Batcher(spool, { batchSize: 1000, flushIntervalMs: 60_000, maxMessageBytes: 4e6, backlogBytes: 2000 });
    const acc = b.accumulator('auth_log');
    expect(acc.backlogged?.()).toBe(false);
    const seqs: number[] = [];
    while (spool.stats().bytes < 2000) {
      acc.addEvent({ type: 'brute_force', severity: 'high', message: 'x'.repeat(300) });
      b.flush();
      seqs.push(spool.first()!);
    }
    expect(acc.backlogged?.()).toBe(true);
    for (const s of spool.after(0, 100)) spool.ack(s.seq);
    expect(acc.backlogged?.()).toBe(false);
    // Without a bound, never.
    expect(new Batcher(spool, { batchSize: 1000, flushIntervalMs: 60_000, maxMessageBytes: 4e6 }).accumulator('x').backlogged?.()).toBe(false);
  });
});
