// Silences: label matchers, an author, a comment and an expiry. Created from the CLI
// or the HTTP API (both go through createSilence, so both refuse the same mistakes),
// stored in the collector's SQLite file, read by the running engine at every flush.
import { randomUUID } from 'node:crypto';
import { CanhError, parseDuration, wallClock, zonedToUtc } from '@canh/core';
import { formatMatcher, matches, matchesAll, parseMatcher, type Labels, type Matcher } from './matchers.ts';
import type { Silence } from './types.ts';

export class SilenceError extends CanhError {
  constructor(message: string) {
    super('CANH_ERR_SILENCE_INVALID', message);
  }
}

export interface SilenceInput {
  matchers: readonly (string | Matcher)[];
  createdBy?: string;
  comment?: string;
  /** ISO time or epoch ms; now when absent. */
  startsAt?: string | number;
  /** ISO time or epoch ms... */
  endsAt?: string | number;
  /** ...or a duration from the start ("2h"). */
  duration?: string;
}

const ISO_ZONED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const VI_LOCAL = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?: (\d{1,2}):(\d{2}))?$/;

/**
 * A time a person wrote, in one of the unambiguous forms only: ISO 8601 with its zone
 * (2026-12-08T06:00:00+07:00), ISO date and time without one (2026-12-08 06:00, or a date
 * alone: its 00:00), or the Vietnamese day-first dd/mm/yyyy [HH:MM]; the last two in the
 * alerting time zone. "01/12/2027" is 1 December, never 12 January; anything else is
 * refused rather than guessed. Epoch ms (the HTTP API) pass as they are.
 */
export function parseWhen(v: string | number, what: string, tz: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new SilenceError(`${what}: not a time: ${v}`);
    return v;
  }
  const text = v.trim();
  const bad = () =>
    new SilenceError(
      `${what}: not a time this understands: "${v}" (write 2026-12-08T06:00:00+07:00, 2026-12-08 06:00 or 08/12/2026 06:00 — day first — the last two in ${tz})`,
    );
  const inZone = (y: number, mo: number, d: number, h: number, mi: number, sec: number) => {
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) throw bad();
    const t = zonedToUtc(y, mo, d, h, mi, sec, 0, tz);
    // 31/02 and the like roll over in Date arithmetic: refuse instead.
    const back = wallClock(t, tz);
    if (back.year !== y || back.month !== mo || back.day !== d) throw bad();
    return t;
  };
  if (ISO_ZONED.test(text)) {
    const t = Date.parse(text);
    if (Number.isFinite(t)) return t;
    throw bad();
  }
  let m = ISO_LOCAL.exec(text);
  if (m) return inZone(+m[1]!, +m[2]!, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  m = VI_LOCAL.exec(text);
  if (m) return inZone(+m[3]!, +m[2]!, +m[1]!, +(m[4] ?? 0), +(m[5] ?? 0), 0);
  throw bad();
}

/** A time as people in the alerting zone read it: "2026-12-08 06:00 (Asia/Ho_Chi_Minh)". */
export function formatWhen(t: number, tz: string): string {
  const w = wallClock(t, tz);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${p(w.month)}-${p(w.day)} ${p(w.hour)}:${p(w.minute)} (${tz})`;
}

/** The labels an alert of these rules can carry (what a silence can match): rule, agency,
 *  severity, and every rule's group_by and correlate_by labels. */
export function knownAlertLabels(rules: readonly { group_by?: readonly string[]; correlate_by?: string }[]): Set<string> {
  const out = new Set(['rule', 'agency', 'severity', 'host', 'site']);
  for (const r of rules) {
    for (const g of r.group_by ?? []) out.add(g);
    if (r.correlate_by) out.add(r.correlate_by);
  }
  return out;
}

/** Edit distance, for "did you mean" (labels are short). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function unknownLabel(name: string, known: ReadonlySet<string>): string {
  const near = [...known]
    .map((k) => [k, distance(name, k)] as const)
    .filter(([, d]) => d <= 2)
    .sort((x, y) => x[1] - y[1])[0];
  return `no alert carries the label "${name}"${near ? ` (did you mean ${near[0]}?)` : ''}; labels alerts carry: ${[...known].sort().join(', ')}`;
}

/** `knownLabels`: refuse a matcher on a label no alert carries (a typo silences nothing). */
export function createSilence(input: SilenceInput, now: number, knownLabels?: ReadonlySet<string>, tz = 'Asia/Ho_Chi_Minh'): Silence {
  if (!Array.isArray(input.matchers) || input.matchers.length === 0) throw new SilenceError('matchers: name at least one (e.g. agency=so-tttt host=web01)');
  const ms: Matcher[] = input.matchers.map((m, i) => {
    if (typeof m !== 'string') {
      const again = parseMatcher(formatMatcher(m));
      if (typeof again === 'string') throw new SilenceError(`matchers[${i}]: ${again}`);
      return again;
    }
    const p = parseMatcher(m);
    if (typeof p === 'string') throw new SilenceError(`matchers[${i}]: ${p}`);
    return p;
  });
  if (knownLabels)
    ms.forEach((m, i) => {
      if (!knownLabels.has(m.name)) throw new SilenceError(`matchers[${i}]: ${unknownLabel(m.name, knownLabels)}`);
    });
  // Alertmanager's safety rule: a silence whose every matcher matches an empty label
  // would silence everything.
  if (ms.every((m) => matches(m, {})))
    throw new SilenceError('matchers: at least one must require a non-empty value (e.g. agency=so-tttt), or the silence would cover every alert');
  const createdBy = (input.createdBy ?? '').trim();
  const comment = (input.comment ?? '').trim();
  if (!createdBy) throw new SilenceError('author: say who creates the silence');
  if (!comment) throw new SilenceError('comment: say why (a ticket, the maintenance work)');
  const startsAt = input.startsAt === undefined ? now : parseWhen(input.startsAt, 'starts_at', tz);
  let endsAt: number;
  if (input.endsAt !== undefined) endsAt = parseWhen(input.endsAt, 'ends_at', tz);
  else if (input.duration !== undefined) {
    const d = parseDuration(String(input.duration).trim());
    if (d === undefined || d <= 0) throw new SilenceError(`duration: not a duration: "${input.duration}" (write e.g. 2h, 30m, 1d)`);
    endsAt = startsAt + d;
  } else throw new SilenceError('ends_at or duration: say when the silence ends');
  if (endsAt <= startsAt) throw new SilenceError('ends_at: must be after starts_at');
  if (endsAt <= now) throw new SilenceError('ends_at: is in the past');
  return { id: randomUUID(), matchers: ms, createdBy, comment, startsAt, endsAt, createdAt: now };
}

export function silenceState(s: Silence, now: number): 'pending' | 'active' | 'expired' {
  if (s.endsAt <= now) return 'expired';
  return s.startsAt > now ? 'pending' : 'active';
}

/** The active silence that covers these labels, if any. */
export function silencedBy(silences: readonly Silence[], labels: Labels, now: number): Silence | undefined {
  return silences.find((s) => silenceState(s, now) === 'active' && matchesAll(s.matchers, labels));
}

export function silenceJson(s: Silence, now: number): Record<string, unknown> {
  return {
    id: s.id,
    matchers: s.matchers.map(formatMatcher),
    created_by: s.createdBy,
    comment: s.comment,
    starts_at: new Date(s.startsAt).toISOString(),
    ends_at: new Date(s.endsAt).toISOString(),
    created_at: new Date(s.createdAt).toISOString(),
    state: silenceState(s, now),
  };
}
