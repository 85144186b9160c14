// Maintenance windows added from the command line (`canh-collector maintenance add`),
// beside the ones in the config file's `alerting.maintenance`. A window is one-off (from
// a time until a time, written in the unambiguous forms `silence add` takes) or weekly
// (days, HH:MM start and end, a zone), covers an agency and/or label matchers, and is
// kept in the collector's SQLite file, where the running engine reads it at every round.
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { CanhError } from '@canh/core';
import { WEEKDAYS, type MaintenanceWindow } from './config.ts';
import { coveredBy, windowOpen } from './maintenance.ts';
import { formatMatcher, matches, parseMatcher, type Labels, type Matcher } from './matchers.ts';
import { formatWhen, parseWhen, unknownLabel } from './silences.ts';

export interface StoredMaintenance {
  id: string;
  name: string;
  agencies?: string[];
  matchers: Matcher[];
  /** One-off: open from `from` until `until` (epoch ms). */
  once?: { from: number; until: number };
  /** Weekly: as a config file's window. */
  weekly?: { days?: (typeof WEEKDAYS)[number][]; start: string; end: string; timezone?: string };
  createdBy: string;
  comment: string;
  createdAt: number;
}

export interface MaintenanceInput {
  name?: string;
  agencies?: readonly string[];
  matchers?: readonly string[];
  from?: string;
  until?: string;
  days?: string;
  start?: string;
  end?: string;
  timezone?: string;
  createdBy?: string;
  comment?: string;
}

