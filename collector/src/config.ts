// The collector's configuration: one YAML file, validated in full, errors named by path.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@canh/protocol';
import { CanhError, duration, issueLines } from '@canh/core';
import type { InfluxTargetConfig } from './influx/targets.ts';
import { AlertingConfigSchema, resolveAlertingSecrets, type AlertingSecrets } from './alerts/config.ts';

/** An IANA time zone name that this Node knows (checked when the file is read, not at report time). */
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'unknown time zone: give an IANA name such as Asia/Ho_Chi_Minh');

const secret = z.object({ value: z.string().optional(), file: z.string().optional(), env: z.string().optional() }).strict().optional();

export const CollectorConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8443),
        /** Serve wss:// directly; otherwise put a TLS proxy in front (deploy/nginx). */
        tls: z.object({ cert_file: z.string(), key_file: z.string() }).strict().optional(),
      })
      .strict()
      .prefault({}),
    state_dir: z.string().default('/var/lib/canh-collector'),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    influx: z
      .object({
        /** The one InfluxDB (1.x HTTP API, or anything that takes its /write). With several, list them under targets instead. */
        url: z.string().url().default('http://127.0.0.1:8086'),
        /** Several InfluxDB nodes, each given every point (docs/operating/ha.md). Replaces url, username and password; the first target keeps the spool folder of the single-target setup. */
        targets: z
          .array(
            z
              .object({
                /** Short name: logs, /healthz, the status page and the spool folder (spool-<name>). */
                name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, "_" and "-", at most 32'),
                url: z.string().url(),
                username: z.string().optional(),
                password: secret,
              })
              .strict(),
          )
          .min(1)
          .max(8)
          .optional(),
        /** Targets that must hold a batch (InfluxDB accepted it, or that target's durable spool stored it) before the agent gets its ack. Default: every target. */
        write_quorum: z.number().int().min(1).optional(),
        database: z.string().min(1).default('canh'),
        retention_policy: z.string().optional(),
        username: z.string().optional(),
        password: secret,
        create_database: z.boolean().default(true),
        /** Lines per write request to InfluxDB. */
        batch_size: z.number().int().min(1).max(100_000).default(5000),
        /** Longest a line waits for its request to fill up while other requests are in flight (with none in flight it goes after flush_linger). */
        flush_interval: duration({ min: 10 }).default(1000),
        /** With no request in flight, how long lines wait for others before they go (0: at once). InfluxDB's CPU per point falls with fewer, larger requests (docs/benchmarks.md, bench:influx-shapes). */
        flush_linger: duration({ min: 0 }).default(50),
        /** How long one write request may take before it is retried. */
        timeout: duration({ min: 100 }).default(10_000),
        /** Write requests in flight at once: four keep InfluxDB busy while the collector reads agents' batches (docs/benchmarks.md). */
        concurrency: z.number().int().min(1).max(16).default(4),
        /** Most lines held in memory for InfluxDB. The collector stops reading agents at batch_size × (concurrency + 2) or half of this, whichever is less. */
        max_queued_lines: z.number().int().min(1000).default(500_000),
      })
      .strict()
      .prefault({}),
    spool: z
      .object({
        /** Disk the collector may use to keep data while InfluxDB is down; past it, agents keep theirs. */
        max_bytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(2 * 1024 * 1024 * 1024),
        /** Free space the spool leaves on its file system: bytes, "N%" of it, or auto (5 % or 256 MiB, whichever is smaller). Below it the spool takes nothing more and the collector stops acking what it cannot write to InfluxDB (the agents keep it). */
        min_free: z
          .union([z.literal('auto'), z.number().int().min(0), z.string().regex(/^(100|\d{1,2}(\.\d+)?)%$/, 'a share of the file system from "0%" to "100%"')])
          .default('auto'),
      })
      .strict()
      .prefault({}),
    status: z
      .object({
        /** Who may open the status page. No users: the page is disabled. */
        users: z.array(z.object({ name: z.string().min(1), password: secret.unwrap() }).strict()).default([]),
        session_ttl: duration({ min: 60_000 }).default(12 * 3_600_000),
        language: z.enum(['vi', 'en']).default('vi'),
        /** Time zone of the times the status page shows. */
        time_zone: timeZone.default('Asia/Ho_Chi_Minh'),
      })
      .strict()
      .prefault({}),
    /** Retention and roll-ups of the data in InfluxDB, kept in step by the collector (docs/operating/storage.md). */
    storage: z
      .object({
        /** Create and adjust retention policies, roll-up continuous queries and the back-fill; false if you manage InfluxDB by hand. */
        manage: z.boolean().default(true),
        /** How long every point is kept as sent (the raw policy). */
        raw: duration({ min: 3_600_000 }).default(30 * 86_400_000),
        /** How long the 5-minute roll-ups are kept. */
        rollup: duration({ min: 3_600_000 }).default(400 * 86_400_000),
        /** How long security events and alert changes are kept raw. */
        events: duration({ min: 3_600_000 }).default(1095 * 86_400_000),
        /** Once a day, roll-ups and the events copy are recomputed this far back (data that arrived late from agents' spools). */
        catch_up: duration({ min: 600_000 }).default(2 * 86_400_000),
        /** InfluxDB's data directory, when InfluxDB runs on this machine: its disk's use is shown on the status page and in self-metrics. */
        influx_data_dir: z.string().default('/var/lib/influxdb'),
      })
      .strict()
      .prefault({}),
    /** Defaults of `canh-collector report` (its --lang and --tz win). */
    report: z
      .object({
        /** Language of the monthly report. */
        language: z.enum(['vi', 'en']).default('vi'),
        /** Time zone of the report's month boundaries, days and printed times. */
        time_zone: timeZone.default('Asia/Ho_Chi_Minh'),
        /** The appendix of InfluxQL statements behind every figure (also `--appendix`). */
        appendix: z.boolean().default(false),
        /** Display names: { so-tttt: "Sở Thông tin và Truyền thông" }; agencies default to alerting.agencies. */
        agencies: z.record(z.string().min(1), z.string().min(1)).default({}),
        hosts: z.record(z.string().min(1), z.string().min(1)).default({}),
        /** The official document's header and signature block (docs/report.md). */
        header: z
          .object({
            /** Issuing body, one line each, the superior body first: ["UBND TỈNH X", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"]. */
            issuing_body: z.array(z.string().min(1)).default([]),
            national_name: z.string().default('CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM'),
            motto: z.string().default('Độc lập - Tự do - Hạnh phúc'),
            /** "Số: 15/BC-STTTT"; empty: "Số:      /BC-" left to fill in by hand. */
            document_number: z.string().default(''),
            /** Place of the date line: "Huế" gives "Huế, ngày 07 tháng 12 năm 2026". */
            place: z.string().default(''),
            /** "Nơi nhận" (recipients), one line each. */
            recipients: z.array(z.string().min(1)).default([]),
            signer_title: z.string().default(''),
            signer_name: z.string().default(''),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        max_message_bytes: z.number().int().min(1024).default(DEFAULT_MAX_MESSAGE_BYTES),
        /** Points per second one agent may send, averaged over a burst window. */
        max_points_per_second: z.number().int().min(1).default(20_000),
        hello_timeout: duration().default(10_000),
      })
      .strict()
      .prefault({}),
    liveness: z
      .object({
        ping_interval: duration({ min: 100 }).default(15_000),
        /** An agent silent (no pong, no message) this long is marked offline. */
        offline_after: duration({ min: 200 }).default(45_000),
      })
      .strict()
      .prefault({}),
    /** Where the shared state lives. Absent: SQLite in state_dir (one collector). */
    state: z
      .object({
        /** Several collectors share registry, central config, silences, alerts and the outbox here (docs/operating/postgres-state.md). `url`: postgres://user@host:5432/database; the password comes from `password_file`, never from the URL. */
        postgres: z
          .object({
            url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
            password_file: z.string().optional(),
            /** This collector's name in the cluster (/healthz, the status page); default: host name and a random suffix. */
            collector_id: z
              .string()
              .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (at most 64)')
              .optional(),
            /** Most state writes held while PostgreSQL is unreachable; past it the newest are dropped and counted. */
            max_queued_writes: z.number().int().min(100).default(100_000),
            /** How often a collector that is not the leader tries for the leader lock (and checks its session). */
            leader_poll: duration({ min: 100 }).default(1_000),
          })
          .strict(),
      })
      .strict()
      .optional(),
    /** Alert rules and e-mail (collector/src/alerts/README.md); no alerting when absent. */
    alerting: AlertingConfigSchema.optional(),
  })
  .strict();

