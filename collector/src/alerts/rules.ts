// Alert rules: their config schema, the default rule pack, and the small pure helpers
// (comparisons, labels) the evaluators share. Three kinds:
//   threshold  a numeric field compared with a value, held for a duration, per label set
//   absence    an agent offline, or a measurement silent for longer than a duration
//   event      security events by type and severity; optionally the same evidence value
//              (a source IP) seen on N distinct hosts of the province within a window
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { SEVERITIES, SeveritySchema, type Severity } from '@canh/protocol';
import { duration, parseDuration } from '@canh/core';

export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** Text in both languages, or one string for both. */
export const LocalizedSchema = z.union([z.string().min(1), z.object({ vi: z.string().min(1), en: z.string().min(1) }).strict()]);
export type Localized = z.infer<typeof LocalizedSchema>;
export type Language = 'vi' | 'en';

export function localize(t: Localized | undefined, lang: Language): string | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'string' ? t : t[lang];
}

/** A threshold: a number, or a duration ("14d") meaning that many seconds (x509 expiry). */
const thresholdValue = z.union([z.number(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const ms = parseDuration(v.trim());
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a number or a duration: "${v}"` });
    return z.NEVER;
  }
  return ms / 1000;
});

/** Functions a threshold rule can take over its window; `last` is the sample itself. */
export const WINDOW_FUNCTIONS = ['last', 'avg', 'min', 'max', 'p95'] as const;
export type WindowFunction = (typeof WINDOW_FUNCTIONS)[number];

const ruleName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'use lower-case letters, digits and "_" (e.g. disk_full)');
const tagName = z.string().min(1).max(256);

const common = {
  name: ruleName,
  severity: SeveritySchema.default('medium'),
  /** Short title for the e-mail subject; the rule name when absent. */
  title: LocalizedSchema.optional(),
  /** One line on what is wrong; {{label}}, {{value}} and {{threshold}} are filled in. */
  summary: LocalizedSchema.optional(),
  /** One line on what to do first ("Việc cần làm" / "What to do" in the firing mail). */
  action: LocalizedSchema.optional(),
  /** One line on what recovered, for the resolved mail; {{label}} and {{value}} are filled in. */
  recovered: LocalizedSchema.optional(),
  /** The mail's dashboard link: a shipped dashboard's key (fleet, host, network, uptime,
   *  security: opened in the recipient's language) or a path of your own ("/d/my-board")
   *  appended to alerting.grafana_url. */
  dashboard: z
    .string()
    .regex(/^(?:\/\S*|[a-z][a-z0-9-]*)$/, 'write a shipped dashboard (fleet, host, network, uptime, security) or a path starting with "/"')
    .optional(),
  /** Send a mail when it resolves (alerting.grouping.send_resolved when unset). */
  send_resolved: z.boolean().optional(),
  /** How the value reads in a mail. */
  unit: z.enum(['none', 'percent', 'seconds', 'bytes', 'code']).default('none'),
};

const where = z.record(tagName, z.string()).default({});

export const ThresholdRuleSchema = z
  .object({
    ...common,
    type: z.literal('threshold'),
    measurement: tagName,
    field: tagName,
    op: z.enum(COMPARISONS),
    value: thresholdValue,
    /** Further conditions on other fields of the same point, all of which must hold. */
    and: z.array(z.object({ field: tagName, op: z.enum(COMPARISONS), value: thresholdValue }).strict()).default([]),
    for: duration().default(0),
    /**
     * What is compared: the sample itself (`last`), or a function of the samples of the
     * last `window` (avg, min, max, p95), as Prometheus' avg_over_time. Without `window`
     * the window is `for`, which then is not waited again.
     */
    function: z.enum(WINDOW_FUNCTIONS).default('last'),
    window: duration({ min: 1000 })
      .refine((ms) => ms <= 3_600_000, 'at most 1h')
      .optional(),
    group_by: z.array(tagName).default(['host']),
    /** Tag equality filters (host, agency, site and the point's own tags). */
    where,
    /** Take the alert's agency from this tag when the point has it (probes run for another agency). */
    agency_from_tag: tagName.optional(),
    /** Stay firing this long after the condition clears (Prometheus' keep_firing_for). */
    keep_firing_for: duration().default(0),
  })
  .strict();

export const AbsenceRuleSchema = z
  .object({
    ...common,
    type: z.literal('absence'),
    /** `agent` means the agent itself (its connection); any other name, that measurement. */
    measurement: tagName,
    for: duration({ min: 1000 }),
    group_by: z.array(tagName).default(['host']),
    where,
  })
  .strict();

export const EventRuleSchema = z
  .object({
    ...common,
    severity: SeveritySchema.optional(),
    type: z.literal('event'),
    event_types: z.array(tagName).min(1),
    min_severity: SeveritySchema.default('info'),
    /** Labels: host, agency, site, type, detector, or an evidence key. */
    group_by: z.array(tagName).default(['host', 'type']),
    /** Fire once this many occurrences (event counts summed) arrive within `within`. */
    min_count: z.number().int().min(1).default(1),
    within: duration({ min: 1000 }).default(600_000),
    /** Resolve after this long without a new matching event. */
    resolve_after: duration({ min: 1000 }).default(1_800_000),
    /** Across hosts: fire when one `correlate_by` value is seen on this many distinct hosts within `within`. */
    distinct_hosts: z.number().int().min(2).optional(),
    correlate_by: tagName.default('src_ip'),
  })
  .strict();

export const RuleSchema = z.discriminatedUnion('type', [ThresholdRuleSchema, AbsenceRuleSchema, EventRuleSchema]);
export type ThresholdRule = z.infer<typeof ThresholdRuleSchema>;
export type AbsenceRule = z.infer<typeof AbsenceRuleSchema>;
export type EventRule = z.infer<typeof EventRuleSchema>;
export type Rule = z.infer<typeof RuleSchema>;

export const RuleListSchema = z.array(RuleSchema).superRefine((rules, ctx) => {
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate rule name "${r.name}"` });
    seen.add(r.name);
    if (r.type === 'threshold' && r.function !== 'last' && !r.window && !r.for) {
      ctx.addIssue({ code: 'custom', path: [i, 'window'], message: `function ${r.function} needs a window: set window (or for)` });
    }
  });
});

