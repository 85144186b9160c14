// When the disk spool calls fsync under each policy. fsync itself cannot be watched from
// a test (the data is in the page cache either way), so node:fs's fsyncSync is wrapped
// here to record the descriptors it is given, and still syncs for real.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const synced = vi.hoisted(() => [] as number[]);
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    fsyncSync: (fd: number) => {
      synced.push(fd);
      fs.fsyncSync(fd);
    },
  };
});

const { DiskSpool } = await import('./disk.ts');

const frame = (seq: number) => ({ frame: JSON.stringify({ type: 'batch', seq, points: [] }), points: 1, events: 0 });
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canh-fsync-'));
  synced.length = 0;
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('disk spool fsync', () => {
  it('interval: a batch still unacked when the interval ends is synced, once', () => {
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'interval', fsyncIntervalMs: 1000 });
    s.append(frame);
    s.append(frame);
    expect(synced).toEqual([]);
    vi.advanceTimersByTime(999);
    expect(synced).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(synced).toHaveLength(1); // both batches are in the same segment: one fsync
    vi.advanceTimersByTime(10_000);
    expect(synced).toHaveLength(1); // nothing new to sync: no timer, no fsync
    s.append(frame);
    vi.advanceTimersByTime(1000);
    expect(synced).toHaveLength(2);
    s.close();
  });

  it('interval: batches acked before the interval ends are not synced (the collector holds them)', () => {
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'interval', fsyncIntervalMs: 1000 });
    const a = s.append(frame);
    const b = s.append(frame);
    s.ack(a);
    expect(vi.getTimerCount()).toBe(1); // b still waits for the sync
    s.ack(b);
    expect(vi.getTimerCount()).toBe(0); // nothing left to sync: the agent is not woken for it
    vi.advanceTimersByTime(5000);
    expect(synced).toEqual([]);
    s.close();
  });

  it('interval: while acks come within the interval no timer is armed; a batch found overdue is synced and the timer is back', () => {
    let clock = 0;
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'interval', fsyncIntervalMs: 1000, now: () => clock });
    const tick = (ms: number) => {
      clock += ms;
      vi.advanceTimersByTime(ms);
    };
    // Acked in 5 ms: acks are prompt.
    const a = s.append(frame);
    tick(5);
    s.ack(a);
    // Prompt: appends arm no timer (one the ack clears would still wake the agent).
    const b = s.append(frame);
    expect(vi.getTimerCount()).toBe(0);
    tick(5);
    s.ack(b);
    const c = s.append(frame);
    const d = s.append(frame);
    tick(5);
    s.ack(d);
    expect(vi.getTimerCount()).toBe(0);
    // c is never acked (the collector stopped answering); nothing wakes the spool until
    // the next append, which finds c overdue, syncs it and arms the timer again.
    tick(10_000);
    expect(synced).toEqual([]);
    const e = s.append(frame);
    expect(synced).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(1);
    tick(1000);
    expect(synced).toHaveLength(2); // e, unacked when its interval ended
    // An ack that took the whole interval keeps the timer on.
    s.ack(c);
    s.ack(e);
    const f = s.append(frame);
    expect(vi.getTimerCount()).toBe(1);
    tick(5);
    s.ack(f); // prompt again: no timer from here on
    expect(vi.getTimerCount()).toBe(0);
    s.append(frame);
    expect(vi.getTimerCount()).toBe(0);
    // Waiting longer than the interval is found by the next ack too.
    const h = s.append(frame);
    tick(1500);
    s.ack(h);
    expect(synced).toHaveLength(3);
    // The link went down: no ack will come, so the timer is back for what waits.
    const i = s.append(frame);
    tick(5);
    s.ack(i); // prompt
    s.append(frame);
    expect(vi.getTimerCount()).toBe(0);
    s.acksStopped();
    expect(vi.getTimerCount()).toBe(1);
    tick(1000);
    expect(synced).toHaveLength(4);
    s.close();
  });

  it('interval, acks read at the next tick (acksReadWithin): an ack read an agent interval after its append is prompt; a batch not acked by then is synced', () => {
    let clock = 0;
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'interval', fsyncIntervalMs: 1000, now: () => clock });
    s.acksReadWithin(10_000);
    const tick = (ms: number) => {
      clock += ms;
      vi.advanceTimersByTime(ms);
    };
    // The first batch: no ack seen yet, so its sync is due after the interval as ever.
    const a = s.append(frame);
    tick(1000);
    expect(synced).toHaveLength(1);
    // Its ack, read at the next tick, ten seconds after the append: prompt.
    tick(9000);
    s.ack(a);
    const b = s.append(frame);
    expect(vi.getTimerCount()).toBe(0);
    tick(10_000);
    s.ack(b);
    const c = s.append(frame);
    expect(vi.getTimerCount()).toBe(0);
    expect(synced).toHaveLength(1);
    // The collector stops acking: at the next tick c has no ack; the append finds it
    // overdue, syncs it and brings the timer back for the new batch.
    tick(10_000);
    s.append(frame);
    expect(synced).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(1);
    tick(1000);
    expect(synced).toHaveLength(3);
    // An ack read later than the interval plus the allowance is not prompt.
    tick(20_000);
    s.ack(c);
    s.append(frame);
    expect(vi.getTimerCount()).toBe(1);
    s.close();
  });

  it('always: every append is synced before append returns; never: no fsync at all', () => {
    const s = new DiskSpool({ dir, maxBytes: 1e6, fsync: 'always' });
    s.append(frame);
    expect(synced).toHaveLength(1);
    s.append(frame);
    expect(synced).toHaveLength(2);
    s.close();
    synced.length = 0;
    const n = new DiskSpool({ dir: join(dir, 'never'), maxBytes: 1e6, fsync: 'never' });
    n.append(frame);
    vi.advanceTimersByTime(10_000);
    n.close();
    expect(synced).toEqual([]);
  });
});
