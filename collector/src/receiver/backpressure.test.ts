// The decisions backpressure takes when a batch is queued and when the write queue drains:
// which connections are held (not read from), which are resumed, in what order, and how
// many. The clock is passed in, so no test waits.
import { describe, expect, it } from 'vitest';
import { Backpressure, RESUME_GRACE_MS, type Flow } from './backpressure.ts';

/** A connection whose socket records whether it is read from. */
function conn(name: string): Flow & { name: string; paused: boolean } {
  const c = {
    name,
    paused: false,
    held: false,
    heardAt: 0,
    resumedAt: 0,
    throttle: undefined as NodeJS.Timeout | undefined,
    ws: {
      pause: () => void (c.paused = true),
      resume: () => void (c.paused = false),
    },
  };
  return c;
}

/** A write queue whose room the test sets. */
function queue(room: number) {
  const q = { room };
  return { q, bp: new Backpressure<ReturnType<typeof conn>>(() => q.room) };
}

const names = (cs: { name: string }[]) => cs.map((c) => c.name);

describe('backpressure', () => {
  it('keeps reading a connection whose batch leaves room in the queue', () => {
    const { bp } = queue(1);
    const a = conn('a');
    bp.queued(a, 100);
    expect(a.held).toBe(false);
    expect(a.paused).toBe(false);
    expect(bp.state.held).toEqual([]);
  });

  it('holds and pauses a connection whose batch fills the queue, and each one after it, oldest first', () => {
    const { bp } = queue(0);
    const [a, b] = [conn('a'), conn('b')];
    bp.queued(a, 100);
    bp.queued(b, 100);
    expect([a.held, a.paused, b.held, b.paused]).toEqual([true, true, true, true]);
    expect(names(bp.state.held)).toEqual(['a', 'b']);
    // A held connection's next batch (already in flight) moves it to the end of the line.
    bp.queued(a, 100);
    expect(names(bp.state.held)).toEqual(['b', 'a']);
  });

  it('releases nothing while the queue has no room', () => {
    const { q, bp } = queue(0);
    const a = conn('a');
    bp.queued(a, 100);
    q.room = -50;
    bp.release(1000);
    expect(a.held).toBe(true);
    expect(a.paused).toBe(true);
  });

  it('resumes held connections oldest first, as many as the room holds batches of the running mean size', () => {
    const { q, bp } = queue(0);
    const cs = ['a', 'b', 'c', 'd', 'e'].map(conn);
    for (const c of cs) bp.queued(c, 100); // the running mean stays at 100 lines
    q.room = 250; // room for a, b and a part of c: c is resumed too (its batch may overrun)
    bp.release(5000);
    expect(names(bp.state.resumed)).toEqual(['a', 'b', 'c']);
    expect(names(bp.state.held)).toEqual(['d', 'e']);
    expect(cs.map((c) => c.paused)).toEqual([false, false, false, true, true]);
    // Liveness counts from the resume: it was silent because it was not read.
    expect(cs[0]!.heardAt).toBe(5000);
    expect(cs[0]!.resumedAt).toBe(5000);
    expect(cs[3]!.heardAt).toBe(0);
  });

  it('counts resumed connections whose batch has not arrived against the room, until the grace ends', () => {
    const { q, bp } = queue(0);
    const cs = ['a', 'b', 'c', 'd'].map(conn);
    for (const c of cs) bp.queued(c, 100);
    q.room = 200;
    bp.release(1000);
    expect(names(bp.state.resumed)).toEqual(['a', 'b']);
    // The queue drained no further: a and b's batches will take that room.
    bp.release(1000 + RESUME_GRACE_MS - 1);
    expect(names(bp.state.held)).toEqual(['c', 'd']);
    // a's batch arrived: its share of the room is free for c.
    bp.heard(cs[0]!);
    bp.release(1000 + RESUME_GRACE_MS - 1);
    expect(names(bp.state.held)).toEqual(['d']);
    expect(names(bp.state.resumed)).toEqual(['b', 'c']);
    // b sent nothing within the grace: it stops counting, d gets its room.
    bp.release(1000 + RESUME_GRACE_MS);
    expect(names(bp.state.held)).toEqual([]);
  });

  it('sizes a resumed connection by the running mean of lines per batch', () => {
    const { q, bp } = queue(0);
    const cs = ['a', 'b', 'c'].map(conn);
    // 18 batches of 1000 lines move the mean from 100 to ~720 (100 + 900 × (1 − (15/16)^18)).
    for (let i = 0; i < 16; i++) bp.queued(cs[0]!, 1000);
    bp.queued(cs[1]!, 1000);
    bp.queued(cs[2]!, 1000);
    q.room = 1000;
    bp.release(1000);
    // Room for one batch of ~720 lines and part of a second; at 100 lines a batch all three would go.
    expect(names(bp.state.resumed)).toEqual(['a', 'b']);
    expect(names(bp.state.held)).toEqual(['c']);
  });

  it('keeps a released connection paused while it is over its own rate limit', () => {
    const { q, bp } = queue(0);
    const a = conn('a');
    bp.queued(a, 100);
    a.throttle = setTimeout(() => {}, 0);
    clearTimeout(a.throttle);
    q.room = 1000;
    bp.release(1000);
    expect(a.held).toBe(false);
    expect(a.paused).toBe(true);
    a.throttle = undefined;
    bp.applyPause(a);
    expect(a.paused).toBe(false);
  });

  it('forgets a closed connection, and reads every connection again at shutdown', () => {
    const { q, bp } = queue(0);
    const [a, b, c] = [conn('a'), conn('b'), conn('c')];
    for (const x of [a, b, c]) bp.queued(x, 100);
    bp.forget(b);
    q.room = 1000;
    bp.release(1000);
    expect(names(bp.state.resumed)).toEqual(['a', 'c']);
    q.room = 0;
    bp.queued(a, 100);
    c.throttle = setTimeout(() => {}, 0);
    bp.clear([a, b, c]);
    expect(bp.state).toEqual({ held: [], resumed: [] });
    expect([a.held, a.paused, c.paused, c.throttle]).toEqual([false, false, false, undefined]);
  });
});
