// The log follower against real files in a temp dir: appends, partial lines, rename
// rotation, copytruncate, restart from the saved position, rotation while stopped.
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogFollower, type FollowOptions } from './tail.ts';
import { memoryState } from '../state.ts';
import { until } from './testing.ts';

let dir: string;
let state: ReturnType<typeof memoryState>;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'canh-tail-'));
  state = memoryState();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A follower of the test's auth.log with its lines in `got`, polled by the test itself unless `over` says otherwise. */
function follower(over: Partial<FollowOptions> = {}) {
  const got: string[] = [];
  const f = new LogFollower({
    path: log(),
    state,
    stateName: 'pos.json',
    fromBeginning: false,
    pollMs: 60_000, // tests drive poll() themselves
    log: pino({ level: 'silent' }),
    onLines: (l) => got.push(...l),
    ...over,
  });
  return { f, got };
}
const log = () => join(dir, 'auth.log');
/** Wait for what the follower's own timer or notifications make true (a bound on polls, not a timed test). */
const settled = (pred: () => boolean) => until(pred, 10_000, 20);

describe('LogFollower', () => {
  it('first run starts at the end unless from_beginning', async () => {
    writeFileSync(log(), 'old 1\nold 2\n');
    const a = follower();
    await a.f.start();
    appendFileSync(log(), 'new 1\n');
    await a.f.poll();
    expect(a.got).toEqual(['new 1']);
    await a.f.stop();
    state.saved.clear();
    const b = follower({ fromBeginning: true });
    await b.f.start();
    expect(b.got).toEqual(['old 1', 'old 2', 'new 1']);
    await b.f.stop();
  });

  it('reads a large file in its kept buffer: every line whole across chunk edges, one longer than half a chunk too', async () => {
    // Lines of 1 to 3,000 bytes and one of 40,000 (past half the 64 KiB chunk: the unfinished
    // line is joined the other way).
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) lines.push(`${i} ${'abcdefghij'.repeat((i * 37) % 300)}é`);
    lines.splice(300, 0, `long ${'x'.repeat(40_000)}`);
    writeFileSync(log(), `${lines.join('\n')}\n`);
    const a = follower({ fromBeginning: true });
    await a.f.start();
    await a.f.stop();
    expect(a.got).toEqual(lines);
  });

  it('hands a large read on in groups of at most 64 lines, in order, none lost at a group edge', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'q'.repeat(i % 97)}`);
    writeFileSync(log(), `${lines.join('\n')}\n`);
    const got: string[] = [];
    const sizes: number[] = [];
    const { f } = follower({
      fromBeginning: true,
      onLines: (l) => {
        sizes.push(l.length);
        got.push(...l);
      },
    });
    await f.start();
    await f.stop();
    expect(got).toEqual(lines);
    expect(Math.max(...sizes)).toBe(64);
  });

  it('stops reading while paused (the spool backlogged), keeps its place, and reads on from there: every line once', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} ${'z'.repeat(60)}`);
    writeFileSync(log(), `${lines.join('\n')}\n`);
    let blocked = true;
    const { f, got } = follower({ fromBeginning: true, paused: () => blocked && got.length > 0 });
    await f.start();
    // One 64 KiB chunk read, then it waited: its position says so.
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(lines.length);
    expect(f.waits).toBeGreaterThan(0);
    const saved = JSON.parse(state.saved.get('pos.json')!) as { offset: number };
    expect(saved.offset).toBe(Buffer.byteLength(got.map((l) => `${l}\n`).join('')));
    blocked = false;
    await f.poll();
    expect(got).toEqual(lines);
    await f.stop();
  });

  it('waits for the newline of a line being written; handles CRLF', async () => {
    writeFileSync(log(), '');
    const a = follower();
    await a.f.start();
    appendFileSync(log(), 'half');
    await a.f.poll();
    expect(a.got).toEqual([]);
    appendFileSync(log(), ' line\r\nnext\n');
    await a.f.poll();
    expect(a.got).toEqual(['half line', 'next']);
    await a.f.stop();
  });

  it('rotation by rename: finishes the old file, then reads the new one from its start', async () => {
    writeFileSync(log(), '');
    const a = follower();
    await a.f.start();
    appendFileSync(log(), 'a1\n');
    await a.f.poll();
    appendFileSync(log(), 'a2\na3-unterminated');
    renameSync(log(), `${log()}.1`);
    appendFileSync(`${log()}.1`, '\na4 late write to the old file\n');
    writeFileSync(log(), 'b1\nb2\n');
    await a.f.poll();
    appendFileSync(log(), 'b3\n');
    await a.f.poll();
    expect(a.got).toEqual(['a1', 'a2', 'a3-unterminated', 'a4 late write to the old file', 'b1', 'b2', 'b3']);
    await a.f.stop();
  });

  it('copytruncate: starts again at 0 without rereading or skipping', async () => {
    writeFileSync(log(), '');
    const a = follower();
    await a.f.start();
    appendFileSync(log(), 'x1\nx2\n');
    await a.f.poll();
    truncateSync(log(), 0);
    appendFileSync(log(), 'y1\n');
    await a.f.poll();
    expect(a.got).toEqual(['x1', 'x2', 'y1']);
    await a.f.stop();
  });

  it('restart resumes at the saved position: nothing reread, nothing skipped', async () => {
    writeFileSync(log(), 'before\n');
    const a = follower();
    await a.f.start();
    appendFileSync(log(), 'one\n');
    await a.f.poll();
    await a.f.stop();
    appendFileSync(log(), 'while stopped\n');
    const b = follower();
    await b.f.start();
    appendFileSync(log(), 'after\n');
    await b.f.poll();
    expect(a.got).toEqual(['one']);
    expect(b.got).toEqual(['while stopped', 'after']);
    await b.f.stop();
  });

  it('rotation while stopped: the rest of the rotated file, then the new file', async () => {
    writeFileSync(log(), '');
    const a = follower();
    await a.f.start();
    appendFileSync(log(), 'one\n');
    await a.f.poll();
    await a.f.stop();
    appendFileSync(log(), 'two (old file, written while stopped)\n');
    renameSync(log(), `${log()}.1`);
    writeFileSync(log(), 'three\n');
    const b = follower();
    await b.f.start();
    expect(b.got).toEqual(['two (old file, written while stopped)', 'three']);
    await b.f.stop();
  });

  it('a missing file is waited for, and read whole once it appears', async () => {
    const a = follower();
    await a.f.start();
    await a.f.poll();
    writeFileSync(log(), 'first\n');
    await a.f.poll();
    expect(a.got).toEqual(['first']);
    await a.f.stop();
    await a.f.stop(); // safe twice
  });
});

