// Durations in config files are written the way operators write them: "10s", "5m", "1h30m".
import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse "1h30m", "10s", "250ms" into milliseconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * (UNITS[m[2]!] ?? 0);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== s.length) return undefined;
  return Math.round(total);
}

/** A zod schema for a duration written as a string ("10s") or a number of milliseconds. */
export const duration = (opts: { min?: number } = {}) =>
  z.union([z.string(), z.number().int().nonnegative()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parseDuration(v.trim());
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a duration: "${String(v)}" (write e.g. "10s", "5m", "1h30m")` });
      return z.NEVER;
    }
    if (opts.min !== undefined && ms < opts.min) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${opts.min} ms` });
      return z.NEVER;
    }
    return ms;
  });
