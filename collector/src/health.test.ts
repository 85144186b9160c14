// The collector's own `collector` point: what the NOC wall screen reads about it.
import { describe, expect, it } from 'vitest';
import { healthLine } from './health.ts';

describe('collector health point', () => {
  it('carries connections, traffic and the state of the InfluxDB writes as integers', () => {
    const line = healthLine(
      {
        server: { stats: { connected: 12, batches: 340, points: 51_000, events: 3, refusedPoints: 2, authFailures: 0, invalidMessages: 0, clockSteps: 0 } },
        writer: { stats: { written: 0, refused: 0, requests: 0, failures: 4, queued: 250, lastError: 'down', healthy: false }, write: async () => {} },
        spool: { pendingRecords: 7 },
      },
      1_700_000_000_000,
      'dc-collector-1',
    );
    expect(line).toBe(
      'collector,collector=dc-collector-1 agents_connected=12i,batches=340i,points=51000i,refused_points=2i,influx_healthy=0i,influx_queued=250i,influx_failures=4i,spooled=7i 1700000000000',
    );
  });
});
