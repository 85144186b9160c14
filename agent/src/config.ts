// The agent's configuration: one YAML file, validated in full before anything starts.
// Every error names its path (`inputs[2].targets[0]: ...`); defaults live in the schemas.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@canh/protocol';
import { CanhError, duration, issueLines } from '@canh/core';
import { inputs as inputList } from './inputs/index.ts';
import { detectors as detectorList } from './detectors/index.ts';
import type { InputDefinition } from './inputs/types.ts';

const tagMap = z.record(z.string().min(1), z.string());

const collectorUrl = z
  .string()
  .url()
  .refine((u) => /^wss?:\/\//.test(u), 'must start with ws:// or wss://');

export const CollectorSchema = z
  .object({
    /** ws:// or wss:// URL of the collector's agent endpoint (or a load balancer in front of several). */
    url: collectorUrl.optional(),
    /** Several collectors serving the same agents (docs/operating/ha.md): the agent sticks to one and, when it fails, tries the next with jittered backoff. Set url or urls, not both. */
    urls: z.array(collectorUrl).min(1).max(16).optional(),
    /** The agent's token. Prefer token_file or CANH_AGENT_TOKEN over writing it here. */
    token: z.string().min(1).optional(),
    token_file: z.string().min(1).optional(),
    /** Extra CA certificate (PEM file) to trust for wss://. */
    ca_file: z.string().optional(),
    /** Skip TLS verification: for tests only, never in production. */
    insecure_skip_verify: z.boolean().default(false),
    /** Ping a collector silent this long, and reconnect when the ping goes unanswered as long; checked at each agent.interval tick when that is shorter, and then the connection is read at those ticks only (docs/delivery.md). */
    ping_interval: duration({ min: 1000 }).default(15_000),
    reconnect_min: duration({ min: 100 }).default(1000),
    reconnect_max: duration({ min: 1000 }).default(60_000),
    /** Frames sent before waiting for acks (a backlog beyond them leaves merged, up to batch_size points a frame). */
    max_in_flight: z.number().int().min(1).max(1000).default(8),
  })
  .strict();

export const AgentSchema = z
  .object({
    /** Default interval for inputs that do not set their own. */
    interval: duration({ min: 100 }).default(10_000),
    /** Align gathers to the interval (10s → :00, :10, :20...), as Telegraf's round_interval. */
    round_interval: z.boolean().default(true),
    /** Flush a batch at least this often... */
    flush_interval: duration({ min: 50 }).default(1000),
    /** ...or as soon as it holds this many points. */
    batch_size: z.number().int().min(1).max(50_000).default(1000),
    hostname: z
      .string()
      .min(1)
      .default(() => hostname()),
    state_dir: z.string().min(1).default('/var/lib/canh-agent'),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    /** Largest message the collector accepts; batches are split below it. */
    max_message_bytes: z.number().int().min(1024).default(DEFAULT_MAX_MESSAGE_BYTES),
    /** Bound of the unacknowledged-batch queue (the spool). Oldest data goes first when full. */
    spool_max_bytes: z
      .number()
      .int()
      .min(64 * 1024)
      .default(256 * 1024 * 1024),
    /** fsync policy of the on-disk spool: every batch before it is sent, batches still unacked after spool_fsync_interval (docs/delivery.md), or none. */
    spool_fsync: z.enum(['always', 'interval', 'never']).default('interval'),
    /** How long a batch may stay unacked and unsynced under spool_fsync: interval. */
    spool_fsync_interval: duration().default(1000),
    /** Free space the spool leaves on its file system: bytes, "N%" of it, or auto (5 % or 256 MiB, whichever is smaller). Below it, new batches are dropped and counted (dropped_points_disk_full) until space returns. */
    spool_min_free: z
      .union([z.literal('auto'), z.number().int().min(0), z.string().regex(/^(100|\d{1,2}(\.\d+)?)%$/, 'a share of the file system from "0%" to "100%"')])
      .default('auto'),
    /** Accept inputs and detectors pushed by the collector (they replace the local lists). */
    central_config: z.boolean().default(true),
    /** Delivery audit: append every spooled point's key (name, tags, time) as JSON lines. Debugging aid. */
    audit_file: z.string().min(1).optional(),
    /** Windows only: the performance-counter reader behind the host inputs (agent/src/inputs/perf-counters/README.md). */
    windows_counters: z
      .object({
        /** The program kept running to read the counters (typeperf.exe of System32). */
        typeperf: z.string().min(1).default('typeperf'),
        /** PowerShell, run once at start-up to read the counter names of the host's language from the registry. */
        powershell: z.string().min(1).default('powershell'),
        /** Replace the running typeperf this often, so adapters and disks that appeared since are read; 0 = never. */
        refresh_interval: duration().default(3_600_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const InputEntryBase = z.object({
  type: z.string().min(1),
  interval: duration({ min: 100 }).optional(),
  /** Extra tags on every point of this input (the collector still owns host/agency/site). */
  tags: tagMap.optional(),
});

export interface InputEntry {
  type: string;
  interval?: number;
  tags?: Record<string, string>;
  options: Record<string, unknown>;
  definition: InputDefinition;
}

export interface AgentConfig {
  /** `collectorUrls`: url or urls, as one list (never empty once parsed). */
  collector: z.infer<typeof CollectorSchema> & { resolvedToken?: string; collectorUrls: string[] };
  agent: z.infer<typeof AgentSchema>;
  inputs: InputEntry[];
  detectors: InputEntry[];
}

export class ConfigError extends CanhError {
  readonly problems: string[];
  constructor(problems: string[], file?: string) {
    super('CANH_ERR_CONFIG_INVALID', `${file ? `${file}: ` : ''}invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

function parseEntries(raw: unknown, key: 'inputs' | 'detectors', find: (n: string) => InputDefinition | undefined, problems: string[]): InputEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${key}: must be a list (each entry "- type: <name>")`);
    return [];
  }
  const out: InputEntry[] = [];
  raw.forEach((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`${key}[${i}]: must be a mapping with a "type"`);
      return;
    }
    const { type, interval, tags, ...options } = entry as Record<string, unknown>;
    const base = InputEntryBase.safeParse({ type, interval, tags });
    if (!base.success) {
      problems.push(...issueLines(base.error, [key, i]));
      return;
    }
    const def = find(base.data.type);
    if (!def) {
      const known = (key === 'inputs' ? inputList : detectorList).map((d) => d.name).join(', ');
      problems.push(`${key}[${i}].type: unknown ${key === 'inputs' ? 'input' : 'detector'} "${base.data.type}" (known: ${known || 'none'})`);
      return;
    }
    const parsed = def.config.strict().safeParse(options);
    if (!parsed.success) {
      problems.push(...issueLines(parsed.error, [key, i]));
      return;
    }
    out.push({
      type: def.name,
      interval: base.data.interval,
      tags: base.data.tags,
      options: parsed.data as Record<string, unknown>,
      definition: def,
    });
  });
  return out;
}

/** What the collector may set centrally: the inputs, the detectors and how often they run. */
const CentralAgentSchema = z
  .object({
    interval: duration({ min: 100 }).optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).optional(),
  })
  .strict();

export interface CentralConfig {
  interval?: number;
  log_level?: string;
  inputs?: InputEntry[];
  detectors?: InputEntry[];
}

/**
 * Validate a centrally managed config (pushed by the collector). Its `inputs` and
 * `detectors` lists replace the local ones; `agent` may only set interval and log_level
 * (the host keeps its identity, state folder and spool). Throws ConfigError.
 */
export function parseCentralConfig(doc: unknown): CentralConfig {
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new ConfigError(['(root): central config must be a mapping with inputs, detectors and/or agent']);
  const { agent, inputs, detectors, ...rest } = doc as Record<string, unknown>;
  for (const k of Object.keys(rest)) problems.push(`${k}: unknown key (central config holds agent, inputs, detectors)`);
  const a = CentralAgentSchema.safeParse(agent ?? {});
  if (!a.success) problems.push(...issueLines(a.error, ['agent']));
  const out: CentralConfig = {};
  if (inputs !== undefined) out.inputs = parseEntries(inputs, 'inputs', (n) => inputList.find((d) => d.name === n), problems);
  if (detectors !== undefined) out.detectors = parseEntries(detectors, 'detectors', (n) => detectorList.find((d) => d.name === n), problems);
  if (problems.length || !a.success) throw new ConfigError(problems);
  if (a.data.interval !== undefined) out.interval = a.data.interval;
  if (a.data.log_level !== undefined) out.log_level = a.data.log_level;
  return out;
}

/** Validate a parsed YAML document. Throws ConfigError listing every problem found. */
export function parseConfig(doc: unknown, opts: { file?: string; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform } = {}): AgentConfig {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError(['(root): the file must be a YAML mapping with "collector", "agent" and "inputs"'], opts.file);
  }
  const { collector, agent, inputs, detectors, ...rest } = doc as Record<string, unknown>;
  for (const k of Object.keys(rest)) problems.push(`${k}: unknown key (expected collector, agent, inputs, detectors)`);

  const c = CollectorSchema.safeParse(collector ?? {});
  if (!c.success) problems.push(...issueLines(c.error, ['collector']));
  const a = AgentSchema.safeParse(agent ?? {});
  if (!a.success) problems.push(...issueLines(a.error, ['agent']));

  // No inputs listed at all: the host inputs that are on by default on this platform, like
  // Telegraf's sample config (on Windows: all but kernel, which reads Linux's /proc/stat).
  const inputEntries =
    inputs === undefined
      ? parseEntries(
          inputList.filter((d) => d.enabledByDefault && (!d.platforms || d.platforms.includes(platform))).map((d) => ({ type: d.name })),
          'inputs',
          (n) => inputList.find((d) => d.name === n),
          problems,
        )
      : parseEntries(inputs, 'inputs', (n) => inputList.find((d) => d.name === n), problems);
  const detectorEntries = parseEntries(detectors, 'detectors', (n) => detectorList.find((d) => d.name === n), problems);

  let resolvedToken: string | undefined;
  if (c.success) {
    const cc = c.data;
    if (cc.token && cc.token_file) problems.push('collector: set token or token_file, not both');
    if (env.CANH_AGENT_TOKEN) resolvedToken = env.CANH_AGENT_TOKEN.trim();
    else if (cc.token) resolvedToken = cc.token;
    else if (cc.token_file) {
      try {
        resolvedToken = readFileSync(cc.token_file, 'utf8').trim();
        if (!resolvedToken) problems.push(`collector.token_file: ${cc.token_file} is empty`);
      } catch (err) {
        problems.push(`collector.token_file: cannot read ${cc.token_file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    } else problems.push('collector: no token (set collector.token_file, collector.token, or CANH_AGENT_TOKEN)');
    if (cc.reconnect_min > cc.reconnect_max) problems.push('collector.reconnect_min: must not exceed reconnect_max');
    if (cc.url && cc.urls) problems.push('collector: set url or urls, not both');
    else if (!cc.url && !cc.urls) problems.push('collector.url: required (or collector.urls, a list of collectors)');
    else if (cc.urls && new Set(cc.urls).size !== cc.urls.length) problems.push('collector.urls: lists a collector twice');
  }
  if (problems.length || !c.success || !a.success) throw new ConfigError(problems, opts.file);
  return {
    collector: { ...c.data, resolvedToken, collectorUrls: c.data.urls ?? [c.data.url!] },
    agent: a.data,
    inputs: inputEntries,
    detectors: detectorEntries,
  };
}

export function parseConfigText(text: string, opts: { file?: string; env?: NodeJS.ProcessEnv; platform?: NodeJS.Platform } = {}): AgentConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new ConfigError([`${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${err.message.split('\n')[0]}`], opts.file);
    }
    throw err;
  }
  return parseConfig(doc, opts);
}

export function loadConfig(file: string, env?: NodeJS.ProcessEnv): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CanhError('CANH_ERR_CONFIG_UNREADABLE', `cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseConfigText(text, { file, env });
}
