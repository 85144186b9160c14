// The collector process: registry + InfluxDB writer + WebSocket server, started and
// stopped as one. start() returns once it listens; stop() flushes, safe to call twice.
// reload() re-reads the config file and applies its `alerting:` section without a
// restart (SIGHUP, `canh-collector alerts reload`, POST /api/v1/reload).
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CanhError } from '@canh/core';
import { loadCollectorConfig, type CollectorConfig } from './config.ts';
import { SqliteRegistry } from './registry/sqlite.ts';
import type { AgentRegistry } from './registry/types.ts';
import type { CollectorSpool } from './influx/spool.ts';
import { InfluxTargets } from './influx/targets.ts';
import { policyWriter, StorageManager } from './influx/retention.ts';
import { diskPoint, diskUsage, type DiskUsage } from './influx/capacity.ts';
import { encodePoint } from '@canh/protocol';
import { hostname } from 'node:os';
import { EventTimes, type SlotOf } from './event-times.ts';
import type { MinFree } from '@canh/core';
import { HealthReporter } from './health.ts';
import { CollectorServer, combineHooks, type CollectorHooks } from './server.ts';
import { StatusPage } from './status/index.ts';
import { alertingView } from './status/alerting.ts';
import { CentralConfigStore, type CentralReader } from './central/store.ts';
import { AlertEngine, mailDomain, type AlertReloadSummary } from './alerts/engine.ts';
import type { AlertStore } from './alerts/store.ts';
import { pointsOf } from '@canh/protocol';
import { PgState } from './state/postgres.ts';
import { PgRegistry } from './state/pg-registry.ts';
import { PgCentralStore } from './state/pg-central.ts';
import { PgAlertStore } from './state/pg-alert-store.ts';
import { AgentSessions, AlertInputs } from './state/cluster.ts';
import { HostRules } from './state/host-rules.ts';
import type { AlertingConfig } from './alerts/config.ts';
import { handleAlertApi, handleReloadApi } from './alerts/http.ts';
import { identityOf, type Identity } from './identity.ts';

/** The outcome of one reload, as logged and as the API and CLI report it. */
export type ReloadResult =
  { ok: true; alerting: AlertReloadSummary | 'enabled' | 'disabled' | 'absent'; restartNeeded: string[] } | { ok: false; code: string; error: string };

export interface ReloadStats {
  reloads: number;
  failures: number;
  lastAt: number | null;
  lastError: string | null;
}

export function openRegistry(stateDir: string): SqliteRegistry {
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  return new SqliteRegistry(join(stateDir, 'collector.db'));
}

/** The PostgreSQL side of a collector sharing state with others (`state: { postgres }`). */
export interface PgParts {
  state: PgState;
  registry: PgRegistry;
  central: PgCentralStore;
  alertStore?: PgAlertStore;
}

/** Open the shared state named by `state.postgres` (tables made if missing). */
export async function openPgState(config: CollectorConfig, log: Logger, opts: { collectorId?: string; campaign?: boolean } = {}): Promise<PgParts> {
  const c = config.state!.postgres;
  const state = await PgState.open({
    url: c.url,
    password: config.statePassword,
    log: log.child({ component: 'state' }),
    maxQueued: c.max_queued_writes,
    leaderPollMs: c.leader_poll,
    collectorId: opts.collectorId ?? c.collector_id,
    campaign: opts.campaign,
  });
  try {
    const registry = await PgRegistry.open(state);
    const central = await PgCentralStore.open(state);
    const alertStore = config.alerting ? await PgAlertStore.load(state, { messageDomain: mailDomain(config.alerting) }) : undefined;
    return { state, registry, central, alertStore };
  } catch (err) {
    await state.stop();
    throw err;
  }
}

