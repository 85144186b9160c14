// The collector process: registry + InfluxDB writer + WebSocket server, started and
// stopped as one. start() returns once it listens; stop() flushes, safe to call twice.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CollectorConfig } from './config.ts';
import { SqliteRegistry } from './registry/sqlite.ts';
import type { AgentRegistry } from './registry/types.ts';
import { InfluxWriter } from './influx/writer.ts';
import { CollectorSpool } from './influx/spool.ts';
import { CollectorServer, combineHooks, type CollectorHooks } from './server.ts';
import { StatusPage } from './status/index.ts';
import { CentralConfigStore } from './central/store.ts';
import { AlertEngine } from './alerts/engine.ts';

export function openRegistry(stateDir: string): SqliteRegistry {
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  return new SqliteRegistry(join(stateDir, 'collector.db'));
}

export class Collector {
  readonly registry: AgentRegistry;
  readonly writer: InfluxWriter;
  readonly server: CollectorServer;
  readonly spool: CollectorSpool;
  readonly central: CentralConfigStore | undefined;
  readonly status: StatusPage;
  /** Present when the config has an `alerting:` section. */
  readonly alerts: AlertEngine | undefined;
  private stopped = false;
  private readonly config: CollectorConfig;
  private readonly log: Logger;

  constructor(config: CollectorConfig, deps: { log: Logger; registry?: AgentRegistry; hooks?: CollectorHooks }) {
    this.config = config;
    this.log = deps.log;
    this.registry = deps.registry ?? openRegistry(config.state_dir);
    this.central = this.registry instanceof SqliteRegistry ? new CentralConfigStore(this.registry.db) : undefined;
    const i = config.influx;
    this.writer = new InfluxWriter(
      {
        url: i.url,
        database: i.database,
        username: i.username,
        password: config.influxPassword,
        batchSize: i.batch_size,
        flushIntervalMs: i.flush_interval,
        timeoutMs: i.timeout,
        maxQueuedLines: i.max_queued_lines,
        concurrency: i.concurrency,
        retention: i.retention_policy,
      },
      deps.log.child({ component: 'influx' }),
    );
    this.spool = new CollectorSpool({ dir: join(config.state_dir, 'spool'), maxBytes: config.spool.max_bytes }, this.writer, deps.log.child({ component: 'spool' }));
    this.writer.fallback = (text, n) => this.spool.storeText(text, n);
    if (config.alerting) {
      mkdirSync(config.state_dir, { recursive: true, mode: 0o750 });
      this.alerts = new AlertEngine(config.alerting, {
        log: deps.log.child({ component: 'alerts' }),
        dbFile: join(config.state_dir, 'collector.db'),
        secrets: config.alertingSecrets,
        writeLines: (lines) => this.writer.write(lines),
        isRevoked: (host) => {
          const a = this.registry.get(host);
          return !a || a.revokedAt !== null;
        },
      });
    }
    const alerts = this.alerts;
    this.status = new StatusPage(
      { users: config.statusUsers ?? [], sessionTtlMs: config.status.session_ttl, language: config.status.language, timeZone: config.status.time_zone },
      this.registry,
      {
        connected: () => this.server.connectedIds(),
        influx: async () => ({ up: await this.writer.ping(), queued: this.writer.stats.queued, spooled: this.spool.pendingRecords, lastError: this.writer.stats.lastError }),
        ...(alerts ? { alerts: () => alerts.statusAlerts(), silences: () => alerts.statusSilences(), smtp: () => alerts.smtpHealth() } : {}),
      },
    );
    this.server = new CollectorServer(config, {
      registry: this.registry,
      writer: this.writer,
      log: deps.log.child({ component: 'receiver' }),
      hooks: combineHooks(this.status.hooks(), this.alerts?.hooks(), deps.hooks),
      central: this.central,
    });
  }

  async start(): Promise<void> {
    if (this.config.influx.create_database) {
      // InfluxDB may still be starting; the writer retries anyway, so only warn here.
      await this.writer.ensureDatabase().catch((err: Error) => this.log.warn({ err: err.message }, 'could not create the InfluxDB database yet; writes will retry'));
    }
    this.writer.start();
    this.spool.start();
    this.alerts?.start();
    await this.server.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Alerting stops first: agents cut off by our own shutdown are not "offline".
    await this.alerts?.stop();
    await this.server.stop();
    await this.writer.stop();
    this.spool.stop();
    this.registry.close();
  }
}
