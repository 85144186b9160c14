// What a collector's host rules (host-rules.ts) keep in memory of a host once its agent
// leaves, over a real PostgreSQL (test/helpers/postgres.ts): a revoked host's flap history,
// windows and min_count counts go at once (forgetHost); a host whose agent moved to another
// collector keeps them only until they age out — flap history flap.window after its last
// transition, windows 2 h after their last sample, counts 24 h after their last event.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startPostgres, type Postgres } from '../../../test/helpers/postgres.ts';
import { parseCollectorConfig } from '../config.ts';
import { batch, event, hanoi, HOST_MEMORY_RULES, HOUR, hue, MIN, SEC, T0 } from '../alerts/test-kit.ts';
import { PgState } from './postgres.ts';
import { HostRules } from './host-rules.ts';

const log = pino({ level: 'silent' });
let pgServer: Postgres;
let state: PgState | undefined;
let dir: string;

beforeAll(async () => {
  pgServer = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'canh-host-memory-'));
}, 60_000);

afterAll(async () => {
  await state?.stop();
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until(f: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('a revoked host leaves nothing in memory at once; a host that moved keeps flap history flap.window at most, windows 2 h, counts 24 h', async () => {
  const url = await pgServer.createDatabase(`host_memory_${process.pid}`);
  state = await PgState.open({ url, password: pgServer.password, log, leaderPollMs: 100, campaign: false });
  state.start();
  const alerting = {
    default_rules: false,
    flap: { transitions: 4, window: '10m', hold: '2m' },
    rules: [...HOST_MEMORY_RULES],
    recipients: [],
  };
  const cfg = parseCollectorConfig({ state_dir: dir, alerting }, { env: {} }).alerting!;
  let t = T0;
  const hr = new HostRules(cfg, { state, log, onTransition: () => {}, clock: () => t });
  try {
    for (const [id, agent] of [
      [hanoi, 'agent-hanoi'],
      [hue, 'agent-hue'],
    ] as const) {
      hr.online(id, agent);
      hr.owned(id.host);
    }
    await until(() => hr.stats.loads === 2, 'both hosts loaded');
    const cpu = (at: number, usage: number) => ({ name: 'cpu', time: at, tags: {}, fields: { usage } });
    for (let i = 0; i < 18; i++) {
      t += 10 * SEC;
      for (const id of [hanoi, hue])
        hr.onBatch(id, batch([cpu(t, i % 2 ? 95 : 50)], [event(t, 'auth_failure', 'medium', 'failed password', { src_ip: '203.0.113.9' })]));
      hr.tick();
    }
    t += 10 * SEC;
    for (const id of [hanoi, hue]) hr.onBatch(id, batch([cpu(t, 10)]));
    hr.tick();
    // cpu_high flapped (fired and resolved nine times): its last clear waits for the flap
    // hold instead of resolving at once (the flap history outlives each resolved episode).
    for (const id of [hanoi, hue]) expect(hr.memoryOf(id.host)).toEqual({ windows: 1, events: 1, flaps: 1, episodes: 1 });

    // hanoi's agent revoked (its connection closed as such); hue's moved to another collector.
    hr.forgetHost(hanoi.host);
    hr.offline(hue.host);
    expect(hr.memoryOf(hanoi.host)).toEqual({ windows: 0, events: 0, flaps: 0, episodes: 0 });
    expect(hr.memoryOf(hue.host)).toEqual({ windows: 1, events: 1, flaps: 1, episodes: 0 });

    t += 11 * MIN;
    hr.tick();
    expect(hr.memoryOf(hue.host)).toEqual({ windows: 1, events: 1, flaps: 0, episodes: 0 });
    t += 2 * HOUR;
    hr.tick();
    expect(hr.memoryOf(hue.host)).toEqual({ windows: 0, events: 1, flaps: 0, episodes: 0 });
    t += 22 * HOUR;
    hr.tick();
    expect(hr.memoryOf(hue.host)).toEqual({ windows: 0, events: 0, flaps: 0, episodes: 0 });
  } finally {
    hr.stop();
  }
}, 60_000);