function invalid(message: string): CanhError {
  return new CanhError('CANH_ERR_MAINTENANCE_INVALID', message);
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Checks a window as `silence add` checks a silence: nothing guessed, every mistake named. */
export function createMaintenance(input: MaintenanceInput, now: number, knownLabels: ReadonlySet<string> | undefined, tz: string): StoredMaintenance {
  const name = (input.name ?? '').trim();
  if (!name) throw invalid('--name: give the window a name (it is shown in logs and on the status page)');
  const agencies = (input.agencies ?? []).map((a) => a.trim().toLowerCase()).filter(Boolean);
  const matchers: Matcher[] = (input.matchers ?? []).map((text, i) => {
    const m = parseMatcher(text);
    if (typeof m === 'string') throw invalid(`matchers[${i}]: ${m}`);
    if (knownLabels && !knownLabels.has(m.name)) throw invalid(`matchers[${i}]: ${unknownLabel(m.name, knownLabels)}`);
    return m;
  });
  if (!agencies.length && (!matchers.length || matchers.every((m) => matches(m, {})))) {
    throw invalid('say what the window covers: --agency A and/or a matcher that needs a value (host=web01); a window over everything would hide every alert');
  }
  const createdBy = (input.createdBy ?? '').trim();
  const comment = (input.comment ?? '').trim();
  if (!createdBy) throw invalid('--author: say who plans the maintenance');
  if (!comment) throw invalid('--comment: say what the maintenance is (a ticket, the work)');
  const oneOff = input.from !== undefined || input.until !== undefined;
  const weekly = input.days !== undefined || input.start !== undefined || input.end !== undefined;
  if (oneOff === weekly)
    throw invalid('give either --from TIME --until TIME (once) or --start HH:MM --end HH:MM [--days sun,sat] (every week), not both and not neither');
  const base = { id: randomUUID(), name, ...(agencies.length ? { agencies } : {}), matchers, createdBy, comment, createdAt: now };
  if (oneOff) {
    if (input.from === undefined || input.until === undefined) throw invalid('a one-off window needs both --from and --until');
    let from: number;
    let until: number;
    try {
      from = parseWhen(input.from, '--from', tz);
      until = parseWhen(input.until, '--until', tz);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    if (until <= from) throw invalid('--until: must be after --from');
    if (until <= now) throw invalid('--until: is in the past');
    return { ...base, once: { from, until } };
  }
  if (!input.start || !HHMM.test(input.start))
    throw invalid(`--start: write the time as HH:MM (24 h), e.g. 22:00${input.start ? `, not "${input.start}"` : ''}`);
  if (!input.end || !HHMM.test(input.end)) throw invalid(`--end: write the time as HH:MM (24 h), e.g. 02:00${input.end ? `, not "${input.end}"` : ''}`);
  let days: (typeof WEEKDAYS)[number][] | undefined;
  if (input.days !== undefined) {
    days = input.days.split(',').map((d) => d.trim().toLowerCase()) as (typeof WEEKDAYS)[number][];
    const bad = days.find((d) => !(WEEKDAYS as readonly string[]).includes(d));
    if (bad !== undefined || !days.length) throw invalid(`--days: "${bad ?? ''}" is not a day; write ${WEEKDAYS.join(', ')} separated by commas`);
  }
  if (input.timezone !== undefined && !validZone(input.timezone)) throw invalid(`--tz: "${input.timezone}" is not an IANA time zone (e.g. Asia/Ho_Chi_Minh)`);
  return { ...base, weekly: { ...(days ? { days } : {}), start: input.start, end: input.end, timezone: input.timezone ?? tz } };
}

/** The config-file form of a weekly window, for the shared test of openness and coverage. */
function asWindow(w: StoredMaintenance): MaintenanceWindow {
  return {
    name: w.name,
    agencies: w.agencies,
    matchers: w.matchers,
    days: w.weekly?.days,
    start: w.weekly?.start ?? '00:00',
    end: w.weekly?.end ?? '00:00',
    timezone: w.weekly?.timezone,
  };
}

export function storedOpen(w: StoredMaintenance, t: number, defaultTz: string): boolean {
  if (w.once) return t >= w.once.from && t < w.once.until;
  return windowOpen(asWindow(w), t, defaultTz);
}

/** A one-off window that has ended is over for good; weekly ones never are. */
export function storedOver(w: StoredMaintenance, t: number): boolean {
  return !!w.once && w.once.until <= t;
}

export function storedCovers(w: StoredMaintenance, labels: Labels): boolean {
  return coveredBy(asWindow(w), labels);
}

export function describeWindow(w: StoredMaintenance, tz: string): string {
  if (w.once) return `${formatWhen(w.once.from, tz)} – ${formatWhen(w.once.until, tz)}`;
  const k = w.weekly!;
  return `${k.days ? k.days.join(',') : 'every day'} ${k.start}–${k.end} (${k.timezone ?? tz})`;
}

export function maintenanceJson(w: StoredMaintenance, now: number, tz: string): Record<string, unknown> {
  return {
    id: w.id,
    name: w.name,
    agencies: w.agencies ?? [],
    matchers: w.matchers.map(formatMatcher),
    ...(w.once ? { from: new Date(w.once.from).toISOString(), until: new Date(w.once.until).toISOString() } : { weekly: w.weekly }),
    when: describeWindow(w, tz),
    open: storedOpen(w, now, tz),
    created_by: w.createdBy,
    comment: w.comment,
    created_at: new Date(w.createdAt).toISOString(),
  };
}

/** A row of maintenance_windows, as both backends store it (state/pg-maintenance.ts too). */
export interface MaintenanceRow {
  id: string;
  body: string;
  created_at: number;
}

export function toMaintenance(r: MaintenanceRow): StoredMaintenance {
  return { ...(JSON.parse(r.body) as Omit<StoredMaintenance, 'id' | 'createdAt'>), id: r.id, createdAt: r.created_at };
}

/** The body column: the window without its id and creation time (columns of their own). */
export function maintenanceBody(w: StoredMaintenance): string {
  const { id: _id, createdAt: _at, ...body } = w;
  return JSON.stringify(body);
}

/** The one window `id` names: the whole id, or a unique prefix of at least 8 characters (as `silence expire`). */
export function findWindow(list: readonly StoredMaintenance[], id: string): StoredMaintenance | undefined {
  const hits = list.filter((w) => w.id === id || (id.length >= 8 && w.id.startsWith(id)));
  return hits.length === 1 ? hits[0] : undefined;
}

/** Maintenance windows added by the CLI: kept in SQLite (MaintenanceStore) or PostgreSQL (PgMaintenanceStore). */
export interface MaintenanceWindows {
  add(w: StoredMaintenance): void;
  list(): StoredMaintenance[];
  /** By id, or a unique prefix of at least 8 characters; the window removed, if one was. */
  remove(id: string): StoredMaintenance | undefined;
}

export class MaintenanceStore implements MaintenanceWindows {
  private readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec('CREATE TABLE IF NOT EXISTS maintenance_windows (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at INTEGER NOT NULL)');
  }

  add(w: StoredMaintenance): void {
    this.db.prepare('INSERT INTO maintenance_windows (id, body, created_at) VALUES (?, ?, ?)').run(w.id, maintenanceBody(w), w.createdAt);
  }

  list(): StoredMaintenance[] {
    return (this.db.prepare('SELECT * FROM maintenance_windows ORDER BY created_at, id').all() as unknown as MaintenanceRow[]).map(toMaintenance);
  }

  remove(id: string): StoredMaintenance | undefined {
    const w = findWindow(this.list(), id);
    if (w) this.db.prepare('DELETE FROM maintenance_windows WHERE id = ?').run(w.id);
    return w;
  }
}
