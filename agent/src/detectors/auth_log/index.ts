// auth_log: security events from the Linux authentication log (/var/log/auth.log,
// /var/log/secure) or the systemd journal: brute force (and its success), logins of
// privileged users outside working hours, sudo/su refusals, account and group changes.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { Logger } from 'pino';
import { duration } from '@canh/core/duration';
import { defineInput, type Accumulator } from '../../inputs/types.ts';
import { LogFollower, SAFETY_MS } from '../tail.ts';
import type { AuthEvent } from '../auth/aggregate.ts';
import { JournalFollower } from './journal.ts';
import { aggregationShape } from '../auth/options.ts';
import { MODES } from './fields.ts';
import { emit } from '../auth/emit.ts';
import { AuthPipeline, type LineResult } from './pipeline.ts';
import { UnparsedSampler } from './unparsed.ts';
import { HeldTicker } from './ticker.ts';

export const DEFAULT_PATHS = ['/var/log/auth.log', '/var/log/secure'];

const config = z.object({
  /** Where to read: a log file, or the systemd journal through journalctl. */
  source: z.enum(['file', 'journal']).default('file'),
  /** The log file; the first of /var/log/auth.log and /var/log/secure that exists when unset. */
  path: z
    .string()
    .min(1)
    .refine((p) => p.startsWith('/'), 'must be an absolute path')
    .optional(),
  /** On the very first run, read the existing log instead of starting at its end. */
  from_beginning: z.boolean().default(false),
  poll_interval: duration({ min: 50 }).default(1000),
  journalctl: z.string().min(1).default('journalctl'),
  /** Name of the position file in state_dir; set it when running two auth_log detectors. */
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('auth_log'),
  /** As fail2ban's sshd filter: normal counts failed authentications; ddos also probes and pre-auth disconnects; aggressive also negotiation failures. */
  mode: z.enum(MODES).default('normal'),
  ...aggregationShape,
});

/** Nothing forgotten silently: when a bound on memory was reached, say so (at most every 10 minutes). */
function boundsWarner(pipeline: AuthPipeline, log: Pick<Logger, 'warn'>, now: () => number): () => void {
  let seen = 0;
  let logged = -Infinity;
  return () => {
    const b = pipeline.bounds();
    const sum = b.sessions_evicted + b.sources_forgotten + b.key_failures_counted_early;
    const t = now();
    if (sum === seen || t - logged < 600_000) return;
    seen = sum;
    logged = t;
    log.warn(
      b,
      'auth_log: more sshd connections, sources or held publickey failures than its bounds (max_sources, 4096 connections) hold; the oldest were forgotten or counted at once',
    );
  };
}

export default defineInput({
  name: 'auth_log',
  description: 'Brute force, suspicious logins, sudo/su refusals and account changes from the Linux auth log or journal',
  platforms: ['linux', 'freebsd', 'openbsd', 'darwin'],
  config,
  create(c, ctx) {
    const log = ctx.log.child({ detector: 'auth_log' });
    const pipeline = new AuthPipeline(c, () => ctx.now());
    const sampler = new UnparsedSampler(log, () => ctx.now());
    let acc: Accumulator | undefined;
    let follower: LogFollower | JournalFollower | undefined;
    const handle = (events: AuthEvent[]) => acc && emit(acc, events);
    const checkBounds = boundsWarner(pipeline, log, () => ctx.now());
    // Held failures, updates and quiet incidents, at most once a second and only while something is held.
    const ticker = new HeldTicker(
      Math.max(c.poll_interval, 1000),
      () => pipeline.holds(),
      () => {
        try {
          handle(pipeline.tick());
          checkBounds();
        } catch (err) {
          log.error({ err }, 'auth_log periodic work failed');
        }
      },
    );
    const result = (r: LineResult, line: string) => {
      if (r.unparsed) sampler.add(line);
      if (r.events.length) handle(r.events);
    };
    log.info({ timezone: pipeline.zone, mode: pipeline.mode }, 'auth_log reads zone-less times in this zone');
    return {
      selfCounters: () => ({ unparsed_lines: pipeline.unparsed }),
      async start(a) {
        acc = a;
        if (c.source === 'journal') {
          follower = new JournalFollower({
            command: c.journalctl,
            state: ctx.state,
            stateName: `journal-${c.state_name}.cursor`,
            fromBeginning: c.from_beginning,
            log,
            onEntry: (e) => {
              result(pipeline.header(e.header), e.header.message);
              ticker.poke();
            },
          });
        } else {
          const path = c.path ?? DEFAULT_PATHS.find((p) => existsSync(p)) ?? DEFAULT_PATHS[0]!;
          follower = new LogFollower({
            path,
            state: ctx.state,
            stateName: `tail-${c.state_name}.json`,
            fromBeginning: c.from_beginning,
            pollMs: c.poll_interval,
            ticked: ctx.intervalMs !== undefined && ctx.intervalMs <= SAFETY_MS, // the safety poll rides on gather()
            log,
            paused: () => acc?.backlogged?.() ?? false,
            onLines: (lines) => {
              for (let i = 0; i < lines.length; i++) result(pipeline.line(lines[i]!), lines[i]!);
              ticker.poke();
            },
          });
        }
        await follower.start();
      },
      // Nothing to gather: the agent's tick carries the log follower's safety poll (a `stat` a minute).
      gather: async () => (follower instanceof LogFollower ? follower.tick() : undefined),
      async stop() {
        // The follower first: its last read may still feed lines, and arm the ticker.
        await follower?.stop();
        follower = undefined;
        ticker.stop();
      },
    };
  },
});
