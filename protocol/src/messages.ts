// Canh wire protocol v1: every message that crosses the agent–collector WebSocket.
// The schemas are the contract; TypeScript types are inferred from them so the two
// sides cannot drift. Messages are JSON text frames with a `type` discriminator.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

/** Largest frame a collector accepts by default (bytes). Agents size batches below it. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Largest central config (as JSON, bytes) `canh-collector config push` stores. */
export const MAX_CENTRAL_CONFIG_BYTES = 1024 * 1024;

/**
 * Largest frame an agent reads (its socket's maxPayload): the biggest a collector sends is
 * a welcome or config carrying a central config; the rest of such a frame (identity, type,
 * version) and every other collector message (ack, error) fit in the margin.
 */
export const MAX_COLLECTOR_FRAME_BYTES = MAX_CENTRAL_CONFIG_BYTES + 64 * 1024;

const name = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !/[\n\r]/.test(s), 'must not contain line breaks');

export const FieldValueSchema = z.union([z.number().finite(), z.string().max(65_536), z.boolean()]);
export type FieldValue = z.infer<typeof FieldValueSchema>;

/**
 * One measured value set, stamped with the time it was measured (milliseconds since the
 * Unix epoch). `int` lists the fields that are integers: JSON cannot tell 2 from 2.0, and
 * InfluxDB refuses a field whose type changes, so the agent says which is which.
 */
export const PointSchema = z
  .object({
    name,
    time: z.number().int().nonnegative(),
    tags: z.record(name, z.string().max(1024)).default({}),
    fields: z.record(name, FieldValueSchema).refine((f) => Object.keys(f).length > 0, 'a point needs at least one field'),
    int: z.array(name).optional(),
  })
  .strict();
export type Point = z.infer<typeof PointSchema>;

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export const SeveritySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof SeveritySchema>;

/** A security event: one shape for every detector (see docs/events.md). */
export const EventSchema = z
  .object({
    time: z.number().int().nonnegative(),
    detector: name,
    type: name,
    severity: SeveritySchema,
    message: z.string().max(4096),
    /** Evidence: source IP, user, path, port, MAC... High-cardinality, stored as fields. */
    evidence: z.record(name, FieldValueSchema).default({}),
    /** How many occurrences this event stands for (aggregated events). */
    count: z.number().int().positive().default(1),
    /** MITRE ATT&CK technique id, e.g. T1110.001. */
    mitre: z
      .string()
      .regex(/^T\d{4}(\.\d{3})?$/)
      .optional(),
  })
  .strict();
export type SecurityEvent = z.infer<typeof EventSchema>;
export type SecurityEventInput = z.input<typeof EventSchema>;

export const HelloSchema = z
  .object({
    type: z.literal('hello'),
    protocol: z.number().int().positive(),
    agent_version: z.string().max(64),
    hostname: z.string().max(256),
    os: z.string().max(128),
    /** Batches waiting in the agent's spool when it connected. */
    spool_batches: z.number().int().nonnegative().default(0),
    /** Points the agent has had to drop since it started (spool full). */
    dropped_points: z.number().int().nonnegative().default(0),
    config_version: z.number().int().nonnegative().optional(),
  })
  .strict();

export const WelcomeSchema = z
  .object({
    type: z.literal('welcome'),
    protocol: z.number().int().positive(),
    server_time: z.number().int(),
    agent: z.object({ id: z.string(), host: z.string(), agency: z.string(), site: z.string() }).strict(),
    config_version: z.number().int().nonnegative().optional(),
    config: z.unknown().optional(),
  })
  .strict();

export const MAX_POINTS_PER_BATCH = 50_000;

/** Most fields one series of the `rows` form may have. */
export const MAX_SERIES_FIELDS = 1024;

/**
 * A series of the `rows` form: what every row that points at it shares (measurement,
 * tags, field names in order, which fields are integers).
 */
