// Label matchers, written the way Alertmanager writes them: `host=web01`,
// `rule!=disk_full`, `agency=~"so-(tttt|yte)"`, `severity!~info|low`. One syntax for
// silences, maintenance windows and inhibition rules. Regexes are anchored, as in
// Alertmanager, so `host=~web` matches only "web", not "web01".
import { z } from 'zod';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export type Labels = Readonly<Record<string, string>>;

const MATCHER_RE = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s;

/** Parse one matcher; returns an error message instead of throwing (config and API both report it). */
export function parseMatcher(text: string): Matcher | string {
  const m = MATCHER_RE.exec(text);
  if (!m) return `not a matcher: "${text}" (write e.g. host=web01, rule!=disk_full, agency=~"so-.*")`;
  let value = m[3]!;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(["\\])/g, '$1');
  const op = m[2] as MatchOp;
  if (op === '=~' || op === '!~') {
    try {
      new RegExp(`^(?:${value})$`, 'u');
    } catch (err) {
      return `bad regular expression in "${text}": ${(err as Error).message}`;
    }
  }
  return { name: m[1]!, op, value };
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${/^[\p{L}\p{N}_.:/@-]*$/u.test(m.value) ? m.value : JSON.stringify(m.value)}`;
}

const regexCache = new Map<string, RegExp>();
function regex(src: string): RegExp {
  let r = regexCache.get(src);
  if (!r) {
    r = new RegExp(`^(?:${src})$`, 'u');
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(src, r);
  }
  return r;
}

/** A missing label counts as the empty string (Alertmanager's rule). */
export function matches(m: Matcher, labels: Labels): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return regex(m.value).test(v);
    case '!~':
      return !regex(m.value).test(v);
  }
}

export function matchesAll(ms: readonly Matcher[], labels: Labels): boolean {
  return ms.every((m) => matches(m, labels));
}

/** A zod schema for a list of matcher strings, parsed into Matcher objects. */
export const matcherList = z.array(z.string()).transform((list, ctx) => {
  const out: Matcher[] = [];
  list.forEach((s, i) => {
    const m = parseMatcher(s);
    if (typeof m === 'string') ctx.addIssue({ code: 'custom', path: [i], message: m });
    else out.push(m);
  });
  return out;
});