export class Collector {
  readonly registry: AgentRegistry;
  /** Every InfluxDB target (one unless influx.targets lists several). */
  readonly writer: InfluxTargets;
  readonly server: CollectorServer;
  readonly spool: CollectorSpool;
  readonly central: CentralConfigStore | undefined;
  /** Shared state, alert inputs and agent sessions when several collectors share PostgreSQL. */
  readonly pg: PgParts | undefined;
  readonly inputs: AlertInputs | undefined;
  readonly sessions: AgentSessions | undefined;
  /** Host rules of the agents connected here (several collectors on PostgreSQL; state/host-rules.ts). */
  hostRules: HostRules | undefined;
  readonly status: StatusPage;
  /** Retention policies, roll-ups and the events copy (influx/retention.ts), of the first target. */
  readonly storage: StorageManager;
  /** The same, one per InfluxDB target. */
  private readonly storages: StorageManager[];
  readonly reloadStats: ReloadStats = { reloads: 0, failures: 0, lastAt: null, lastError: null };
  private health: HealthReporter | undefined;
  private diskTimer: NodeJS.Timeout | undefined;
  /** InfluxDB's disk as last seen (storage.influx_data_dir on this machine), for the status page. */
  influxDisk: DiskUsage | undefined;
  private engine: AlertEngine | undefined;
  private stopped = false;
  private started = false;
  private config: CollectorConfig;
  private readonly configFile: string | undefined;
  private readonly log: Logger;
  private reloading: Promise<ReloadResult> | undefined;
  private roleChange: Promise<void> = Promise.resolve();
  /** The collector's own host, for its influxdb_disk point. */
  private readonly selfId: Identity = { host: hostname().slice(0, 128) || 'collector', agency: 'datacenter', site: 'collector' };

  /** A collector with its state opened: PostgreSQL when `state.postgres` is set, else SQLite. */
  static async create(config: CollectorConfig, deps: { log: Logger; hooks?: CollectorHooks; configFile?: string; collectorId?: string }): Promise<Collector> {
    if (!config.state?.postgres) return new Collector(config, deps);
    return new Collector(config, { ...deps, pg: await openPgState(config, deps.log, { collectorId: deps.collectorId }) });
  }

  constructor(
    config: CollectorConfig,
    deps: {
      log: Logger;
      registry?: AgentRegistry;
      hooks?: CollectorHooks;
      configFile?: string;
      pg?: PgParts;
      /** Where a security event's digest asks to be stored first (tests force collisions; event-times.ts). */
      eventSlot?: SlotOf;
    },
  ) {
    this.config = config;
    this.configFile = deps.configFile;
    this.log = deps.log;
    this.pg = deps.pg;
    this.registry = deps.registry ?? deps.pg?.registry ?? openRegistry(config.state_dir);
    this.central = this.registry instanceof SqliteRegistry ? new CentralConfigStore(this.registry.db) : undefined;
    const centralReader: CentralReader | undefined = this.central ?? deps.pg?.central;
    this.writer = this.createWriter(config, deps.log);
    // The first target's spool: what one-target setups (and their tests) call the collector's spool.
    this.spool = this.writer.targets[0]!.spool;
    this.storages = this.createStorages(config, deps.log);
    this.storage = this.storages[0]!;
    const eventTimes = this.createEventTimes(config, deps.log, deps.eventSlot);
    if (config.alerting) this.engine = this.newEngine(config, deps.pg?.alertStore);
    if (deps.pg) {
      const pg = deps.pg;
      this.inputs = new AlertInputs(pg.state, deps.log.child({ component: 'alert-inputs' }));
      if (config.alerting) this.hostRules = this.newHostRules(config.alerting);
      this.sessions = new AgentSessions(pg.state, (id) => {
        // A newer session elsewhere: that collector judges the agent's host rules now.
        this.hostRules?.offlineAgent(id);
        return this.server.replaceAgent(id);
      });
      pg.state.agentCount = () => this.server.connectedIds().size;
      // The own disk this collector judges, in its heartbeats (the leader resolves it once it is gone).
      pg.state.ownDisk = { host: this.selfId.host, path: config.storage.influx_data_dir.slice(0, 200) };
      pg.state.onLeader = (leader) => {
        this.roleChange = this.roleChange
          .then(() => this.switchRole(leader))
          .catch((err: unknown) => this.log.error({ err }, 'could not change the alert role'));
      };
    }
    this.status = this.createStatusPage(config);
    const alertHooks = this.alertHooks();
    this.server = new CollectorServer(config, {
      registry: this.registry,
      writer: this.writer,
      log: deps.log.child({ component: 'receiver' }),
      hooks: combineHooks(this.status.hooks(), alertHooks, deps.hooks),
      central: centralReader,
      eventTimes,
      health: () => this.receiverHealth(),
    });
  }

