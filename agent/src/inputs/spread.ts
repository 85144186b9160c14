// When the network checks of one gather start: spread over the first quarter of the
// interval instead of all in the millisecond of the tick, when every host input gathers
// too. A check that starts while the agent is busy has its socket events handled late,
// and measures the agent rather than the server (issue 24: 60 ms where curl saw 3.5 ms).

/** The part of the interval over which checks are spread (ms), leaving room for `timeoutMs`. */
export function spreadWindow(intervalMs: number | undefined, timeoutMs: number): number {
  if (!intervalMs) return 0;
  return Math.max(0, Math.min(intervalMs / 4, intervalMs - timeoutMs - intervalMs / 8));
}

/** Offsets (ms after the tick) of n checks of one input: evenly inside the window, none at 0. */
export function spreadOffsets(n: number, intervalMs: number | undefined, timeoutMs: number): number[] {
  const w = spreadWindow(intervalMs, timeoutMs);
  return Array.from({ length: n }, (_, i) => Math.round((w * (i + 0.5)) / n));
}

/**
 * Offset of a check that is alone in its input (net_response: one address each), taken
 * from its key so that several such inputs do not start together: the same key always
 * gets the same place in the window.
 */
export function keyedOffset(key: string, intervalMs: number | undefined, timeoutMs: number): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  return Math.round((spreadWindow(intervalMs, timeoutMs) * ((h % 1000) + 0.5)) / 1000);
}

/** Resolves `ms` after `since` (performance.now() time); at once if that has passed. */
export function waitUntil(since: number, ms: number, now: () => number): Promise<void> {
  const left = since + ms - now();
  return left > 0 ? new Promise((r) => setTimeout(r, left)) : Promise.resolve();
}
