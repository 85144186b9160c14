// The alert engine: evaluates rules on the stream the receiver hands it (batches and
// agent connection changes, through CollectorHooks), so alerting never waits on an
// InfluxDB query; turns state changes into grouped notifications; queues and sends
// mail. Time comes from an injectable clock, and tick() does one round of timers, so
// tests drive it minute by minute without sleeping. All state lives in the store.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Batch } from '@canh/protocol';
import type { Identity } from '../identity.ts';
import type { CollectorHooks } from '../server.ts';
import type { AlertingConfig, AlertingSecrets } from './config.ts';
import { effectiveRules, type AbsenceRule, type EventRule, type Rule, type ThresholdRule } from './rules.ts';
import { SqliteAlertStore, type AlertStore } from './store.ts';
import { AlertTracker } from './tracker.ts';
import { ThresholdEvaluator } from './evaluate/threshold.ts';
import { AbsenceEvaluator } from './evaluate/absence.ts';
import { EventEvaluator } from './evaluate/event.ts';
import { Dispatcher } from '../notify/dispatcher.ts';
import { MailRenderer } from '../notify/templates/index.ts';
import { Mailer, type MailTransport } from '../notify/mailer.ts';
import { handleAlertApi } from './http.ts';
import { formatMatcher } from './matchers.ts';

export interface AlertEngineDeps {
  log: Logger;
  /** The collector's SQLite file (collector.db), or a store of its own. */
  dbFile?: string;
  store?: AlertStore;
  clock?: () => number;
  secrets?: AlertingSecrets;
  /** Line protocol out (the collector's InfluxWriter.write): the `alert` measurement. */
  writeLines?: (lines: string[]) => Promise<void>;
  transport?: MailTransport;
  /** True for an agent that was revoked or removed: its alerts resolve and it is no longer expected. */
  isRevoked?: (host: string) => boolean;
}

const REVOCATION_CHECK_MS = 60_000;

export class AlertEngine {
  readonly store: AlertStore;
  readonly tracker: AlertTracker;
  readonly dispatcher: Dispatcher;
  readonly mailer: Mailer | undefined;
  readonly rules: ReadonlyMap<string, Rule>;
  readonly cfg: AlertingConfig;
  private readonly threshold: ThresholdEvaluator;
  private readonly absence: AbsenceEvaluator;
  private readonly events: EventEvaluator;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly deps: AlertEngineDeps;
  private timer: NodeJS.Timeout | undefined;
  private kickPending = false;
  private lastRevocationCheck = 0;
  private stopped = false;

  constructor(cfg: AlertingConfig, deps: AlertEngineDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.log = deps.log;
    this.clock = deps.clock ?? Date.now;
    if (!deps.store && !deps.dbFile) throw new Error('AlertEngine needs a store or a dbFile');
    this.store = deps.store ?? new SqliteAlertStore(deps.dbFile!, { messageDomain: mailDomain(cfg) });
    const rules = effectiveRules(cfg);
    this.rules = new Map(rules.map((r) => [r.name, r]));
    this.tracker = new AlertTracker(this.store, { flap: cfg.flap, log: this.log.child({ part: 'state' }), writeLines: deps.writeLines });
    const now = this.clock();
    // Alerts of rules that are gone from the config would otherwise fire forever.
    for (const a of [...this.tracker.alerts.values()]) {
      if (a.state !== 'resolved' && !this.rules.has(a.rule)) this.tracker.resolve(a, now, { resolved_by: 'rule_removed' });
    }
    this.absence = new AbsenceEvaluator(rules.filter((r): r is AbsenceRule => r.type === 'absence'), this.tracker, this.store, now);
    this.threshold = new ThresholdEvaluator(
      rules.filter((r): r is ThresholdRule => r.type === 'threshold'),
      this.tracker,
      { maxSampleAge: cfg.max_sample_age, isOnline: (h) => this.absence.isOnline(h) },
    );
    this.events = new EventEvaluator(rules.filter((r): r is EventRule => r.type === 'event'), this.tracker, { maxSampleAge: cfg.max_sample_age });
    const renderer = new MailRenderer({
      overrides: cfg.templates,
      rules: this.rules,
      agencyNames: cfg.agencies,
      grafanaUrl: cfg.grafana_url,
      timeZone: cfg.timezone,
    });
    this.dispatcher = new Dispatcher({ cfg, store: this.store, tracker: this.tracker, rules: this.rules, renderer, log: this.log.child({ part: 'dispatch' }) });
    if (cfg.smtp) {
      this.mailer = new Mailer(this.store, cfg.smtp, { log: this.log.child({ part: 'mail' }), clock: this.clock, transport: deps.transport, password: deps.secrets?.smtpPassword });
    } else if (cfg.recipients.length === 0) {
      this.log.info('alerting without recipients: alerts are evaluated and recorded in InfluxDB, no mail is sent');
    }
    // A new critical alert is mailed at once, not at the next tick.
    this.tracker.onTransition = (a) => {
      if (a.state === 'firing' && a.severity === 'critical') this.kick();
    };
    this.log.info({ rules: rules.length, recipients: cfg.recipients.length, open: this.tracker.alerts.size }, 'alert engine ready');
  }

