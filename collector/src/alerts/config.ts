// The `alerting:` section of the collector's config: rules, grouping, inhibition,
// maintenance windows, recipients, SMTP and templates. Defaults live here; the
// collector's config module embeds this schema and reports errors by path.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SeveritySchema } from '@canh/protocol';
import { duration } from '@canh/core';
import { defaultRules, RuleListSchema } from './rules.ts';
import { matcherList, type Matcher } from './matchers.ts';

const secret = z.object({ value: z.string().optional(), file: z.string().optional(), env: z.string().optional() }).strict().optional();

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'write the time as HH:MM (24 h), e.g. "22:00"');
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
const timeZone = z.string().refine(validTimeZone, 'not an IANA time zone (e.g. "Asia/Ho_Chi_Minh")');

export const MaintenanceSchema = z
  .object({
    name: z.string().min(1),
    // Agencies it covers; every agency when absent.
    agencies: z.array(z.string().min(1)).optional(),
    // Further label matchers (host=..., rule=...), all of which must match.
    matchers: matcherList.default([]),
    // Days the window starts on; every day when absent.
    days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    start: hhmm,
    // Before or equal to start: the window ends the next day.
    end: hhmm,
    timezone: timeZone.optional(),
  })
  .strict();
export type MaintenanceWindow = z.infer<typeof MaintenanceSchema>;

export const RecipientSchema = z
  .object({
    email: z.email(),
    name: z.string().optional(),
    // Agencies whose alerts this recipient gets; all (province-wide) when absent.
    agencies: z.array(z.string().min(1)).min(1).optional(),
    min_severity: SeveritySchema.default('medium'),
    language: z.enum(['vi', 'en']).default('vi'),
    // Only these rules, when set.
    rules: z.array(z.string()).min(1).optional(),
  })
  .strict();
export type Recipient = z.infer<typeof RecipientSchema>;