  private createWriter(config: CollectorConfig, log: Logger): InfluxTargets {
    const i = config.influx;
    return new InfluxTargets(
      {
        targets: config.influxTargets ?? [{ name: 'default', url: i.url, username: i.username, password: config.influxPassword }],
        writeQuorum: i.write_quorum,
        writer: {
          database: i.database,
          batchSize: i.batch_size,
          flushIntervalMs: i.flush_interval,
          lingerMs: i.flush_linger,
          timeoutMs: i.timeout,
          maxQueuedLines: i.max_queued_lines,
          concurrency: i.concurrency,
          retention: i.retention_policy,
        },
        spool: { stateDir: config.state_dir, maxBytes: config.spool.max_bytes, minFree: config.spool.min_free as MinFree },
      },
      log.child({ component: 'influx' }),
    );
  }

  /** Every target holds the same data, so each gets the same policies and roll-ups. */
  private createStorages(config: CollectorConfig, log: Logger): StorageManager[] {
    const i = config.influx;
    const targets = config.influxTargets ?? [{ name: 'default', url: i.url, username: i.username, password: config.influxPassword }];
    return targets.map(
      (t, k) =>
        new StorageManager(config.storage, {
          client: { query: (q: string, db?: string) => this.writer.targets[k]!.writer.query(q, db) },
          database: i.database,
          rawPolicy: i.retention_policy,
          writePolicy: policyWriter({ url: t.url, database: i.database, username: t.username, password: t.password, timeoutMs: i.timeout }),
          log: log.child({ component: 'storage', ...(targets.length > 1 ? { target: t.name } : {}) }),
        }),
    );
  }

  /** Where security events are stored, with the times of those waiting in the spools taken. */
  private createEventTimes(config: CollectorConfig, log: Logger, slot: SlotOf | undefined): EventTimes {
    const i = config.influx;
    const eventLog = log.child({ component: 'event-times' });
    let probeLoggedAt = -Infinity;
    const eventTimes = new EventTimes({
      probe: (q) => this.writer.query(q, i.database, 'ns'),
      slot,
      retentionPolicy: i.retention_policy,
      onProbeError: (err) => {
        // Once a minute at most: InfluxDB down is already logged by the writer.
        if (performance.now() - probeLoggedAt < 60_000) return;
        probeLoggedAt = performance.now();
        eventLog.warn(
          { err: err.message, ...eventTimes.stats },
          'could not look up stored security events in InfluxDB; event times chosen from what this collector knows (see docs/delivery.md)',
        );
      },
    });
    // Events in the spools are not in InfluxDB yet: their times are taken.
    let learnt = 0;
    for (const t of this.writer.targets) learnt += t.spool.forEachRecord((text, precision) => eventTimes.learnLines(text, precision));
    if (learnt) eventLog.info({ events: learnt }, 'security events waiting in the spool: their stored times are reserved');
    return eventTimes;
  }

