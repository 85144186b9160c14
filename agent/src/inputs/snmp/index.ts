// The `snmp` input: polls switches and routers (SNMP v2c or v3) for the IF-MIB
// interface table with rates, the system scalars and configured extra OIDs. Devices are
// polled concurrently, each with its own timeout, so a dead one never delays the others.
import { z } from 'zod';
import { CanhError, duration } from '@canh/core';
import { defineInput, type Accumulator, type InputContext } from '../types.ts';
import { normalizeOid } from '../snmp-shared/varbind.ts';
import { availability, deviceTags, pollDevice, type DeviceState, type PollOutcome, type PollSpec } from './poll.ts';
import { createClient, ERROR_CODES, SnmpPollError, type Credentials, type SnmpClient } from './session.ts';

const oid = z.string().transform((s, ctx) => {
  const n = normalizeOid(s);
  if (!n) {
    ctx.addIssue({ code: 'custom', message: `not a numeric OID: "${s}" (write e.g. 1.3.6.1.2.1.1.5.0; MIB names are not resolved)` });
    return z.NEVER;
  }
  return n;
});
const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, 'letters, digits, "_", ".", "-", starting with a letter or "_"');
const secret = z.string().min(1).optional();

const Device = z
  .object({
    /** Address or name of the device. */
    host: z.string().min(1),
    /**
     * What the device is called in the `device` tag and in logs; default `host`, or
     * `host:port` when the port is not 161. Unique within the input.
     */
    name: z
      .string()
      .regex(/^[\p{L}\p{N}_.:@/-][\p{L}\p{N} _.:@/-]{0,127}$/u, 'letters, digits, space, "_", ".", ":", "@", "/", "-" (at most 128)')
      .optional(),
    port: z.number().int().min(1).max(65535).default(161),
    /** "2c" or 3 (YAML reads `3` as a number). */
    version: z
      .union([z.literal('2c'), z.literal('3'), z.literal(3)])
      .default('2c')
      .transform((v) => (v === '2c' ? '2c' : '3') as '2c' | '3'),
    community: secret,
    /** File holding the community, so it stays out of the config file. */
    community_file: secret,
    user: z.string().min(1).optional(),
    security_level: z.enum(['noAuthNoPriv', 'authNoPriv', 'authPriv']).default('authPriv'),
    auth_protocol: z.enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512']).default('sha'),
    auth_key: secret,
    auth_key_file: secret,
    /** aes256 is the Blumenthal key localisation (Net-SNMP); aes256c the Reeder one (Cisco). */
    priv_protocol: z.enum(['aes', 'aes256', 'aes256c', 'des']).default('aes'),
    priv_key: secret,
    priv_key_file: secret,
    /** Wait for one answer this long before retrying. */
    timeout: duration({ min: 100 }).default(5000),
    retries: z.number().int().min(0).max(10).default(1),
    /** GETBULK max-repetitions. */
    max_repetitions: z.number().int().min(1).max(100).default(10),
    /** Walk the IF-MIB interface table. */
    if_mib: z.boolean().default(true),
    /** Extra tags on this device's points. */
    tags: z.record(z.string().min(1), z.string()).default({}),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.version === '2c') {
      if (d.community && d.community_file) ctx.addIssue({ code: 'custom', message: 'set community or community_file, not both' });
      return;
    }
    if (!d.user) ctx.addIssue({ code: 'custom', path: ['user'], message: 'SNMPv3 needs a user' });
    const need = (key: 'auth_key' | 'priv_key') => {
      const inline = d[key];
      const file = d[`${key}_file`];
      if (!inline && !file) ctx.addIssue({ code: 'custom', path: [key], message: `security_level ${d.security_level} needs ${key} (or ${key}_file)` });
      if (inline && file) ctx.addIssue({ code: 'custom', path: [key], message: `set ${key} or ${key}_file, not both` });
      // Net-SNMP and RFC 3414 devices refuse pass phrases under 8 characters.
      if (inline && inline.length < 8) ctx.addIssue({ code: 'custom', path: [key], message: 'SNMPv3 pass phrases are at least 8 characters' });
    };
    if (d.security_level !== 'noAuthNoPriv') need('auth_key');
    if (d.security_level === 'authPriv') need('priv_key');
  });

type DeviceConfig = z.infer<typeof Device>;

/** The device's name: as configured, else its address, with the port when not the standard 161. */
export function deviceName(d: Pick<DeviceConfig, 'host' | 'port' | 'name'>): string {
  return d.name ?? (d.port === 161 ? d.host : `${d.host}:${d.port}`);
}

async function readSecret(ctx: InputContext, inline: string | undefined, file: string | undefined, what: string): Promise<string | undefined> {
  if (inline || !file) return inline;
  try {
    const v = (await ctx.readFile(file)).trim();
    if (v) return v;
  } catch {
    // reported below with the code
  }
  throw new SnmpPollError(
    'error',
    new CanhError('CANH_ERR_SNMP_SECRET_UNREADABLE', `cannot read ${what} from ${file}: the file must exist, be readable by the agent and not be empty`)
      .message,
  );
}

async function credentials(ctx: InputContext, d: DeviceConfig): Promise<Credentials> {
  return {
    version: d.version,
    community: (await readSecret(ctx, d.community, d.community_file, 'community')) ?? 'public',
    user: d.user,
    securityLevel: d.security_level,
    authProtocol: d.auth_protocol,
    authKey: await readSecret(ctx, d.auth_key, d.auth_key_file, 'auth_key'),
    privProtocol: d.priv_protocol,
    privKey: await readSecret(ctx, d.priv_key, d.priv_key_file, 'priv_key'),
  };
}

