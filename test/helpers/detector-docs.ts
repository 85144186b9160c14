// The event types the detectors document: each detector README's event table (the one
// with a `type` and a `severity` column), read the way a person reads it. Used by the
// default-rule coverage test (collector/src/alerts/default-rules.test.ts) and by the
// glossary test (every type has a Vietnamese and an English name).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SEVERITIES, type Severity } from '@canh/protocol';

export const DETECTORS = join(import.meta.dirname, '../../agent/src/detectors');

export interface Documented {
  detector: string;
  type: string;
  /** The lowest severity the README gives the type (of medium or higher, when `serious`). */
  severity: Severity;
}

/** Higher is more severe: info 0 … critical 4. */
const rank = (s: Severity): number => SEVERITIES.indexOf(s);

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());

/**
 * Event types and severities of one README's event tables. With `serious`, only the
 * types documented at medium or higher (what a default rule must mail).
 */
export function documentedEvents(detector: string, readme: string, opts: { serious?: boolean } = {}): Documented[] {
  const out: Documented[] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.trim().startsWith('|')) continue;
    const head = cells(lines[i]!).map((c) => c.toLowerCase());
    const ti = head.indexOf('type');
    const si = head.indexOf('severity');
    if (ti < 0 || si < 0 || !/^\|[\s|:-]+\|?$/.test(lines[i + 1]?.trim() ?? '')) continue;
    for (i += 2; i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
      const row = cells(lines[i]!);
      const sev = ((row[si] ?? '').toLowerCase().match(/\b(info|low|medium|high|critical)\b/g) ?? []) as Severity[];
      const kept = opts.serious ? sev.filter((s) => rank(s) >= rank('medium')) : sev;
      if (!kept.length) continue;
      const lowest = kept.reduce((a, b) => (rank(a) <= rank(b) ? a : b));
      let prev = '';
      for (const [, t] of (row[ti] ?? '').matchAll(/`([a-z0-9_]+)`/g)) {
        // `firewall_rule_added` / `_modified`: a suffix replaces the last word of the one before.
        const type = t!.startsWith('_') && prev ? prev.replace(/_[a-z0-9]+$/, t!) : t!;
        prev = type;
        out.push({ detector, type, severity: lowest });
      }
    }
  }
  return out;
}

/** Every detector's documented event types. */
export function allDocumented(opts: { serious?: boolean } = {}): Documented[] {
  return readdirSync(DETECTORS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(DETECTORS, d.name, 'README.md')))
    .flatMap((d) => documentedEvents(d.name, readFileSync(join(DETECTORS, d.name, 'README.md'), 'utf8'), opts));
}

/**
 * The evidence keys the detectors document: the first column of an evidence table (one
 * headed `field`), and the names in an `evidence` column of an event table (values in
 * parentheses after a name, like `service` (`ssh`), are left out).
 */
export function documentedEvidence(): { detector: string; key: string }[] {
  const out: { detector: string; key: string }[] = [];
  for (const d of readdirSync(DETECTORS, { withFileTypes: true })) {
    const file = join(DETECTORS, d.name, 'README.md');
    if (!d.isDirectory() || !existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i]!.trim().startsWith('|') || !/^\|[\s|:-]+\|?$/.test(lines[i + 1]?.trim() ?? '')) continue;
      const head = cells(lines[i]!).map((c) => c.toLowerCase());
      const col = head[0] === 'field' ? 0 : head.findIndex((h) => /^(extra )?evidence( fields)?$/.test(h));
      if (col < 0) continue;
      for (i += 2; i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
        const cell = (cells(lines[i]!)[col] ?? '').replace(/\([^)]*\)/g, ' ');
        for (const [, key] of cell.matchAll(/`([a-zA-Z0-9_]+)`/g)) out.push({ detector: d.name, key: key! });
      }
    }
  }
  return out;
}