  private createStatusPage(config: CollectorConfig): StatusPage {
    const current = (): AlertEngine | undefined => this.engine;
    return new StatusPage(
      { users: config.statusUsers ?? [], sessionTtlMs: config.status.session_ttl, language: config.status.language, timeZone: config.status.time_zone },
      this.registry,
      {
        connected: () => this.server.connectedIds(),
        influx: async () => {
          const up = await this.writer.pingEach();
          const targets = this.writer
            .status()
            .map((t, k) => ({ name: t.name, up: up[k]!, queued: t.queued_lines, spooled: t.spooled_records, lost: t.lost_lines }));
          return {
            up: up.filter(Boolean).length >= this.writer.quorum,
            queued: this.writer.stats.queued,
            spooled: this.writer.pendingRecords,
            lastError: this.writer.stats.lastError,
            ...(targets.length > 1 ? { targets } : {}),
            disk: this.influxDisk ? { usedPercent: this.influxDisk.usedPercent, free: this.influxDisk.free } : undefined,
            storage: { vi: this.storage.summary('vi'), en: this.storage.summary('en') },
          };
        },
        // Getters: a reload may add or remove the alert engine.
        get alerts() {
          const e = current();
          return e ? () => e.statusAlerts() : undefined;
        },
        get silences() {
          const e = current();
          return e ? () => e.statusSilences() : undefined;
        },
        get smtp() {
          const e = current();
          return e ? () => e.smtpHealth() : undefined;
        },
        get alerting() {
          const e = current();
          return e ? () => alertingView(e, Date.now()) : undefined;
        },
        get acknowledge() {
          const e = current();
          return e ? (id: number, by: string, comment: string) => e.acknowledge(id, by, comment) : undefined;
        },
        cluster: () => this.cluster(),
      },
    );
  }

  /** The receiver keeps these hooks for its life; they reach whichever engine is current. */
  private alertHooks(): CollectorHooks {
    return {
      onBatch: (id, _agent, batch) => {
        const e = this.engine;
        if (!this.inputs) return e?.onBatch(id, batch);
        if (!e || this.stopped) return;
        // Shared state: host rules here; what the leader's rules need goes to it (events of
        // rules across hosts, points of rules spanning agents: rarely a batch's points).
        this.hostRules?.onBatch(id, batch);
        this.inputs.batch(
          id,
          pointsOf(batch, (m) => e.watches(m)).filter((p) => e.wantsPoint(p, id)),
          batch.events.filter((x) => e.wantsEvent(x.type)),
        );
      },
      onAgentState: (id, agent, online, at) => {
        if (this.stopped) return;
        if (this.sessions) {
          if (online) {
            this.hostRules?.online(id, agent.id);
            // Judged here once this session is the one on record (its writes pass the fence).
            this.sessions.online(agent.id, at, () => this.hostRules?.owned(id.host));
          } else {
            this.sessions.offline(agent.id);
            // Revoked: nothing of the host stays in memory; moved: it ages out (host-rules.ts).
            if (this.registry.isRevoked(agent.id)) this.hostRules?.forgetHost(id.host);
            else this.hostRules?.offline(id.host);
          }
        }
        if (!this.inputs) return this.engine?.onAgentState(id, online, at);
        if (this.engine) this.inputs.agentState(id, online, at);
      },
      http: (req, res) => this.http(req, res),
    };
  }

  /** More of this collector's state for the receiver's /healthz. */
  private receiverHealth(): Record<string, unknown> {
    const r = this.reloadStats;
    const sp = this.spool;
    const targets = this.writer.status();
    return {
      ...(targets.length > 1 ? { influx_targets: { write_quorum: this.writer.quorum, targets } } : {}),
      config_reloads: { applied: r.reloads, failed: r.failures, last_at: r.lastAt, last_error: r.lastError },
      spool: {
        records: sp.pendingRecords,
        bytes: sp.pendingBytes,
        spool_disk_full: sp.diskFull ? 1 : 0,
        refused_disk_full: sp.refusedDiskFull,
        refused_full: sp.refusedFull,
      },
      ...(this.pg ? { cluster: this.clusterHealth() } : {}),
    };
  }

  /** Present when the config has an `alerting:` section (it may come or go with a reload). */
  get alerts(): AlertEngine | undefined {
    return this.engine;
  }

  /** The cluster as this collector sees it (PostgreSQL state), for /healthz and the status page. */
  cluster():
    { self: string; leader: string | null; isLeader: boolean; collectors: ReturnType<PgState['cluster']>['collectors']; state: PgState['stats'] } | undefined {
    if (!this.pg) return undefined;
    const c = this.pg.state.cluster();
    return { ...c, isLeader: this.pg.state.isLeader, state: { ...this.pg.state.stats } };
  }

