// Brute-force and working-hours options shared by the auth_log and windows_eventlog
// detectors and by `canh-agent detect`: one schema, one place for the defaults.
import { z } from 'zod';
import { duration } from '@canh/core/duration';
import { validTimeZone } from '@canh/core/time-zone';
import { AuthAggregator, parseClock } from './aggregate.ts';
import { effectiveZone } from './host-zone.ts';

const clock = z.string().refine((s) => parseClock(s) !== undefined, 'must be a time of day such as "07:30"');

export const aggregationShape = {
  /** Failed logins from one source within `window` that make a brute_force event. */
  threshold: z.number().int().min(1).max(100_000).default(5),
  window: duration({ min: 1000 }).default(600_000),
  /** Distinct user names from one source at which the event says password spraying (T1110.003). */
  spray_users: z.number().int().min(2).default(3),
  /** Time a failed publickey waits for an Accepted publickey of the same user and address. */
  key_grace: duration({ min: 0 }).default(30_000),
  /** Users whose logins outside working hours are reported. */
  privileged_users: z.array(z.string().min(1)).default(['root', 'Administrator']),
  /** Groups whose membership changes are high severity. */
  privileged_groups: z
    .array(z.string().min(1))
    .default([
      'root',
      'sudo',
      'wheel',
      'adm',
      'admin',
      'Administrators',
      'Domain Admins',
      'Enterprise Admins',
      'Schema Admins',
      'Remote Desktop Users',
      'Backup Operators',
    ]),
  work_hours: z
    .object({
      start: clock.default('07:30'),
      end: clock.default('17:30'),
      /** 0 = Sunday ... 6 = Saturday */
      days: z.array(z.number().int().min(0).max(6)).default([1, 2, 3, 4, 5]),
    })
    .strict()
    .default({ start: '07:30', end: '17:30', days: [1, 2, 3, 4, 5] }),
  /** Time zone of working hours and of log timestamps written without one; the host's own zone (TZ, /etc/localtime; on Windows the system zone) when unset. */
  timezone: z.string().refine(validTimeZone, 'not a time zone this system knows (write e.g. "Asia/Ho_Chi_Minh")').optional(),
  /** Bound on the sources tracked at once (memory under a distributed attack). */
  max_sources: z.number().int().min(100).default(10_000),
};

export const AggregationSchema = z.object(aggregationShape);
export type AggregationConfig = z.infer<typeof AggregationSchema>;

export function makeAggregator(c: AggregationConfig, now: () => number): AuthAggregator {
  return new AuthAggregator({
    threshold: c.threshold,
    windowMs: c.window,
    sprayUsers: c.spray_users,
    keyGraceMs: c.key_grace,
    privilegedUsers: c.privileged_users,
    privilegedGroups: c.privileged_groups,
    workHours: { start: parseClock(c.work_hours.start)!, end: parseClock(c.work_hours.end)!, days: c.work_hours.days },
    tz: effectiveZone(c.timezone),
    maxSources: c.max_sources,
    now,
  });
}
