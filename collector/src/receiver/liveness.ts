// Liveness by WebSocket ping/pong on the monotonic clock: an agent silent longer than
// offline_after is cut (and so marked offline); one quiet for a ping interval is pinged.
// A step of the wall clock is counted and logged, and changes nothing here.
import { WebSocket } from 'ws';
import { ClockWatch } from '@canh/core';
import type { Receiver } from './types.ts';

export class Liveness {
  private readonly clockWatch = new ClockWatch();
  private readonly r: Receiver;

  constructor(r: Receiver) {
    this.r = r;
  }

  /** How often check() runs. */
  get intervalMs(): number {
    const { ping_interval, offline_after } = this.r.config.liveness;
    return Math.max(100, Math.min(ping_interval, offline_after / 3));
  }

  check(): void {
    const { stats, log, conns, config } = this.r;
    const step = this.clockWatch.check();
    if (step !== undefined) {
      stats.clockSteps++;
      log.warn(
        { clock_step_ms: step, steps: stats.clockSteps },
        `the wall clock stepped ${step < 0 ? 'back' : 'forward'} by ${Math.round(Math.abs(step) / 1000)} s; liveness and rate limits go on by the monotonic clock`,
      );
    }
    const now = performance.now();
    for (const c of conns.values()) {
      // A held connection is quiet because the collector does not read it, not because the agent is gone.
      if (c.held) c.heardAt = now;
      if (now - c.heardAt > config.liveness.offline_after) {
        log.warn({ agent: c.agent.name, silentMs: Math.round(now - c.heardAt) }, 'agent silent too long; marking offline');
        c.ws.terminate();
        continue;
      }
      // An agent heard from within the interval (its batches come every cycle) needs no
      // ping: 10,000 pings and pongs every interval would be work for both sides.
      if (now - c.heardAt < config.liveness.ping_interval) continue;
      if (c.ws.readyState === WebSocket.OPEN) c.ws.ping();
    }
  }
}
