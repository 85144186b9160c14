// Rates from SNMP counters, exact: 64-bit octet counters pass 2^53 on busy links, so
// deltas are taken on bigints and only the (small) delta becomes a number. 32-bit
// counters wrap every ~34 s at 1 Gbit/s; 64-bit counters never wrap in practice, so a
// decrease there is a reset. A device reboot resets everything and is detected from
// sysUpTime, so no rate ever comes out negative or absurd.
import { counterDelta, type CounterWidth } from '../../rate.ts';

export type Width = CounterWidth;

/** No interface moves more than this (10 Tbit/s); anything above is a counter discontinuity. */
export const MAX_PLAUSIBLE_BPS = 1e13;

/** Bits per second from two octet-counter samples; undefined on reset, no elapsed time, or an implausible jump. */
export function bitsPerSecond(prev: bigint, cur: bigint, elapsedMs: number, width: Width): number | undefined {
  if (!(elapsedMs > 0)) return undefined;
  const d = counterDelta(prev, cur, width);
  if (d === undefined) return undefined;
  const bps = (Number(d) * 8 * 1000) / elapsedMs;
  return bps <= MAX_PLAUSIBLE_BPS ? bps : undefined;
}

/** Percentage of the link speed; undefined when the device does not know its speed. */
export function utilization(bps: number, speedBps: number | undefined): number | undefined {
  return speedBps && speedBps > 0 ? (bps * 100) / speedBps : undefined;
}

const UPTIME_RANGE = 2 ** 32;

/**
 * Whether the device restarted between two polls, from sysUpTime (TimeTicks, 1/100 s).
 * It did when its uptime went back (except the wrap at 2^32 ticks, ~497 days), or when it
 * has been up for less time than has passed since the previous poll (it restarted while
 * we were not looking, e.g. during an outage). `slackMs` absorbs clock and poll jitter.
 */
export function restarted(prevTicks: number, curTicks: number, elapsedMs: number, slackMs = 30_000): boolean {
  const elapsedTicks = Math.max(0, elapsedMs) / 10;
  const slackTicks = slackMs / 10;
  if (curTicks < prevTicks) {
    const wrappedAdvance = UPTIME_RANGE - prevTicks + curTicks;
    return Math.abs(wrappedAdvance - elapsedTicks) > slackTicks + elapsedTicks * 0.1;
  }
  return curTicks + slackTicks < elapsedTicks;
}