interface Device {
  config: DeviceConfig;
  label: string;
  spec: PollSpec;
  state: DeviceState;
  client?: SnmpClient;
  inflight?: Promise<void>;
  lastResult?: string;
}

export default defineInput({
  name: 'snmp',
  description: 'Switches and routers over SNMP v2c/v3: IF-MIB interface counters and rates, uptime, extra OIDs and tables',
  config: z
    .object({
      /** The devices to poll. */
      agents: z.array(Device).min(1),
      /** Extra scalar OIDs, stored as fields of the `snmp` measurement. */
      fields: z.array(z.object({ name: fieldName, oid }).strict()).default([]),
      /** Extra tables (numeric table OID): one point per row, columns as fields c<column>. */
      tables: z
        .array(
          z
            .object({
              name: fieldName,
              oid,
              index_tag: fieldName.default('index'),
            })
            .strict(),
        )
        .default([]),
      /** Most varbinds taken from one walk: a bound on what a misbehaving device can make us hold. */
      max_rows: z.number().int().min(1).max(1_000_000).default(20_000),
    })
    .strict()
    .superRefine((c, ctx) => {
      // The name is the device's identity in InfluxDB: two devices with one name would overwrite each other.
      const seen = new Map<string, number>();
      c.agents.forEach((d, i) => {
        const name = deviceName(d);
        const first = seen.get(name);
        if (first !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['agents', i, 'name'],
            message: `device name "${name}" is already used by agents[${first}]: set a distinct name`,
          });
        else seen.set(name, i);
      });
    }),
  create(config, ctx) {
    let stopped = false;
    const devices: Device[] = config.agents.map((d) => ({
      config: d,
      label: deviceName(d),
      spec: { agentHost: d.host, device: deviceName(d), tags: d.tags, ifMib: d.if_mib, fields: config.fields, tables: config.tables, maxRows: config.max_rows },
      state: { interfaces: new Map() },
    }));
    const gatherWaitMs = Math.max(...config.agents.map((d) => d.timeout));

    const poll = async (dev: Device, acc: Accumulator) => {
      const client = await clientOf(dev, acc, ctx);
      if (!client) return;
      const out = await pollDevice(client, dev.spec, dev.state, stopped ? silent : acc, ctx.now, ctx.mono ?? ctx.now);
      if (stopped) return;
      dev.state = out.state;
      noteResult(dev, client, out, ctx);
    };

    return {
      async gather(acc) {
        if (stopped) return;
        const started: Promise<void>[] = [];
        for (const dev of devices) {
          if (dev.inflight) {
            ctx.log.debug({ device: dev.label }, 'previous poll of this device still running; skipped');
            continue;
          }
          const p = poll(dev, acc).finally(() => (dev.inflight = undefined));
          dev.inflight = p;
          started.push(p);
        }
        // Wait for the devices that answer, but not for the dead ones: their polls finish
        // (and report) in the background, and only they are skipped next interval.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.all(started), new Promise<void>((r) => (timer = setTimeout(r, gatherWaitMs)))]);
        clearTimeout(timer);
      },
      async stop() {
        stopped = true;
        for (const dev of devices) {
          dev.client?.close();
          dev.client = undefined;
        }
        await Promise.allSettled(devices.map((d) => d.inflight));
      },
    };
  },
});

const silent: Accumulator = { addPoint() {}, addEvent() {} };

/** The device's session, opened on first use; undefined (and an `snmp` point saying so) when its secrets cannot be read. */
async function clientOf(dev: Device, acc: Accumulator, ctx: InputContext): Promise<SnmpClient | undefined> {
  try {
    dev.client ??= createClient(
      {
        host: dev.config.host,
        port: dev.config.port,
        timeoutMs: dev.config.timeout,
        retries: dev.config.retries,
        maxRepetitions: dev.config.max_repetitions,
      },
      await credentials(ctx, dev.config),
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    acc.addPoint('snmp', deviceTags(dev.spec), availability({ result: 'error', result_code: 3 }, dev.state), {
      int: ['result_code', 'up', 'last_success'],
    });
    if (dev.lastResult !== message)
      ctx.log.error({ device: dev.label, address: `${dev.config.host}:${dev.config.port}`, code: 'CANH_ERR_SNMP_SECRET_UNREADABLE' }, message);
    dev.lastResult = message;
    return undefined;
  }
  return dev.client;
}

/** After a poll: a failed one drops its session; a change of result is logged once. */
function noteResult(dev: Device, client: SnmpClient, out: PollOutcome, ctx: InputContext): void {
  if (out.result !== 'success') {
    // A fresh session next time: v3 engine ids and boots change when a device restarts.
    client.close();
    if (dev.client === client) dev.client = undefined;
    // Log on change only, so a device down all night does not fill the log.
    if (dev.lastResult !== out.result)
      ctx.log.warn(
        {
          device: dev.label,
          address: `${dev.config.host}:${dev.config.port}`,
          result: out.result,
          code: ERROR_CODES[out.result],
          version: dev.config.version,
        },
        `SNMP poll of ${dev.label} failed: ${out.message ?? out.result}${out.result === 'timeout' && dev.config.version === '3' ? ' (with SNMPv3 a wrong priv_key also shows as no answer: the device cannot decrypt the request and drops it)' : ''}`,
      );
  } else if (dev.lastResult && dev.lastResult !== 'success') {
    ctx.log.info({ device: dev.label }, `SNMP device ${dev.label} answers again`);
  }
  dev.lastResult = out.result;
}
