// Time zone arithmetic on Intl (no tz database dependency; UTC and the host's own zone on Date's clock, below), shared by the agent
// (log timestamps without a zone such as syslog "Nov 27 20:15:53", working hours) and the
// collector (report months, local times in mails): the agencies live in Asia/Ho_Chi_Minh,
// and what "08:00" or "November" means there must not depend on the server's zone.
import { existsSync, readlinkSync } from 'node:fs';

const formatters = new Map<string, Intl.DateTimeFormat>();

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

// Zones that are UTC by definition: their wall clock is Date's UTC one. Read that way they
// never load ICU's zone and locale data, which the first Intl.DateTimeFormat does: ~8 MiB of
// RSS (measured under the agent's Node options), in an agent whose auth_log reads a UTC log
// (bench:detect-rss). Other spellings of UTC (Etc/Universal, Zulu...) go through Intl.
const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT']);
/** 0001-01-01T00:00:00Z (Date.UTC takes years below 100 as 19xx). */
const YEAR_1 = -62_135_596_800_000;

const ZONEINFO = '/usr/share/zoneinfo';

// The zone Date's own local clock runs in, by its IANA name, where that can be told without
// Intl: TZ, or the zone file /etc/localtime links to (where ICU, behind Date, looks first
// too), and only a name with a zone file under /usr/share/zoneinfo. Its wall clock is read
// from Date's local clock, which costs ~0.6 MiB of RSS instead of ICU's ~8 (a host in
// Asia/Ho_Chi_Minh whose auth_log reads its own zone). Read again when TZ changes (Node
// re-reads the zone for Date then too).
let localMemo: { env: string | undefined; name: string | undefined } | undefined;

function localZone(): string | undefined {
  const env = process.env.TZ;
  if (!localMemo || localMemo.env !== env) localMemo = { env, name: readLocalZone(env) };
  return localMemo.name;
}

function readLocalZone(env: string | undefined): string | undefined {
  if (process.platform === 'win32' || env === '') return undefined;
  let path: string;
  try {
    path = env !== undefined ? env.replace(/^:/, '') : readlinkSync('/etc/localtime');
  } catch {
    return undefined; // no link (a copy of the zone file, or none): Intl decides
  }
  const i = path.indexOf('zoneinfo/');
  const name = i >= 0 ? path.slice(i + 'zoneinfo/'.length).replace(/^posix\//, '') : path;
  // right/ zones count leap seconds, which Date does not: left to Intl, as is anything odd.
  if (name.startsWith('right/') || !/^[A-Za-z][\w+-]*(?:\/[\w+-]+)*$/.test(name)) return undefined;
  return existsSync(`${ZONEINFO}/${name}`) ? name : undefined;
}

/** Whether `tz` is an IANA zone this runtime knows (for config validation). */
export function validTimeZone(tz: string): boolean {
  if (UTC_ZONES.has(tz) || tz === localZone()) return true;
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
  // From year 1 on: Intl writes earlier years by era, and so does this for them.
  if (ms >= YEAR_1 && UTC_ZONES.has(tz)) return dateWallClock(ms, true);
  if (ms >= YEAR_1 && tz === localZone()) return dateWallClock(ms, false);
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

/** The wall clock of a Date: its UTC fields, or its local ones (the process's own zone). */
function dateWallClock(ms: number, utc: boolean): WallClock {
  const d = new Date(ms);
  // As Intl's formatToParts: an instant that is no valid Date is an error, not NaN fields.
  if (Number.isNaN(d.getTime())) throw new RangeError('Invalid time value');
  return utc
    ? {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        hour: d.getUTCHours(),
        minute: d.getUTCMinutes(),
        second: d.getUTCSeconds(),
        weekday: d.getUTCDay(),
      }
    : {
        year: d.getFullYear(),
        month: d.getMonth() + 1,
        day: d.getDate(),
        hour: d.getHours(),
        minute: d.getMinutes(),
        second: d.getSeconds(),
        weekday: d.getDay(),
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