describe('LogFollower on its own timer', () => {
  it('calls onPoll after each poll, and an idle poll (same file, same size) still sees the next append, a truncation and a rotation', async () => {
    writeFileSync(log(), 'a\n');
    let polls = 0;
    const { f, got } = follower({ fromBeginning: true, pollMs: 20, onPoll: () => polls++ });
    await f.start();
    expect(await settled(() => polls >= 3)).toBe(true);
    expect(got).toEqual(['a']);
    appendFileSync(log(), 'b\n');
    expect(await settled(() => got.length === 2)).toBe(true);
    // copytruncate, then as many bytes as before: the size equals the old offset.
    truncateSync(log(), 0);
    expect(await settled(() => polls >= 8)).toBe(true);
    appendFileSync(log(), 'c\nd\n');
    expect(await settled(() => got.includes('d'))).toBe(true);
    renameSync(log(), `${log()}.1`);
    writeFileSync(log(), 'e\n');
    expect(await settled(() => got.includes('e'))).toBe(true);
    await f.stop();
    expect(got).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('LogFollower with change notifications (inotify)', () => {
  // No timer poll within the test: what arrives, arrives by a notification.
  const notified = (o: { safetyMs?: number; watch?: boolean; ticked?: boolean } = {}) =>
    follower({ fromBeginning: true, pollMs: 50, safetyMs: 3_600_000, ...o });

  it('an append, a rotation by rename and a file that appears later are read without a timer poll', async () => {
    writeFileSync(log(), 'a\n');
    const { f, got } = notified();
    await f.start();
    expect(got).toEqual(['a']);
    appendFileSync(log(), 'b\n');
    expect(await settled(() => got.length === 2)).toBe(true);
    renameSync(log(), `${log()}.1`);
    appendFileSync(`${log()}.1`, 'c\n');
    writeFileSync(log(), 'd\n');
    expect(await settled(() => got.includes('d'))).toBe(true);
    appendFileSync(log(), 'e\n');
    expect(await settled(() => got.includes('e'))).toBe(true);
    // Deleted, then created again: the folder is watched meanwhile.
    rmSync(log());
    await settled(() => f.notifications >= 5);
    writeFileSync(log(), 'f\n');
    expect(await settled(() => got.includes('f'))).toBe(true);
    await f.stop();
    expect(got).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(f.notifications).toBeGreaterThanOrEqual(4);
  });

  it('a lost notification is made up by the safety poll', async () => {
    writeFileSync(log(), 'a\n');
    const { f, got } = notified({ safetyMs: 100 });
    await f.start();
    // What a full inotify queue does: the change is never told.
    (f as unknown as { watcher: { close(): void } }).watcher.close();
    appendFileSync(log(), 'b\n');
    expect(await settled(() => got.includes('b'))).toBe(true);
    await f.stop();
  });

  it("ticked: the safety poll rides on the caller's tick() (no timer of its own), once safetyMs has passed", async () => {
    writeFileSync(log(), 'a\n');
    const { f, got } = notified({ safetyMs: 500, ticked: true });
    await f.start();
    const timers = f as unknown as { timer: unknown; watcher: { close(): void } };
    expect(timers.timer).toBeUndefined();
    // A lost notification: nothing polls by itself, and a tick before safetyMs does not either.
    timers.watcher.close();
    appendFileSync(log(), 'b\n');
    f.tick();
    await new Promise((r) => setTimeout(r, 600));
    expect(got).toEqual(['a']);
    // The next tick after safetyMs: one stat sees the file grown, and a poll reads it.
    f.tick();
    expect(await settled(() => got.includes('b'))).toBe(true);
    // Rotated while its notification is lost: the next due tick reads the new file.
    (f as unknown as { watcher: { close(): void } }).watcher.close();
    renameSync(log(), `${log()}.1`);
    writeFileSync(log(), 'c\n');
    await new Promise((r) => setTimeout(r, 600));
    f.tick();
    expect(await settled(() => got.includes('c'))).toBe(true);
    await f.stop();
    expect(got).toEqual(['a', 'b', 'c']);
  });

  it('watch: false polls as before and is told nothing', async () => {
    writeFileSync(log(), 'a\n');
    const { f, got } = notified({ watch: false });
    await f.start();
    appendFileSync(log(), 'b\n');
    expect(await settled(() => got.includes('b'))).toBe(true);
    await f.stop();
    expect(f.notifications).toBe(0);
  });
});
