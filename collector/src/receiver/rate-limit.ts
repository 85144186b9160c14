// Per-agent rate limit as a token bucket. An agent over its rate is not cut off (its data
// matters); its socket is paused until it is back within the limit, so TCP pushes back on
// it alone and other agents keep flowing.
import type { Conn, Receiver } from './types.ts';

/** The bucket of a new connection: ten seconds' worth. */
export function fullBucket(rate: number): number {
  return rate * 10;
}

/** Take n points from conn's bucket; below zero, conn is not read from until it refills. */
export function throttle(r: Receiver, conn: Conn, n: number): void {
  const rate = r.config.limits.max_points_per_second;
  // Monotonic: with the wall clock, a step back drove every bucket far below zero and
  // paused every agent for the length of the step.
  const now = performance.now();
  conn.tokens = Math.min(fullBucket(rate), conn.tokens + ((now - conn.lastRefill) / 1000) * rate);
  conn.lastRefill = now;
  conn.tokens -= n;
  if (conn.tokens < 0) {
    const waitMs = Math.ceil((-conn.tokens / rate) * 1000);
    if (conn.throttle) clearTimeout(conn.throttle);
    conn.throttle = setTimeout(() => {
      conn.throttle = undefined;
      r.backpressure.applyPause(conn);
    }, waitMs).unref();
    r.backpressure.applyPause(conn);
  }
}
