// Test support for the alert engine (not shipped behaviour): an engine on a temp
// SQLite file (or a store given, such as PostgreSQL's) with a hand-driven clock, wired to a real SMTP server, and shorthands for
// the batches agents send. Used by the *.test.ts files next to it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { decodeAgentMessage, RowsWriter, type Batch, type Point, type SecurityEvent, type Severity } from '@canh/protocol';
import { parseCollectorConfig } from '../config.ts';
import type { Identity } from '../identity.ts';
import { AlertEngine } from './engine.ts';
import type { AlertingConfig } from './config.ts';
import type { AlertStore } from './store.ts';
import type { TestSmtpServer } from '../../../test/helpers/smtp.ts';

/** Monday 4 May 2026, 08:00 in Hà Nội. */
export const T0 = Date.parse('2026-05-04T08:00:00+07:00');
export const SEC = 1000;
export const MIN = 60_000;
export const HOUR = 3_600_000;

export interface Harness {
  engine: AlertEngine;
  cfg: AlertingConfig;
  dir: string;
  dbFile: string;
  lines: string[];
  now(): number;
  /** Move the clock in 10 s steps, calling `each` (feed data) then ticking at every step. */
  advance(ms: number, each?: (t: number) => void): Promise<void>;
  /** Move the wall clock at once (a step: no tick, no data in between). */
  jump(ms: number): void;
  /** A new engine on the same SQLite file (a collector restart). */
  restart(): Promise<AlertEngine>;
  stop(): Promise<void>;
}

export function smtpSection(smtp: TestSmtpServer, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const section: Record<string, unknown> = {
    host: smtp.host,
    port: smtp.port,
    security: smtp.certPem ? 'starttls' : 'none',
    from: '"Canh" <canh@tinh.gov.vn>',
    retry: { min: '1s', max: '1m' },
    ...extra,
  };
  return section;
}

export function harness(
  alerting: Record<string, unknown>,
  opts: {
    start?: number;
    env?: NodeJS.ProcessEnv;
    certPem?: string;
    mono?: () => number;
    store?: AlertStore;
    isRevoked?: (host: string) => boolean;
    revokedHosts?: () => Iterable<string>;
    hostsCleaned?: (hosts: readonly string[]) => void;
    hostRulesElsewhere?: boolean;
  } = {},
): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'canh-alerts-'));
  const dbFile = join(dir, 'collector.db');
  if (opts.certPem) {
    writeFileSync(join(dir, 'ca.pem'), opts.certPem);
    const smtp = alerting.smtp as Record<string, unknown>;
    smtp.tls = { ca_file: join(dir, 'ca.pem'), ...((smtp.tls as object | undefined) ?? {}) };
  }
  const config = parseCollectorConfig({ state_dir: dir, alerting }, { env: opts.env ?? {} });
  const cfg = config.alerting!;
  let t = opts.start ?? T0;
  const lines: string[] = [];
  const log = pino({ level: process.env.CANH_TEST_LOG ?? 'silent' });
  const make = () =>
    new AlertEngine(cfg, {
      log,
      ...(opts.store ? { store: opts.store } : { dbFile }),
      clock: () => t,
      ...(opts.mono ? { mono: opts.mono } : {}),
      ...(opts.isRevoked ? { isRevoked: opts.isRevoked } : {}),
      ...(opts.revokedHosts ? { revokedHosts: opts.revokedHosts } : {}),
      ...(opts.hostsCleaned ? { hostsCleaned: opts.hostsCleaned } : {}),
      ...(opts.hostRulesElsewhere ? { hostRulesElsewhere: true } : {}),
      secrets: config.alertingSecrets,
      writeLines: async (l) => {
        lines.push(...l);
      },
    });
  const h: Harness = {
    engine: make(),
    cfg,
    dir,
    dbFile,
    lines,
    now: () => t,
    async advance(ms, each) {
      // The collector ticks every second; every 10 s of simulated time is enough here
      // and keeps hours of simulation fast.
      const end = t + ms;
      while (t < end) {
        t = Math.min(end, t + 10 * SEC);
        each?.(t);
        await h.engine.tick();
      }
    },
    jump(ms) {
      t += ms;
    },
    async restart() {
      await h.engine.stop();
      h.engine = make();
      return h.engine;
    },
    async stop() {
      await h.engine.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Rules that keep per-host memory of each kind (flap history, a window, a min_count count): what a host that leaves must not leave behind (revoke.test.ts, state/host-memory.test.ts). */
export const HOST_MEMORY_RULES = [
  { name: 'cpu_high', type: 'threshold', measurement: 'cpu', field: 'usage', op: '>', value: 90, group_by: ['host'], severity: 'high' },
  {
    name: 'cpu_avg',
    type: 'threshold',
    measurement: 'cpu',
    field: 'usage',
    op: '>',
    value: 99,
    function: 'avg',
    window: '2m',
    group_by: ['host'],
    severity: 'medium',
  },
  { name: 'login_burst', type: 'event', event_types: ['auth_failure'], min_count: 50, group_by: ['host'], severity: 'high' },
];

export const hanoi: Identity = { host: 'mc-portal-01', agency: 'so-tttt', site: 'dc' };
export const hue: Identity = { host: 'ws-ketoan-02', agency: 'so-yte', site: 'lan' };

export function ping(at: number, url: string, loss: number): Point {
  return { name: 'ping', time: at, tags: { url }, fields: { percent_packet_loss: loss, result_code: loss >= 100 ? 1 : 0 }, int: ['result_code'] };
}

export function disk(at: number, path: string, used: number): Point {
  return { name: 'disk', time: at, tags: { path }, fields: { used_percent: used } };
}

export function event(at: number, type: string, severity: Severity, message: string, evidence: Record<string, string | number> = {}): SecurityEvent {
  return { time: at, detector: 'test', type, severity, message, evidence, count: 1 };
}

/**
 * A batch as the collector receives it from canh-agent: the points in the `rows`
 * spelling, decoded by the protocol's own decoder. `pointsBatch` keeps them as objects.
 */
export function batch(points: Point[] = [], events: SecurityEvent[] = []): Batch {
  const w = new RowsWriter();
  for (const p of points) w.add(p);
  return decodeAgentMessage(`{"type":"batch","seq":1,${w.json()},"events":${JSON.stringify(events)}}`) as Batch;
}

export function pointsBatch(points: Point[] = [], events: SecurityEvent[] = []): Batch {
  return decodeAgentMessage(JSON.stringify({ type: 'batch', seq: 1, points, events })) as Batch;
}
