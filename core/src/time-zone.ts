// Time zone arithmetic on Intl alone (no tz database dependency), shared by the agent
// (log timestamps without a zone such as syslog "Nov 27 20:15:53", working hours) and the
// collector (report months, local times in mails): the agencies live in Asia/Ho_Chi_Minh,
// and what "08:00" or "November" means there must not depend on the server's zone.
const formatters = new Map<string, Intl.DateTimeFormat>();

// UTC is worked out without Intl: the first DateTimeFormat a process makes loads ICU's zone
// data (~110 M instructions, a third of a short `canh-agent detect`'s start-up), and servers
// often log in UTC. UTC has no transitions: its wall clock is the Date's UTC fields.
const isUtc = (tz: string) => tz === 'UTC' || tz === 'Etc/UTC';
/** 0001-01-01T00:00:00Z (Date.UTC takes years below 100 as 19xx). */
const YEAR_1 = -62_135_596_800_000;

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Whether `tz` is an IANA zone this runtime knows (for config validation). */
export function validTimeZone(tz: string): boolean {
  if (isUtc(tz)) return true;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

export interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday */
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The wall clock in `tz` at instant `ms`. */
export function wallClock(ms: number, tz: string): WallClock {
  // From year 1 on (Intl writes earlier years by era).
  if (isUtc(tz) && ms >= YEAR_1) {
    const d = new Date(ms);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: d.getUTCDay(),
    };
  }
  const parts: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(ms))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ''),
  };
}

/** Offset of `tz` from UTC at instant `ms`, in ms (east positive). */
export function zoneOffset(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant at which the wall clock in `tz` shows the given time (ms precision). */
export function zonedToUtc(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number, tz: string): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Two rounds settle DST transitions; Asia/Ho_Chi_Minh has none but configured zones may.
  let t = guess - zoneOffset(guess, tz);
  t = guess - zoneOffset(t, tz);
  return t;
}