  hooks(): CollectorHooks {
    return {
      onBatch: (id, _agent, batch) => this.onBatch(id, batch),
      onAgentState: (id, _agent, online, at) => this.onAgentState(id, online, at),
      http: (req, res) => this.http(req, res),
    };
  }

  onBatch(id: Identity, batch: Pick<Batch, 'points' | 'events'>): void {
    if (this.stopped) return;
    const now = this.clock();
    try {
      if (batch.points.length) {
        this.threshold.onPoints(id, batch.points, now);
        this.absence.onPoints(id, batch.points, now);
      }
      if (batch.events.length) this.events.onEvents(id, batch.events, now);
    } catch (err) {
      // Alerting must never cost the receiver a batch.
      this.log.error({ err, host: id.host }, 'alert evaluation failed for a batch');
    }
  }

  onAgentState(id: Identity, online: boolean, at: number): void {
    if (this.stopped) return;
    try {
      this.absence.onAgentState(id, online, at);
    } catch (err) {
      this.log.error({ err, host: id.host }, 'alert evaluation failed for an agent state change');
    }
  }

  http(req: IncomingMessage, res: ServerResponse): Promise<boolean> | boolean {
    return handleAlertApi(req, res, { engine: this, adminToken: this.deps.secrets?.adminToken, log: this.log, now: this.clock });
  }

  /** Firing alerts, newest first, for the status page. */
  statusAlerts(): { rule: string; severity: string; agency: string; host: string; since: number; summary: string }[] {
    return [...this.tracker.alerts.values()]
      .filter((a) => a.state === 'firing')
      .sort((x, y) => y.activeAt - x.activeAt)
      .map((a) => ({ rule: a.rule, severity: a.severity, agency: a.labels.agency ?? '', host: a.labels.host ?? '', since: a.activeAt, summary: a.summary }));
  }

  statusSilences(): { matchers: string; author: string; comment: string; until: number }[] {
    const now = this.clock();
    return this.store
      .silences()
      .filter((s) => s.endsAt > now)
      .map((s) => ({ matchers: s.matchers.map(formatMatcher).join(' '), author: s.createdBy, comment: s.comment, until: s.endsAt }));
  }

  /** Mail delivery health: queued and failed mail, the last SMTP error. */
  smtpHealth(): { up: boolean; detail: string } | undefined {
    if (!this.mailer) return undefined;
    const queued = this.store.mails('queued');
    const failed = this.store.mails('failed').length;
    const stuck = queued.filter((m) => m.attempts > 0).length;
    return {
      up: stuck === 0,
      detail: `${queued.length} queued, ${failed} failed, ${this.mailer.stats.sent} sent since start${stuck ? `; last error: ${this.mailer.stats.lastError ?? '?'}` : ''}`,
    };
  }

  /** Timers (for, holds, silence of series, resolve_after), then due notifications. */
  evaluate(): number {
    const now = this.clock();
    this.threshold.tick(now);
    this.absence.tick(now);
    this.events.tick(now);
    if (this.deps.isRevoked && now - this.lastRevocationCheck >= REVOCATION_CHECK_MS) {
      this.lastRevocationCheck = now;
      for (const h of this.absence.hosts()) if (this.deps.isRevoked(h)) this.absence.forgetHost(h, now);
    }
    this.tracker.flush();
    return this.dispatcher.flush(now);
  }

  /** One round: evaluate, queue, and deliver what is due (awaited, for tests). */
  async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      this.evaluate();
    } catch (err) {
      this.log.error({ err }, 'alert evaluation round failed');
    }
    await this.mailer?.process();
  }

  private kick(): void {
    if (!this.timer || this.kickPending) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      void this.tick();
    });
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.cfg.evaluation_interval);
    this.timer.unref();
    void this.tick();
  }

  /** Stop timers, persist bookkeeping, let a send in progress finish. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      this.absence.persist(this.clock());
      this.tracker.flush();
    } catch (err) {
      this.log.warn({ err }, 'could not persist alert bookkeeping on stop');
    }
    await this.mailer?.stop();
    if (!this.deps.store) this.store.close();
  }
}

function mailDomain(cfg: AlertingConfig): string {
  const m = /@([^>\s]+)>?\s*$/.exec(cfg.smtp?.from ?? '');
  return m?.[1] ?? 'canh.invalid';
}