const DEFAULT_RULES_FILE = new URL('./default-rules.yaml', import.meta.url);
let defaults: Rule[] | undefined;

/** The shipped rule pack (default-rules.yaml), parsed with the same schema as user rules. */
export function defaultRules(): Rule[] {
  if (!defaults) {
    const doc = parseYaml(readFileSync(DEFAULT_RULES_FILE, 'utf8')) as { rules?: unknown };
    const r = RuleListSchema.safeParse(doc.rules);
    if (!r.success) throw new Error(`default-rules.yaml is invalid: ${r.error.issues.map((i) => `rules[${i.path.join('.')}]: ${i.message}`).join('; ')}`);
    defaults = r.data;
  }
  return defaults;
}

/** Default rules (unless turned off), minus disabled ones, with same-named user rules replacing them. */
export function effectiveRules(cfg: { default_rules: boolean; disabled_rules: string[]; rules: Rule[] }): Rule[] {
  const byName = new Map<string, Rule>();
  if (cfg.default_rules) for (const r of defaultRules()) byName.set(r.name, r);
  for (const r of cfg.rules) byName.set(r.name, r);
  for (const n of cfg.disabled_rules) byName.delete(n);
  return [...byName.values()];
}

export function compare(a: number, op: Comparison, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

/** Numbers, and booleans as 0/1 (Telegraf writes `result` booleans on some inputs). */
export function numeric(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** A stable identity for an alert: its rule and labels, in key order. */
export function fingerprint(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

/** Labels of an alert: the rule, the agency, then the group_by values that are present. */
export function alertLabels(
  rule: string,
  agency: string | undefined,
  groupBy: readonly string[],
  lookup: (name: string) => string | undefined,
): Record<string, string> {
  const labels: Record<string, string> = { rule };
  if (agency) labels.agency = agency;
  for (const g of groupBy) {
    if (g === 'agency' || g === 'rule') continue;
    const v = lookup(g);
    if (v !== undefined && v !== '') labels[g] = v;
  }
  return labels;
}

/**
 * A rule judged from one host's data alone: a threshold labelled by host, an absence rule
 * on one of the host's measurements (not `agent`), or an event rule labelled by host that
 * does not correlate hosts (`distinct_hosts`). With several
 * collectors (state/host-rules.ts) it runs on the collector the host's agent is connected
 * to; every other rule (absence, events seen across hosts, thresholds whose instance
 * several agents feed) runs on the leader.
 */
export function isHostRule(r: Rule): boolean {
  if (r.type === 'threshold') return r.group_by.includes('host');
  // A host's series falling silent; whether an agent is connected at all is the leader's.
  if (r.type === 'absence') return r.measurement !== 'agent' && r.group_by.includes('host');
  return r.distinct_hosts === undefined && r.group_by.includes('host');
}
