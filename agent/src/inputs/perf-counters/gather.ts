// What the host inputs share on Windows: whether the Windows code path applies, the
// samples an input has not seen yet, and running totals integrated from per-second rates.
import { CanhError } from '@canh/core';
import type { InputContext } from '../types.ts';
import type { CounterRequest } from './names.ts';
import type { CounterSource, Sample } from './source.ts';

/** The Windows code path: on Windows, or where a test injected the platform. */
export function onWindows(ctx: InputContext): boolean {
  return (ctx.platform ?? process.platform) === 'win32';
}

/** The context's counter source, told what this input wants. */
export function counterSource(ctx: InputContext, requests: readonly CounterRequest[]): CounterSource {
  const src = ctx.perfCounters;
  // createContext gives every Windows context one; a context without it is a bug.
  if (!src) throw new Error('no performance counter source in this context (createContext({ platform: "win32" }) makes one)');
  src.want(requests);
  return src;
}

/**
 * The samples since this input's last gather. Under the agent a gather never waits (the
 * first one, before typeperf's first row, sends nothing, as a Linux cpu's first gather);
 * in one-off runs (`canh-agent check`) it waits for the next row.
 */
export async function newSamples(ctx: InputContext, src: CounterSource, cursor: { seq: number }): Promise<Sample[]> {
  let s = src.samplesSince(cursor.seq);
  if (s.length === 0 && !ctx.intervalMs) {
    // Returns at once when typeperf ended without printing a row.
    await src.waitForSample(cursor.seq, 3 * src.intervalMs + 30_000);
    s = src.samplesSince(cursor.seq);
    if (s.length === 0) {
      throw new CanhError(
        'CANH_ERR_WINCOUNTERS_EXITED',
        'typeperf printed no sample of the performance counters: see the log lines before this one, and check that typeperf runs in a console',
      );
    }
  }
  const last = s.at(-1);
  if (last) cursor.seq = last.seq;
  return s;
}

/**
 * Running totals per instance and field (bytes received since the agent started), built
 * from per-second rates times the seconds each sample covers; bounded, so instances that
 * come and go (USB adapters, VPN sessions) cannot grow it without end.
 */
export class Totals {
  private readonly m = new Map<string, Record<string, number>>();
  private readonly max: number;

  constructor(max = 256) {
    this.max = max;
  }

  add(instance: string, field: string, amount: number): void {
    if (!(amount >= 0) || !Number.isFinite(amount)) return;
    let t = this.m.get(instance);
    if (!t) {
      if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value!);
      t = {};
      this.m.set(instance, t);
    }
    t[field] = (t[field] ?? 0) + amount;
  }

  get(instance: string, field: string): number | undefined {
    return this.m.get(instance)?.[field];
  }
}

/** Whole number of a total (counters are sent as integers). */
export const whole = (n: number | undefined): number => Math.round(n ?? 0);

/** A percentage kept inside 0..100 (PDH's cooked values stray a little past either end). */
export const pct = (n: number): number => Math.min(100, Math.max(0, n));