export type CollectorConfig = z.infer<typeof CollectorConfigSchema> & {
  influxPassword?: string;
  /** influx.targets with their passwords read, or the single influx.url as target "default". */
  influxTargets?: InfluxTargetConfig[];
  statePassword?: string;
  alertingSecrets?: AlertingSecrets;
  statusUsers?: { name: string; password: string }[];
};

export class CollectorConfigError extends CanhError {
  constructor(problems: string[], file?: string) {
    super('CANH_ERR_CONFIG_INVALID', `${file ? `${file}: ` : ''}invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

function resolveSecret(s: { value?: string; file?: string; env?: string } | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (!s) return undefined;
  if (s.env) return env[s.env];
  if (s.file) return readFileSync(s.file, 'utf8').trim();
  return s.value;
}

export function parseCollectorConfig(doc: unknown, opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): CollectorConfig {
  const r = CollectorConfigSchema.safeParse(doc ?? {});
  if (!r.success) {
    throw new CollectorConfigError(issueLines(r.error), opts.file);
  }
  let influxPassword: string | undefined;
  try {
    influxPassword = resolveSecret(r.data.influx.password, opts.env ?? process.env);
  } catch (err) {
    throw new CollectorConfigError([`influx.password.file: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`], opts.file);
  }
  const influxTargets = resolveInfluxTargets(doc, r.data, influxPassword, opts);
  const alertingSecrets = r.data.alerting ? resolveAlertingSecrets(r.data.alerting, opts.env ?? process.env) : undefined;
  if (alertingSecrets && 'problems' in alertingSecrets) throw new CollectorConfigError(alertingSecrets.problems, opts.file);
  const statusUsers: { name: string; password: string }[] = [];
  for (const [i, u] of r.data.status.users.entries()) {
    let password: string | undefined;
    try {
      password = resolveSecret(u.password, opts.env ?? process.env);
    } catch (err) {
      throw new CollectorConfigError([`status.users[${i}].password.file: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`], opts.file);
    }
    if (!password) throw new CollectorConfigError([`status.users[${i}].password: empty (set value, file or env)`], opts.file);
    statusUsers.push({ name: u.name, password });
  }
  let statePassword: string | undefined;
  const pgFile = r.data.state?.postgres.password_file;
  if (pgFile) {
    try {
      statePassword = readFileSync(pgFile, 'utf8').trim();
    } catch (err) {
      throw new CollectorConfigError([`state.postgres.password_file: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`], opts.file);
    }
  }
  return { ...r.data, influxPassword, influxTargets, alertingSecrets, statusUsers, ...(statePassword !== undefined ? { statePassword } : {}) };
}

/** The InfluxDB targets: influx.targets (url, username and password then unset), or influx.url alone. */
function resolveInfluxTargets(
  doc: unknown,
  data: z.infer<typeof CollectorConfigSchema>,
  influxPassword: string | undefined,
  opts: { file?: string; env?: NodeJS.ProcessEnv },
): InfluxTargetConfig[] {
  const i = data.influx;
  if (!i.targets) {
    if (i.write_quorum !== undefined && i.write_quorum > 1)
      throw new CollectorConfigError([`influx.write_quorum: ${i.write_quorum} but only one InfluxDB (influx.url); list them under influx.targets`], opts.file);
    return [{ name: 'default', url: i.url, username: i.username, password: influxPassword }];
  }
  const raw = (doc as { influx?: Record<string, unknown> } | null)?.influx ?? {};
  const problems: string[] = [];
  for (const k of ['url', 'username', 'password']) if (raw[k] !== undefined) problems.push(`influx.${k}: set it on each of influx.targets instead (not both)`);
  const names = new Set<string>();
  i.targets.forEach((t, k) => {
    if (names.has(t.name)) problems.push(`influx.targets[${k}].name: "${t.name}" is used twice`);
    names.add(t.name);
  });
  if (i.write_quorum !== undefined && i.write_quorum > i.targets.length)
    problems.push(`influx.write_quorum: ${i.write_quorum} is more than the ${i.targets.length} targets`);
  const out = i.targets.map((t, k) => {
    try {
      return { name: t.name, url: t.url, username: t.username, password: resolveSecret(t.password, opts.env ?? process.env) };
    } catch (err) {
      problems.push(`influx.targets[${k}].password.file: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return { name: t.name, url: t.url };
    }
  });
  if (problems.length) throw new CollectorConfigError(problems, opts.file);
  return out;
}

export function loadCollectorConfig(file: string | undefined, env?: NodeJS.ProcessEnv): CollectorConfig {
  if (!file) return parseCollectorConfig({}, { env });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CanhError('CANH_ERR_CONFIG_UNREADABLE', `cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new CollectorConfigError([`${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${err.message.split('\n')[0]}`], file);
    }
    throw err;
  }
  return parseCollectorConfig(doc, { file, env });
}