  /** /healthz's `cluster`: who is here, who leads, how the shared state's writes fare. */
  private clusterHealth(): Record<string, unknown> {
    const c = this.cluster()!;
    const now = Date.now();
    return {
      self: c.self,
      leader: c.leader,
      is_leader: c.isLeader,
      collectors: c.collectors.map((m) => ({ id: m.id, host: m.host, agents: m.agents, leader: m.leader, heartbeat_age_ms: now - m.heartbeatAt })),
      state: {
        connected: c.state.connected,
        queued: c.state.queued,
        written: c.state.written,
        dropped: c.state.dropped,
        failed: c.state.failedWrites,
        retries: c.state.retries,
        last_error: c.state.lastError,
      },
      alert_inputs: { ...this.inputs!.stats },
      ...(this.hostRules ? { host_rules: { ...this.hostRules.stats, ...this.hostRules.writes, open: this.hostRules.open } } : {}),
      sessions_replaced: this.sessions!.stats.replaced,
    };
  }

  /**
   * Became or stopped being the leader: the engine is built again from the shared state
   * (the previous leader's writes are all in: its epoch is fenced off). The leader's engine
   * runs and is fed every collector's alert inputs; a follower's stays idle and serves the
   * alert API (silences it adds reach the leader by NOTIFY).
   */
  private async switchRole(leader: boolean): Promise<void> {
    const pg = this.pg!;
    this.inputs!.follow();
    // The engine that ran stops at once (a former leader must not go on evaluating); a
    // stopped engine still answers the alert API and says what rules watch.
    const old = this.engine;
    if (old) await old.stop();
    if (this.stopped || !this.config.alerting) return;
    let store: PgAlertStore | undefined;
    for (let wait = 500; !store; wait = Math.min(wait * 2, 10_000)) {
      if (this.stopped || leader !== pg.state.isLeader) return;
      try {
        store = await PgAlertStore.load(pg.state, { messageDomain: mailDomain(this.config.alerting) });
      } catch (err) {
        // PostgreSQL away: the next role change, or its return, decides.
        this.log.warn({ err: (err as Error).message, code: 'CANH_ERR_STATE_UNAVAILABLE' }, 'could not load the shared alert state; retrying');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    if (this.stopped || leader !== pg.state.isLeader) {
      store.close();
      return;
    }
    const engine = this.newEngine(this.config, store);
    this.engine = engine;
    old?.store.close();
    if (!leader || !this.started) return;
    // Caught up on every collector's inputs first, then the first round: one mail, not two.
    for (let wait = 500; ; wait = Math.min(wait * 2, 10_000)) {
      if (this.stopped || !pg.state.isLeader || this.engine !== engine) return;
      try {
        await this.inputs!.lead(engine);
        break;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, code: 'CANH_ERR_STATE_UNAVAILABLE' }, 'could not read the alert inputs to lead; retrying');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    engine.start();
  }

  private newEngine(config: CollectorConfig, store?: AlertStore): AlertEngine {
    mkdirSync(config.state_dir, { recursive: true, mode: 0o750 });
    return new AlertEngine(config.alerting!, {
      log: this.log.child({ component: 'alerts' }),
      ...(store ? { store } : { dbFile: join(config.state_dir, 'collector.db') }),
      secrets: config.alertingSecrets,
      mono: () => performance.now(),
      writeLines: (lines) => this.writer.write(lines),
      hostRulesElsewhere: !!this.pg,
      isRevoked: (host) => {
        const a = this.registry.get(host);
        return !a || a.revokedAt !== null;
      },
      // The registry's revoked agents: cleaned up whether or not this engine heard of them.
      revokedHosts: () => this.registry.revokedNames(),
      hostsCleaned: (hosts) => this.registry.forgetRemoved(hosts),
    });
  }

  /** Host rules for this collector's agents; the leader hears of their transitions through the input log. */
  private newHostRules(cfg: AlertingConfig): HostRules {
    return new HostRules(cfg, {
      state: this.pg!.state,
      log: this.log.child({ component: 'host-rules' }),
      onTransition: (a, host) => this.inputs!.alert(host, a.id),
      writeLines: (lines) => this.writer.write(lines),
      query: (q) => this.writer.query(q, this.config.influx.database),
      retentionPolicy: this.config.influx.retention_policy,
    });
  }

  /** Alerting enabled by a reload: host rules for the agents already connected (their sessions are on record). */
  private startHostRules(cfg: AlertingConfig): void {
    const hr = (this.hostRules ??= this.newHostRules(cfg));
    for (const c of this.server.connectedAgents()) {
      const id = identityOf(c.agent);
      hr.online(id, c.agent.id);
      hr.owned(id.host);
    }
    if (this.started) hr.start();
  }

  private http(req: IncomingMessage, res: ServerResponse): Promise<boolean> | boolean {
    if (req.url?.split('?')[0]?.replace(/\/+$/, '') === '/api/v1/reload') {
      return handleReloadApi(req, res, { adminToken: this.engine?.adminToken, log: this.log, reload: () => this.reload() });
    }
    const engine = this.engine;
    return engine ? handleAlertApi(req, res, { engine, adminToken: engine.adminToken, log: this.log, now: () => engine.now() }) : false;
  }

  /**
   * Re-read the config file the collector was started with, validate it in full and
   * apply its `alerting:` section. An invalid file changes nothing. Other sections that
   * changed are named in the log (they need a restart). One reload at a time: a call
   * during a reload waits for it, then reloads again.
   */
  reload(next?: CollectorConfig): Promise<ReloadResult> {
    const run = async (): Promise<ReloadResult> => {
      if (this.reloading) await this.reloading.catch(() => {});
      return this.reloadNow(next);
    };
    const p = run().finally(() => {
      if (this.reloading === p) this.reloading = undefined;
    });
    this.reloading = p;
    return p;
  }

  private async reloadNow(given: CollectorConfig | undefined): Promise<ReloadResult> {
    const stats = this.reloadStats;
    const fail = (code: string, error: string): ReloadResult => {
      stats.failures++;
      stats.lastError = error;
      this.log.error({ code, failures: stats.failures }, `alerting config not reloaded; the running config stays: ${error}`);
      return { ok: false, code, error };
    };
    if (this.stopped) return fail('CANH_ERR_RELOAD_FAILED', 'the collector is stopping');
    let next: CollectorConfig;
    try {
      if (given) next = given;
      else if (this.configFile) next = loadCollectorConfig(this.configFile);
      else return fail('CANH_ERR_RELOAD_FAILED', 'the collector was not started from a config file');
    } catch (err) {
      if (err instanceof CanhError) return fail(err.code, err.message);
      throw err;
    }
    const restartNeeded = changedSections(this.config, next);
    let alerting: Extract<ReloadResult, { ok: true }>['alerting'];
    try {
      if (next.alerting && this.engine) {
        alerting = this.engine.reload(next.alerting, next.alertingSecrets);
        this.hostRules?.reload(next.alerting);
      } else if (next.alerting) {
        const store = this.pg ? await PgAlertStore.load(this.pg.state, { messageDomain: mailDomain(next.alerting) }) : undefined;
        const engine = this.newEngine({ ...this.config, alerting: next.alerting, alertingSecrets: next.alertingSecrets }, store);
        // Connected agents will not connect again to tell it: they are online as of now.
        const now = Date.now();
        for (const c of this.server.connectedAgents()) {
          if (this.inputs) this.inputs.agentState(identityOf(c.agent), true, now);
          else engine.onAgentState(identityOf(c.agent), true, now);
        }
        this.engine = engine;
        if (this.pg) this.startHostRules(next.alerting);
        if (this.started && (!this.pg || this.pg.state.isLeader)) {
          if (this.pg) await this.inputs!.lead(engine);
          engine.start();
        }
        alerting = 'enabled';
      } else if (this.engine) {
        const old = this.engine;
        // Detached first, so no batch reaches an engine that is stopping.
        this.engine = undefined;
        this.inputs?.follow();
        this.hostRules?.stop();
        this.hostRules = undefined;
        await old.stop();
        if (this.pg) old.store.close();
        alerting = 'disabled';
      } else alerting = 'absent';
    } catch (err) {
      // Rules, templates or the SMTP transport could not be built: nothing was swapped.
      return fail('CANH_ERR_RELOAD_FAILED', `${this.configFile ?? 'config'}: ${(err as Error).message}`);
    }
    // Retention periods apply on reload too; a shorter one still waits for --confirm.
    if (JSON.stringify(next.storage) !== JSON.stringify(this.config.storage)) for (const st of this.storages) void st.reload(next.storage);
    this.config = { ...this.config, alerting: next.alerting, alertingSecrets: next.alertingSecrets, storage: next.storage };
    stats.reloads++;
    stats.lastAt = Date.now();
    stats.lastError = null;
    if (typeof alerting === 'object') {
      const { rules, threshold, absence, event, added, removed, changed, resolved, recipients, smtpChanged } = alerting;
      this.log.info(
        { rules, threshold, absence, event, added, removed, changed, resolved, recipients, smtpChanged, reloads: stats.reloads },
        'alerting config reloaded',
      );
    } else this.log.info({ alerting, reloads: stats.reloads }, 'alerting config reloaded');
    if (restartNeeded.length) {
      this.log.warn({ sections: restartNeeded }, `config changed outside alerting (${restartNeeded.join(', ')}); restart the collector to apply it`);
    }
    return { ok: true, alerting, restartNeeded };
  }

  async start(): Promise<void> {
    if (this.config.influx.create_database) {
      // InfluxDB may still be starting; the writer retries anyway, so only warn here.
      await this.writer
        .ensureDatabase()
        .catch((err: Error) => this.log.warn({ err: err.message }, 'could not create the InfluxDB database yet; writes will retry'));
    }
    this.writer.start();
    for (const st of this.storages) st.start();
    // Shared state: only the leader's engine runs; the state's session says who leads.
    if (this.pg) {
      this.pg.state.start();
      this.hostRules?.start();
    } else this.engine?.start();
    this.started = true;
    await this.server.start();
    this.health = new HealthReporter({ server: this.server, writer: this.writer, spool: this.writer }, this.log.child({ component: 'health' }));
    this.health.start();
    this.watchInfluxDisk();
  }

  /** Every minute: InfluxDB's disk as a point (self-metric) and through the alert engine (influxdb_disk_* rules). */
  private watchInfluxDisk(): void {
    const id = this.selfId;
    const check = (): void => {
      const d = diskUsage(this.config.storage.influx_data_dir);
      this.influxDisk = d;
      if (!d) return;
      const p = diskPoint(d, Date.now());
      const line = encodePoint(p, { ...id });
      if (line) this.writer.write([line]).catch((err: Error) => this.log.debug({ err: err.message }, 'influxdb_disk point not written'));
      const hr = this.hostRules;
      if (!hr) this.engine?.onBatch(id, { points: [p], events: [] });
      else {
        // Several collectors: each judges its own disk, as a host of its own (not only the leader).
        if (this.pg) this.pg.state.ownDisk = { host: id.host, path: p.tags.path! };
        hr.self(id, p.tags.path!);
        hr.onBatch(id, { points: [p] });
      }
    };
    check();
    this.diskTimer = setInterval(check, 60_000);
    this.diskTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.diskTimer);
    // Alerting stops first: agents cut off by our own shutdown are not "offline".
    await this.reloading?.catch(() => {});
    this.health?.stop();
    this.hostRules?.stop();
    this.inputs?.stop();
    await this.roleChange;
    await this.engine?.stop();
    for (const st of this.storages) await st.stop();
    await this.server.stop();
    await this.writer.stop();
    this.registry.close();
    if (this.pg) {
      this.engine?.store.close();
      await this.pg.state.stop();
    }
  }
}

/** Top-level sections other than `alerting` whose values differ (secrets compared as read). */
export function changedSections(a: CollectorConfig, b: CollectorConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) {
    if (k === 'alerting' || k === 'alertingSecrets' || k === 'storage') continue;
    if (JSON.stringify((a as Record<string, unknown>)[k]) === JSON.stringify((b as Record<string, unknown>)[k])) continue;
    out.push(k === 'influxPassword' || k === 'influxTargets' ? 'influx' : k === 'statusUsers' ? 'status.users' : k);
  }
  return [...new Set(out)].sort();
}
