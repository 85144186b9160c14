// What the status page shows of alerting, in the reader's language: each firing alert
// with its rule's title and the same one-line summary a mail would give, whether a
// silence or an open maintenance window mutes it, the maintenance windows, and the
// agencies' display names. Built from the engine's public state; the engine is not
// changed for the page.
import type { AlertEngine } from '../alerts/engine.ts';
import type { MaintenanceWindow } from '../alerts/config.ts';
import { inMaintenance, windowOpen } from '../alerts/maintenance.ts';
import { storedCovers, storedOpen, storedOver, type StoredMaintenance } from '../alerts/maintenance-store.ts';
import { silencedBy } from '../alerts/silences.ts';
import { formatMatcher } from '../alerts/matchers.ts';
import { localize, type Language } from '../alerts/rules.ts';
import { alertSummary } from '../notify/templates/model.ts';

export interface StatusAlert {
  rule: string;
  title: Record<Language, string>;
  summary: Record<Language, string>;
  severity: string;
  agency: string;
  host: string;
  since: number;
  /** What holds its mail back: a silence (its comment) or a maintenance window (its name). */
  muted?: { by: 'silence' | 'maintenance'; note: string };
}

export interface StatusMaintenance {
  name: string;
  days: string[] | undefined;
  start: string;
  end: string;
  timezone: string;
  agencies: string[] | undefined;
  matchers: string;
  open: boolean;
  /** Where it was planned: the config file (alerting.maintenance) or `canh-collector maintenance add`. */
  source: 'config' | 'cli';
  /** A one-off CLI window: open from `from` until `until` (epoch ms), instead of days/start/end. */
  once?: { from: number; until: number };
  /** A CLI window's author and comment (a ticket, the work). */
  createdBy?: string;
  comment?: string;
}

export interface StatusMail {
  id: number;
  createdAt: number;
  to: string;
  subject: string;
  state: 'queued' | 'sent' | 'failed';
  text: string;
}

export interface AlertingView {
  alerts: StatusAlert[];
  maintenance: StatusMaintenance[];
  agencyNames: Readonly<Record<string, string>>;
  /** The latest alert mails, newest first (a mail viewer: the quick start has no mail server). */
  mails: StatusMail[];
}

/** Alert mails the page lists. */
const RECENT_MAILS = 10;

export function alertingView(engine: AlertEngine, now: number): AlertingView {
  const cfg = engine.cfg;
  const silences = engine.store.silences();
  // Windows from `canh-collector maintenance add` (SQLite or PostgreSQL) mute as the config file's do.
  const stored = engine.store.maintenance.list();
  const cliWindows = stored.filter((w) => storedOpen(w, now, cfg.timezone));
  const alerts = [...engine.tracker.alerts.values()]
    .filter((a) => a.state === 'firing')
    .sort((x, y) => y.activeAt - x.activeAt)
    .map((a): StatusAlert => {
      const rule = engine.rules.get(a.rule);
      const s = silencedBy(silences, a.labels, now);
      const w = s
        ? undefined
        : (inMaintenance(cfg.maintenance, a.labels, now, cfg.timezone) ?? cliWindows.find((c) => storedCovers(c, { ...a.labels, severity: a.severity })));
      const both = (f: (l: Language) => string) => ({ vi: f('vi'), en: f('en') });
      return {
        rule: a.rule,
        title: both((l) => localize(rule?.title, l) ?? a.rule),
        summary: both((l) => alertSummary(a, rule, l)),
        severity: a.severity,
        agency: a.labels.agency ?? '',
        host: a.labels.host ?? '',
        since: a.activeAt,
        ...(s ? { muted: { by: 'silence' as const, note: s.comment } } : w ? { muted: { by: 'maintenance' as const, note: w.name } } : {}),
      };
    });
  const maintenance = cfg.maintenance.map((w: MaintenanceWindow): StatusMaintenance => ({
    name: w.name,
    days: w.days,
    start: w.start,
    end: w.end,
    timezone: w.timezone ?? cfg.timezone,
    agencies: w.agencies,
    matchers: w.matchers.map(formatMatcher).join(' '),
    open: windowOpen(w, now, cfg.timezone),
    source: 'config',
  }));
  // The CLI's windows that are open or still to come (a one-off window that has ended is not listed).
  for (const w of stored.filter((x) => !storedOver(x, now))) maintenance.push(cliWindow(w, now, cfg.timezone));
  const mails = engine.store
    .mails()
    .slice(-RECENT_MAILS)
    .reverse()
    .map((m) => ({ id: m.id, createdAt: m.createdAt, to: m.to, subject: m.subject, state: m.state, text: m.text }));
  return { alerts, maintenance, agencyNames: cfg.agencies, mails };
}

/** A window of `canh-collector maintenance add` as the page lists it. */
function cliWindow(w: StoredMaintenance, now: number, tz: string): StatusMaintenance {
  return {
    name: w.name,
    days: w.weekly?.days,
    start: w.weekly?.start ?? '',
    end: w.weekly?.end ?? '',
    timezone: w.weekly?.timezone ?? tz,
    agencies: w.agencies,
    matchers: w.matchers.map(formatMatcher).join(' '),
    open: storedOpen(w, now, tz),
    source: 'cli',
    ...(w.once ? { once: { from: w.once.from, until: w.once.until } } : {}),
    createdBy: w.createdBy,
    comment: w.comment,
  };
}
