// web_access: attacks on the agencies' web portals from their access logs (nginx, Apache,
// IIS): scanning, sensitive-file and admin-interface probing, path traversal, SQL injection
// and XSS attempts, exploits of widely scanned CVEs, scanner user agents, login brute force
// and requests to files named like web shells. Follows each log like `tail -F` (rotation,
// truncation and restarts are safe, as for auth_log).
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { z } from 'zod';
import { duration } from '@canh/core';
import { defineInput, type Accumulator } from '../../inputs/types.ts';
import { LogFollower, SAFETY_MS } from '../tail.ts';
import { makeScenarios, webAccessShape } from './options.ts';
import { makeParser } from './parse.ts';
import type { WebEvent } from './scenarios.ts';

const config = z.object({
  /** Access logs to follow (absolute paths); each is followed on its own. */
  paths: z
    .array(
      z
        .string()
        .min(1)
        .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path'),
    )
    .min(1)
    .default(['/var/log/nginx/access.log']),
  /** On the very first run, read the existing logs instead of starting at their end. */
  from_beginning: z.boolean().default(false),
  poll_interval: duration({ min: 50 }).default(1000),
  ...webAccessShape,
});

export function emit(acc: Accumulator, events: readonly WebEvent[]): void {
  for (const e of events)
    acc.addEvent({ time: e.time, type: e.type, severity: e.severity, message: e.message, evidence: e.evidence, count: e.count, mitre: e.mitre });
}

/** Position file of one followed log: readable name plus a hash, so two logs of the same
 *  name in different folders do not share one. */
export function stateFileName(path: string): string {
  const h = createHash('sha256').update(path).digest('hex').slice(0, 12);
  return `tail-web_access-${basename(path).replace(/[^A-Za-z0-9_.-]/g, '_')}-${h}.json`;
}

export default defineInput({
  name: 'web_access',
  description: 'Web attacks (scans, probes, injections, exploits, login brute force) from nginx, Apache and IIS access logs',
  platforms: ['linux', 'freebsd', 'openbsd', 'darwin', 'win32'],
  config,
  create(c, ctx) {
    const log = ctx.log.child({ detector: 'web_access' });
    const scenarios = makeScenarios(c, () => ctx.now());
    let followers: LogFollower[] = [];
    let unparsed = 0;
    let lastUnparsedLog = 0;
    return {
      async start(acc) {
        followers = c.paths.map((path) => {
          const parse = makeParser(c.format);
          return new LogFollower({
            path,
            state: ctx.state,
            stateName: stateFileName(path),
            fromBeginning: c.from_beginning,
            pollMs: c.poll_interval,
            // The safety poll rides on the agent's tick (gather below) instead of a timer.
            ticked: ctx.intervalMs !== undefined && ctx.intervalMs <= SAFETY_MS,
            log,
            // A backlog read waits while the spool holds too much unacked, as auth_log's does (tail.ts).
            paused: () => acc.backlogged?.() ?? false,
            onLines: (lines) => {
              for (const line of lines) {
                if (line === '') continue;
                const r = parse(line);
                if (r) emit(acc, scenarios.observe(r, ctx.now()));
                else if (!line.startsWith('#')) {
                  unparsed++;
                  const now = ctx.now();
                  if (now - lastUnparsedLog > 3_600_000) {
                    lastUnparsedLog = now;
                    log.warn(
                      { code: 'CANH_ERR_WEB_ACCESS_UNPARSED', path, unparsed, sample: line.slice(0, 200) },
                      'access log lines in a format the detector does not know: set `format` (see the web_access README)',
                    );
                  }
                }
              }
            },
          });
        });
        for (const f of followers) await f.start();
      },
      // Nothing to gather: the tick carries each follower's safety poll (a `stat` a minute).
      gather() {
        for (const f of followers) f.tick();
        return Promise.resolve();
      },
      async stop() {
        for (const f of followers) await f.stop();
        followers = [];
      },
    };
  },
});
