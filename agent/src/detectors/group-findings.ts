// Keeps a burst of changes from becoming a flood of events: findings are grouped by a key
// (for example web root + kind of change) and a group larger than the limit becomes one
// event that carries the count and a sample, instead of one event per finding.

export interface Group<T> {
  key: string;
  items: T[];
}

/** Split findings into those reported one by one and groups reported as one event each. */
export function groupFindings<T>(items: readonly T[], keyOf: (t: T) => string, limit: number): { single: T[]; grouped: Group<T>[] } {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = keyOf(it);
    const g = groups.get(k);
    if (g) g.push(it);
    else groups.set(k, [it]);
  }
  const single: T[] = [];
  const grouped: Group<T>[] = [];
  for (const [key, g] of groups) {
    if (g.length <= limit) single.push(...g);
    else grouped.push({ key, items: g });
  }
  return { single, grouped };
}

/** A bounded, newline-separated sample of values for an aggregated event's evidence. */
export function sample(values: readonly string[], max = 10, maxChars = 2000): string {
  let out = values.slice(0, max).join('\n');
  if (out.length > maxChars) out = `${out.slice(0, maxChars)}…`;
  return values.length > max ? `${out}\n… and ${values.length - max} more` : out;
}

/** Cut a string to a bound that keeps events well within the wire limits. */
export function bounded(s: string, max = 512): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
