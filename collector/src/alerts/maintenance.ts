// Recurring maintenance windows ("every Sunday 22:00–02:00 Asia/Ho_Chi_Minh, agency
// so-tttt"): alerts they cover send no firing notification while the window is open.
// Times are judged in the window's own time zone by minute of the local week, so a
// window that crosses midnight (or Saturday → Sunday) needs no special case.
import type { MaintenanceWindow } from './config.ts';
import { WEEKDAYS } from './config.ts';
import { matchesAll, type Labels } from './matchers.ts';

const WEEK_MIN = 7 * 1440;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  return f;
}

/** Minute of the local week (Sunday 00:00 = 0) of an instant in a time zone. */
export function minuteOfWeek(t: number, tz: string): number {
  const parts = formatter(tz).formatToParts(new Date(t));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = WEEKDAYS.indexOf(get('weekday').toLowerCase().slice(0, 3) as (typeof WEEKDAYS)[number]);
  return day * 1440 + Number(get('hour')) * 60 + Number(get('minute'));
}

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

export function windowOpen(w: MaintenanceWindow, t: number, defaultTz: string): boolean {
  const now = minuteOfWeek(t, w.timezone ?? defaultTz);
  const start = minutes(w.start);
  let length = minutes(w.end) - start;
  if (length <= 0) length += 1440;
  const days = w.days ?? WEEKDAYS;
  return days.some((d) => {
    const begin = WEEKDAYS.indexOf(d) * 1440 + start;
    return (((now - begin) % WEEK_MIN) + WEEK_MIN) % WEEK_MIN < length;
  });
}

export function coveredBy(w: MaintenanceWindow, labels: Labels): boolean {
  if (w.agencies && !w.agencies.includes(labels.agency ?? '')) return false;
  return matchesAll(w.matchers, labels);
}

/** The open window that covers an alert at time t, if any. */
export function inMaintenance(windows: readonly MaintenanceWindow[], labels: Labels, t: number, defaultTz: string): MaintenanceWindow | undefined {
  return windows.find((w) => coveredBy(w, labels) && windowOpen(w, t, defaultTz));
}
