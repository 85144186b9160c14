// auth_log: security events from the Linux authentication log (/var/log/auth.log,
// /var/log/secure) or the systemd journal: brute force (and its success), logins of
// privileged users outside working hours, sudo/su refusals, account and group changes.
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { duration } from '@canh/core';
import { defineInput, type Accumulator } from '../../inputs/types.ts';
import { LogFollower } from '../tail.ts';
import type { AuthEvent, AuthAggregator } from './aggregate.ts';
import { JournalFollower } from './journal.ts';
import { aggregationShape, makeAggregator } from './options.ts';
import { parseLine, recordFrom } from './parse.ts';

export const DEFAULT_PATHS = ['/var/log/auth.log', '/var/log/secure'];

const config = z.object({
  /** Where to read: a log file, or the systemd journal through journalctl. */
  source: z.enum(['file', 'journal']).default('file'),
  /** The log file; the first of /var/log/auth.log and /var/log/secure that exists when unset. */
  path: z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path').optional(),
  /** On the very first run, read the existing log instead of starting at its end. */
  from_beginning: z.boolean().default(false),
  poll_interval: duration({ min: 50 }).default(1000),
  journalctl: z.string().min(1).default('journalctl'),
  /** Name of the position file in state_dir; set it when running two auth_log detectors. */
  state_name: z.string().regex(/^[a-z0-9_.-]+$/i).default('auth_log'),
  ...aggregationShape,
});

export function emit(acc: Accumulator, events: readonly AuthEvent[]): void {
  for (const e of events) acc.addEvent({ time: e.time, type: e.type, severity: e.severity, message: e.message, evidence: e.evidence, count: e.count, mitre: e.mitre });
}

export default defineInput({
  name: 'auth_log',
  description: 'Brute force, suspicious logins, sudo/su refusals and account changes from the Linux auth log or journal',
  platforms: ['linux', 'freebsd', 'openbsd', 'darwin'],
  config,
  create(c, ctx) {
    const log = ctx.log.child({ detector: 'auth_log' });
    const agg: AuthAggregator = makeAggregator(c, () => ctx.now());
    const opts = () => ({ tz: c.timezone, now: ctx.now() });
    let acc: Accumulator | undefined;
    let follower: LogFollower | JournalFollower | undefined;
    let ticker: NodeJS.Timeout | undefined;
    const handle = (events: AuthEvent[]) => acc && emit(acc, events);
    return {
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
              const rec = recordFrom(e.header);
              if (rec) handle(agg.observe(rec));
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
            log,
            onLines: (lines) => {
              for (const line of lines) {
                const rec = parseLine(line, opts());
                if (rec) handle(agg.observe(rec));
              }
            },
          });
        }
        await follower.start();
        ticker = setInterval(() => handle(agg.tick()), Math.max(c.poll_interval, 1000));
      },
      async stop() {
        if (ticker) clearInterval(ticker);
        ticker = undefined;
        await follower?.stop();
        follower = undefined;
      },
    };
  },
});
