// A calendar month as an instant range in a time zone: the report's month starts at local
// midnight on the 1st where the agencies are (Asia/Ho_Chi_Minh unless told otherwise),
// not at UTC midnight, so "November" means what the agencies' staff mean by it.
import { CanhError, zonedToUtc, zoneOffset } from '@canh/core';

export interface MonthRange {
  /** "2026-11" */
  month: string;
  timeZone: string;
  /** First instant of the month (ms since epoch), inclusive. */
  start: number;
  /** First instant of the next month, exclusive. */
  end: number;
  /** Local midnights of each day of the month (start of each day, ms). */
  days: number[];
}

export function checkZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw new CanhError('CANH_ERR_REPORT_BAD_TIMEZONE', `unknown time zone "${timeZone}": give an IANA name such as Asia/Ho_Chi_Minh`);
  }
}

export { zoneOffset };

/** The instant of local midnight starting y-m-d in timeZone (month 1-based, may overflow). */
export function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  return zonedToUtc(y, m, d, 0, 0, 0, 0, timeZone);
}

export function monthRange(month: string, timeZone: string): MonthRange {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) {
    throw new CanhError('CANH_ERR_REPORT_BAD_MONTH', `--month must look like 2026-11 (year-month), not "${month}"`);
  }
  checkZone(timeZone);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const days: number[] = [];
  for (let d = 1; d <= daysInMonth; d++) days.push(localMidnight(y, mo, d, timeZone));
  return { month, timeZone, start: days[0]!, end: localMidnight(y, mo + 1, 1, timeZone), days };
}

/** Index of the local day holding instant t, or -1 outside the month. */
export function dayIndex(range: MonthRange, t: number): number {
  if (t < range.start || t >= range.end) return -1;
  let i = range.days.length - 1;
  while (i > 0 && range.days[i]! > t) i--;
  return i;
}
