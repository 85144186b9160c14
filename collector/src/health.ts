// The collector's own health as a measurement, `collector`, so a wall screen can show it
// beside what the agents report: agents connected, batches and points received, and the
// state of its InfluxDB writes (queued lines, records waiting in the spool, failures).
// One point at start and every HEALTH_INTERVAL_MS after; written through the same writer,
// so while InfluxDB is down the points wait in the spool and the gap itself is visible.
import { hostname } from 'node:os';
import { encodePoint } from '@canh/protocol';
import type { Logger } from 'pino';
import type { CollectorStats } from './server.ts';
import type { InfluxWriter } from './influx/writer.ts';
import type { CollectorSpool } from './influx/spool.ts';

export const HEALTH_INTERVAL_MS = 10_000;

export interface HealthSources {
  server: { stats: CollectorStats; eventTimes?: { stats: { unprobed: number } } };
  writer: Pick<InfluxWriter, 'stats' | 'write'>;
  spool: Pick<CollectorSpool, 'pendingRecords'>;
}

/** The `collector` point of this moment. */
export function healthLine(s: HealthSources, at: number, host = hostname()): string {
  const w = s.writer.stats;
  const fields = {
    agents_connected: s.server.stats.connected,
    batches: s.server.stats.batches,
    points: s.server.stats.points,
    refused_points: s.server.stats.refusedPoints,
    influx_healthy: w.healthy ? 1 : 0,
    influx_queued: w.queued,
    influx_failures: w.failures,
    spooled: s.spool.pendingRecords,
    // Seconds whose security events were placed without asking InfluxDB (docs/delivery.md).
    ...(s.server.eventTimes ? { events_unprobed: s.server.eventTimes.stats.unprobed } : {}),
  };
  return encodePoint({ name: 'collector', time: at, tags: { collector: host.slice(0, 128) || 'collector' }, fields, int: Object.keys(fields) })!;
}

export class HealthReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly sources: HealthSources;
  private readonly log: Logger;
  private readonly intervalMs: number;
  constructor(sources: HealthSources, log: Logger, intervalMs = HEALTH_INTERVAL_MS) {
    this.sources = sources;
    this.log = log;
    this.intervalMs = intervalMs;
  }

  start(): void {
    if (this.timer) return;
    const report = () => {
      this.sources.writer
        .write([healthLine(this.sources, Date.now())])
        .catch((err: Error) => this.log.debug({ err: err.message }, 'collector health point not written'));
    };
    report();
    this.timer = setInterval(report, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
