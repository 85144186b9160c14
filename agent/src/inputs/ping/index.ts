// The `ping` input: reachability and round-trip time of hosts by the system `ping`
// (iputils, BusyBox or Windows), with Telegraf's measurement and fields plus jitter.
// Every target gives one point per gather, also when it is down or its name is unknown.
// Where it can (session.ts), one ping per target is kept running between gathers.
import { z } from 'zod';
import { CanhError, duration } from '@canh/core';
import { defineInput, type InputContext } from '../types.ts';
import { parsePing, pingFields, RESULT } from './parse.ts';
import { PingSession, sessionStartAt } from './session.ts';

// A host name, IPv4 or IPv6 address (with %zone). Never starting with "-": the target is
// one argument of ping, and must not be read as an option.
const target = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9_.:%][A-Za-z0-9_.:%-]*$/, 'not a host name or address');

export const config = z
  .object({
    /** Hosts to ping (Telegraf's name for them). */
    urls: z.array(target).min(1),
    /** Echo requests sent per target and gather (ping -c / -n), whatever comes back. */
    count: z.number().int().min(1).max(100).default(1),
    /** Wait between echo requests (ping -i); not on Windows. Non-root iputils needs >= 200ms. */
    ping_interval: duration({ min: 1 }).default(1000),
    /** Wait for each reply (ping -W; Windows -w). */
    timeout: duration({ min: 1 }).default(1000),
    /**
     * Interrupt ping (SIGINT; its summary still counts every echo that left) after this
     * long whatever happened; 0 means only when `count` echoes and `timeout` are over.
     */
    deadline: duration().default(10_000),
    /** Payload bytes (ping -s / -l); 16 carries the timestamp iputils needs for RTTs. */
    size: z.number().int().min(16).max(65_500).default(16),
    /** Interface or source address to send from (ping -I). */
    interface: z.string().min(1).optional(),
    /** Force IPv4 (-4) or IPv6 (-6); neither means whatever the name resolves to. */
    ipv4: z.boolean().default(false),
    ipv6: z.boolean().default(false),
    /** The ping program. */
    binary: z.string().min(1).default('ping'),
    /** Arguments before ping's own, for wrappers: binary "ip", binary_args [netns, exec, lan1, ping]. */
    binary_args: z.array(z.string()).default([]),
    /** Replace the arguments Canh builds (the target is still appended), as Telegraf's `arguments`. */
    arguments: z.array(z.string()).default([]),
    /** Targets pinged at the same time. */
    concurrency: z.number().int().min(1).max(256).default(16),
    /**
     * Keep one ping running per target between gathers instead of starting one each
     * time (Linux iputils, count 1, interval >= 2s, timeout <= interval/4, no `arguments`).
     */
    keep_running: z.boolean().default(true),
  })
  .strict()
  .refine((c) => !(c.ipv4 && c.ipv6), { message: 'set ipv4 or ipv6, not both', path: ['ipv6'] });

export type PingConfig = z.infer<typeof config>;

const secs = (ms: number) => String(Math.max(ms, 1) / 1000);

/** The command line for one target, for iputils/BusyBox or Windows `ping`. */
export function pingArgs(c: PingConfig, url: string, platform: NodeJS.Platform = process.platform): string[] {
  const args = [...c.binary_args];
  if (c.arguments.length > 0) return [...args, ...c.arguments, url];
  if (platform === 'win32') {
    args.push('-n', String(c.count), '-w', String(c.timeout), '-l', String(c.size));
  } else {
    // -c without -w: exactly `count` echo requests, then -W for the last reply. (With -w,
    // iputils keeps sending until `count` replies came back, which biases loss low and
    // sends more than asked.) The deadline is the agent's (execTimeout), by SIGINT.
    args.push('-c', String(c.count), '-n', '-s', String(c.size), '-i', secs(c.ping_interval), '-W', secs(c.timeout));
    if (c.interface) args.push('-I', c.interface);
  }
  if (c.ipv4) args.push('-4');
  if (c.ipv6) args.push('-6');
  args.push(url);
  return args;
}

/** Slack for name resolution and start-up on top of the echoes' own time. */
const START_SLACK = 5000;
/** After SIGINT, how long ping has to print its summary before SIGKILL. */
export const SUMMARY_GRACE = 2000;

/**
 * When the agent interrupts ping (SIGINT, which makes iputils print its summary of what
 * it sent so far): at `deadline`, or when `count` echoes and the wait for the last reply
 * should long be over, whichever comes first.
 */
export function execTimeout(c: PingConfig): number {
  const natural = (c.count - 1) * c.ping_interval + c.timeout + START_SLACK;
  return c.deadline > 0 ? Math.min(c.deadline, natural) : natural;
}

/** Arguments of a ping kept running: one echo per interval, timestamps (-D), and -O's line for each echo left unanswered. */
export function keptArgs(c: PingConfig, url: string, intervalMs: number): string[] {
  const args = [...c.binary_args, '-n', '-D', '-O', '-s', String(c.size), '-i', secs(intervalMs)];
  if (c.interface) args.push('-I', c.interface);
  if (c.ipv4) args.push('-4');
  if (c.ipv6) args.push('-6');
  args.push(url);
  return args;
}

/** The gather interval when ping can be kept running for it, else undefined. */
export function keptInterval(c: PingConfig, ctx: InputContext, platform: NodeJS.Platform = process.platform): number | undefined {
  const interval = ctx.intervalMs;
  if (!c.keep_running || !interval || !ctx.startProcess || platform === 'win32') return undefined;
  if (c.count !== 1 || c.arguments.length > 0 || interval < 2000 || c.timeout > interval / 4) return undefined;
  return interval;
}