const InhibitRuleSchema = z
  .object({
    // The root cause: a firing alert matching these...
    source: matcherList.refine((m) => m.length > 0, 'name at least one matcher'),
    // ...holds back alerts matching these (all alerts when empty)...
    target: matcherList.default([]),
    // ...that have the same values for these labels.
    equal: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type InhibitRule = { source: Matcher[]; target: Matcher[]; equal: string[] };

const templateFiles = z.object({ subject: z.string().optional(), text: z.string().optional(), html: z.string().optional() }).strict();

export const SmtpSchema = z
  .object({
    /** The SMTP relay (the agency's mail server or a local relay). */
    host: z.string().min(1),
    /** 587 for STARTTLS submission, 465 for TLS from the start, 25 for a local relay. */
    port: z.number().int().min(1).max(65535).default(587),
    /** starttls: plain connect then STARTTLS, required (587); tls: TLS from the start (465); none: no TLS (a local relay only). */
    security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
    /** How the relay's certificate is checked (with security starttls or tls). */
    tls: z
      .object({
        /** Refuse a relay whose certificate does not verify; turn off only for a test relay. */
        reject_unauthorized: z.boolean().default(true),
        /** Extra CA certificate (PEM) for a relay with a private CA. */
        ca_file: z.string().optional(),
        /** Name to verify the certificate against when `host` is an IP address or an alias. */
        servername: z.string().optional(),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({ user: z.string().min(1), password: secret })
      .strict()
      .optional(),
    /** Sender address of alert mail, e.g. "Canh <canh@so-tttt.gov.vn>". */
    from: z.string().min(3),
    /** Keep connections to the relay open between mails. */
    pool: z.boolean().default(true),
    /** Connections to the relay at most, with pool on. */
    max_connections: z.number().int().min(1).max(20).default(2),
    timeout: duration({ min: 1000 }).default(30_000),
    retry: z
      .object({
        min: duration({ min: 10 }).default(5000),
        max: duration({ min: 10 }).default(600_000),
        /** A mail still unsent after this long is marked failed (and logged); it stays in the outbox table. */
        give_up_after: duration({ min: 60_000 }).default(3 * 86_400_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type SmtpConfig = z.infer<typeof SmtpSchema>;

export const AlertingConfigSchema = z
  .object({
    /** Base URL of Grafana (e.g. https://grafana.tinh.gov.vn); rules append their dashboard. */
    grafana_url: z.url().optional(),
    /** The collector's address as people reach it (e.g. https://canh.tinh.gov.vn): mails link its status page. */
    status_url: z.url().optional(),
    /** Time zone of the times in mails and of maintenance windows. */
    timezone: timeZone.default('Asia/Ho_Chi_Minh'),
    /** Bearer token of the admin HTTP API (/api/v1/silences, /api/v1/alerts); the API is off without it. */
    admin_token: secret,
    /** Display names of agencies in mails: { so-tttt: "Sở Thông tin và Truyền thông" }. */
    agencies: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** Load the shipped rule pack (collector/src/alerts/default-rules.yaml). */
    default_rules: z.boolean().default(true),
    /** Names of rules (shipped or own) to leave out. */
    disabled_rules: z.array(z.string()).default([]),
    /** Own rules (threshold, absence, event; see collector/src/alerts/README.md); one named like a shipped rule replaces it. */
    rules: RuleListSchema.default([]),
    /** How often timers are checked (for, group_wait, resolve_after, retries). */
    evaluation_interval: duration({ min: 10 }).default(1000),
    /** Points older than this (replayed from an agent's spool) do not change alert state. */
    max_sample_age: duration({ min: 1000 }).default(900_000),
    grouping: z
      .object({
        /** Labels whose values make one notification group (Alertmanager's group_by). */
        group_by: z.array(z.string().min(1)).default(['agency', 'rule']),
        group_wait: duration().default(30_000),
        group_interval: duration().default(300_000),
        repeat_interval: duration().default(4 * 3_600_000),
        /** Mail the resolution of what was mailed as firing. */
        send_resolved: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    flap: z
      .object({
        /** An alert that changed state this many times within `window` is flapping... */
        transitions: z.number().int().min(2).default(4),
        window: duration({ min: 1000 }).default(1_800_000),
        /** ...and resolves only after its condition stayed clear this long. */
        hold: duration().default(900_000),
      })
      .strict()
      .prefault({}),
    /** While a source alert fires, target alerts with equal labels send no mail. */
    inhibit_rules: z
      .array(InhibitRuleSchema)
      // prefault: the defaults go through the schema, so the matcher strings are parsed.
      .prefault([
        { source: ['rule=agent_offline'], equal: ['agency', 'host'] },
        { source: ['rule=uplink_down'], equal: ['agency'] },
      ]),
    /** A root cause that resolved this recently still holds its alerts back (agents take a moment to reconnect). */
    inhibit_grace: duration().default(120_000),
    /** Recurring windows (days, start, end, timezone, agencies, matchers) without firing mail. */
    maintenance: z.array(MaintenanceSchema).default([]),
    /** Who gets mail: email, name, language (vi|en), min_severity, agencies (all when absent), rules. */
    recipients: z.array(RecipientSchema).default([]),
    smtp: SmtpSchema.optional(),
    /** Write alert mail as .eml files into this folder instead of sending it over SMTP (the
     *  quick start: no mail server needed). With smtp set as well, SMTP wins. */
    mail_folder: z.string().min(1).optional(),
    templates: z.object({ vi: templateFiles.optional(), en: templateFiles.optional() }).strict().prefault({}),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.recipients.length > 0 && !a.smtp && !a.mail_folder)
      ctx.addIssue({ code: 'custom', path: ['smtp'], message: 'required when recipients are configured (or mail_folder)' });
    const known = new Set([...(a.default_rules ? defaultRules().map((r) => r.name) : []), ...a.rules.map((r) => r.name)]);
    a.disabled_rules.forEach((n, i) => {
      if (!known.has(n)) ctx.addIssue({ code: 'custom', path: ['disabled_rules', i], message: `no rule named "${n}"` });
    });
    for (const lang of ['vi', 'en'] as const) {
      for (const [part, file] of Object.entries(a.templates[lang] ?? {})) {
        try {
          readFileSync(file as string, 'utf8');
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            path: ['templates', lang, part],
            message: `cannot read ${String(file)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
          });
        }
      }
    }
  });

export type AlertingConfig = z.infer<typeof AlertingConfigSchema>;

export interface AlertingSecrets {
  smtpPassword?: string;
  adminToken?: string;
}

function resolve(s: { value?: string; file?: string; env?: string } | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (!s) return undefined;
  if (s.env) return env[s.env];
  if (s.file) return readFileSync(s.file, 'utf8').trim();
  return s.value;
}

/** Secrets of the alerting section, or the problems (by path) met reading them. */
export function resolveAlertingSecrets(a: AlertingConfig, env: NodeJS.ProcessEnv): AlertingSecrets | { problems: string[] } {
  const problems: string[] = [];
  const read = (s: Parameters<typeof resolve>[0], path: string) => {
    try {
      return resolve(s, env);
    } catch (err) {
      problems.push(`${path}.file: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
  };
  const out: AlertingSecrets = {
    smtpPassword: read(a.smtp?.auth?.password, 'alerting.smtp.auth.password'),
    adminToken: read(a.admin_token, 'alerting.admin_token'),
  };
  if (a.admin_token && out.adminToken !== undefined && out.adminToken.length < 16) problems.push('alerting.admin_token: use at least 16 characters');
  return problems.length ? { problems } : out;
}