export const SeriesSchema = z
  .object({
    name,
    tags: z.record(name, z.string().max(1024)).default({}),
    fields: z
      .array(name)
      .min(1)
      .max(MAX_SERIES_FIELDS)
      .refine((f) => new Set(f).size === f.length, 'field names must not repeat'),
    int: z.array(name).optional(),
  })
  .strict();
export type Series = z.infer<typeof SeriesSchema>;

/**
 * One point of the `rows` form: `[series index, time, value of each of the series'
 * fields in order]`, `null` for a field with no value this time.
 */
export const RowSchema = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()], FieldValueSchema.nullable());
export type Row = z.infer<typeof RowSchema>;

/**
 * `points` and `rows` are two spellings of the same data and a batch may carry both.
 * In `rows`, names, tags and field names are written once per series instead of once
 * per point: a batch of several cycles is about 2.5 times smaller and the collector
 * reads it in about half the time (docs/benchmarks.md).
 */
export const BatchSchema = z
  .object({
    type: z.literal('batch'),
    /** Sequence number, increasing per agent; the ack names it. */
    seq: z.number().int().nonnegative(),
    points: z.array(PointSchema).max(MAX_POINTS_PER_BATCH).default([]),
    series: z.array(SeriesSchema).max(MAX_POINTS_PER_BATCH).default([]),
    rows: z.array(RowSchema).max(MAX_POINTS_PER_BATCH).default([]),
    events: z.array(EventSchema).max(MAX_POINTS_PER_BATCH).default([]),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.points.length + b.rows.length > MAX_POINTS_PER_BATCH)
      ctx.addIssue({ code: 'custom', path: ['rows'], message: `points and rows together exceed ${MAX_POINTS_PER_BATCH}` });
    for (let i = 0; i < b.rows.length; i++) {
      const problem = rowProblem(b.rows[i]!, b.series);
      if (problem) ctx.addIssue({ code: 'custom', path: ['rows', i], message: problem });
    }
  });

/** Why a row does not fit the batch's series, or undefined when it does. */
export function rowProblem(row: readonly unknown[], series: readonly { fields: readonly string[] }[]): string | undefined {
  const s = series[row[0] as number];
  if (s === undefined) return `series ${String(row[0])} does not exist (the batch has ${series.length})`;
  if (row.length !== s.fields.length + 2) return `has ${row.length - 2} values for the ${s.fields.length} fields of series ${String(row[0])}`;
  for (let i = 2; i < row.length; i++) if (row[i] !== null) return undefined;
  return 'a row needs at least one value';
}

export const AckSchema = z.object({ type: z.literal('ack'), seq: z.number().int().nonnegative() }).strict();

export const ErrorMessageSchema = z
  .object({
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    seq: z.number().int().nonnegative().optional(),
  })
  .strict();

export const ConfigMessageSchema = z.object({ type: z.literal('config'), version: z.number().int().nonnegative(), config: z.unknown() }).strict();

export const ConfigResultSchema = z
  .object({
    type: z.literal('config_result'),
    version: z.number().int().nonnegative(),
    errors: z.array(z.string()).default([]),
  })
  .strict();

export const AgentMessageSchema = z.discriminatedUnion('type', [HelloSchema, BatchSchema, ConfigResultSchema]);
export const CollectorMessageSchema = z.discriminatedUnion('type', [WelcomeSchema, AckSchema, ErrorMessageSchema, ConfigMessageSchema]);

export type Hello = z.infer<typeof HelloSchema>;
export type Welcome = z.infer<typeof WelcomeSchema>;
export type Batch = z.infer<typeof BatchSchema>;
export type BatchInput = z.input<typeof BatchSchema>;
export type Ack = z.infer<typeof AckSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
export type ConfigMessage = z.infer<typeof ConfigMessageSchema>;
export type ConfigResult = z.infer<typeof ConfigResultSchema>;
export type AgentMessage = z.infer<typeof AgentMessageSchema>;
export type CollectorMessage = z.infer<typeof CollectorMessageSchema>;