async function pingOne(c: PingConfig, ctx: InputContext, url: string) {
  const res = await ctx.exec(c.binary, pingArgs(c, url), { timeoutMs: execTimeout(c), graceMs: SUMMARY_GRACE });
  const parsed = parsePing(`${res.stdout}\n${res.stderr}`);
  const point = pingFields(parsed, res.code);
  if (res.code === null && !res.timedOut) {
    const err = new CanhError(
      'CANH_ERR_PING_EXEC',
      `cannot run "${c.binary}" (${res.stderr.trim()}): install iputils-ping or set "binary" to the ping program`,
    );
    ctx.log.error({ err, url }, 'ping failed');
  } else if (point.resultCode !== RESULT.success) {
    ctx.log.debug({ url, code: res.code, timedOut: res.timedOut, error: parsed.error }, 'ping got no reply');
  }
  // Only an iputils ping that got as far as sending is worth keeping running.
  return { point, keepable: parsed.format === 'iputils' && (parsed.transmitted ?? 0) > 0 };
}

/**
 * The `-i` to give the next kept ping so that it sends once per interval: the last one's
 * `-i` scaled by how much its echoes overshot (or undershot) the interval. Bounded, so a
 * disturbed measurement cannot set something absurd.
 */
export function correctedPingInterval(requested: number, observed: number | undefined, interval: number): number {
  if (observed === undefined || observed <= 0) return requested;
  return Math.round(Math.min(interval * 1.02, Math.max(interval * 0.9, (requested * interval) / observed)));
}

/** Echo periods the first session is timed over before its -i is corrected. */
const CALIBRATION_PERIODS = 4;
/** A first session that would leave the step within this many gathers is corrected at once. */
const CALIBRATE_BELOW = 100;

interface Kept {
  session?: PingSession;
  timer?: NodeJS.Timeout;
  /** The `-i` of the next session, ms (corrected from the last one's timing). */
  pingInterval?: number;
}

export default defineInput({
  name: 'ping',
  description: 'Reachability, packet loss, round-trip time and jitter by the system ping (Telegraf ping)',
  enabledByDefault: false,
  config,
  create(c, ctx) {
    const interval = keptInterval(c, ctx);
    const kept = new Map<string, Kept>();
    let stopped = false;
    // Some time after the gather's tick, so the echoes leave inside the interval (session.ts).
    const startLater = (url: string, k: Kept, gatherAt: number) => {
      if (!interval) return;
      const at = sessionStartAt(gatherAt, {
        intervalMs: interval,
        timeoutMs: c.timeout,
        corrected: (k.pingInterval ?? interval) !== interval,
        aligned: ctx.alignedGathers === true,
      });
      k.timer = setTimeout(
        () => {
          k.timer = undefined;
          if (stopped) return;
          k.session = new PingSession({
            cmd: c.binary,
            args: keptArgs(c, url, k.pingInterval ?? interval),
            intervalMs: interval,
            timeoutMs: c.timeout,
            start: ctx.startProcess!,
            now: ctx.now,
          });
          k.session.start();
        },
        Math.max(0, at - ctx.now()),
      );
      k.timer.unref();
    };
    return {
      async gather(acc) {
        const began = ctx.now();
        const queue: string[] = [];
        for (const url of new Set(c.urls)) {
          const k = kept.get(url);
          if (!k?.session) {
            queue.push(url);
            continue;
          }
          const now = ctx.now();
          const r = k.session.report(now);
          const p = pingFields(r.output, r.code);
          if (p.resultCode !== RESULT.success) ctx.log.debug({ url, ended: r.ended, error: r.output.error }, 'ping got no reply');
          acc.addPoint('ping', { url }, p.fields, { int: p.int });
          // The first session runs with -i = the interval, which iputils overshoots (10.24 s
          // for 10 s here): once its period is known, and unless it would stay in step for
          // a long time anyway, it is replaced at once by one with a corrected -i, rather
          // than when its echoes reach the edge of the interval minutes later. So the one
          // restart every agent needs comes in its first minute, with its start-up.
          const calibrate = k.pingInterval === undefined && k.session.gathersLeftInStep(now, CALIBRATION_PERIODS) < CALIBRATE_BELOW;
          if (r.ended || !k.session.inStep(now) || calibrate) {
            // Ended, or its echoes drifted towards a gather: a new one (placed by
            // sessionStartAt), its -i corrected by how far this one's echoes were apart.
            if (interval) k.pingInterval = correctedPingInterval(k.pingInterval ?? interval, k.session.observedPeriod(), interval);
            k.session.stop();
            k.session = undefined;
            startLater(url, k, began);
          }
        }
        const worker = async () => {
          for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
            const { point, keepable } = await pingOne(c, ctx, url);
            acc.addPoint('ping', { url }, point.fields, { int: point.int });
            if (interval && keepable && !stopped) {
              const k = kept.get(url) ?? {};
              kept.set(url, k);
              if (!k.timer) startLater(url, k, began);
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(c.concurrency, queue.length) }, worker));
      },
      stop() {
        stopped = true;
        for (const k of kept.values()) {
          if (k.timer) clearTimeout(k.timer);
          k.session?.stop();
        }
        kept.clear();
      },
    };
  },
});
