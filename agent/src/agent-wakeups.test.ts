// The agent's wake-ups between ticks (docs/benchmarks.md, "bench:agent: wake-ups per
// cycle"): a connected agent reading acks at its ticks arms one timer per tick, the next
// tick's, and nothing else. The batcher's flush, the spool's fsync, the transport's
// liveness ping and its ack all ride on the tick; a timer of their own would wake the
// process once more every cycle (Node does not move libuv's timer later when a timer is
// cleared, so even one cleared in time still wakes it at its old deadline). The test counts
// which of the agent's own files arm timers while it runs against a real WebSocket server
// that speaks the collector's protocol, and that its socket is not read between ticks; it
// waits for acks, never for a time.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { pino } from 'pino';
import { decodeAgentMessage, encode, PROTOCOL_VERSION } from '@canh/protocol';
import { Agent } from './agent.ts';
import { parseConfig } from './config.ts';

/** Which source file (agent/src or core/src, tests left out) made the call that armed a timer. */
function armedBy(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n').slice(2)) {
    const m = /[/\\]((?:agent|core)[/\\]src[/\\][^:)]+\.ts):\d+/.exec(line);
    if (m && !m[1]!.endsWith('.test.ts')) return m[1]!.replace(/\\/g, '/');
    if (m) return undefined;
  }
  return undefined;
}

interface Armed {
  kind: 'setTimeout' | 'setInterval';
  file: string;
  delay: number;
  /** Whether it was armed during the steady state (after start-up). */
  steady: boolean;
  timer: { _destroyed?: boolean };
}

/** Record the timers the agent's code arms while `recording` is on (the real timers still run). */
function watchTimers() {
  const realTimeout = globalThis.setTimeout;
  const realInterval = globalThis.setInterval;
  const state = { recording: false, armed: [] as Armed[] };
  const wrap = <F extends (...a: never[]) => unknown>(kind: Armed['kind'], real: F): F =>
    function (this: unknown, ...args: Parameters<F>) {
      const timer = real.apply(this, args) as Armed['timer'];
      const file = armedBy(new Error().stack);
      if (file) state.armed.push({ kind, file, delay: Number(args[1] ?? 0), steady: state.recording, timer });
      return timer;
    } as unknown as F;
  globalThis.setTimeout = wrap('setTimeout', realTimeout);
  globalThis.setInterval = wrap('setInterval', realInterval);
  return {
    state,
    restore() {
      globalThis.setTimeout = realTimeout;
      globalThis.setInterval = realInterval;
    },
  };
}

describe('agent: one wake-up per tick', () => {
  let wss: WebSocketServer | undefined;
  let agent: Agent | undefined;
  let dir: string | undefined;
  let timers: ReturnType<typeof watchTimers> | undefined;
  afterEach(async () => {
    timers?.restore();
    await agent?.stop();
    await new Promise((r) => (wss ? wss.close(r) : r(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
    agent = wss = dir = timers = undefined;
  });

  it('arms only the next tick between ticks: flush, fsync, liveness and acks ride on it', async () => {
    const acksSent = { n: 0 };
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss!.once('listening', r));
    wss.on('connection', (ws: WebSocket) => {
      ws.on('message', (data) => {
        const msg = decodeAgentMessage(data as Buffer);
        if (msg.type === 'hello')
          ws.send(encode({ type: 'welcome', protocol: PROTOCOL_VERSION, server_time: Date.now(), agent: { id: 'a', host: 'h', agency: 'x', site: 's' } }));
        if (msg.type === 'batch') ws.send(encode({ type: 'ack', seq: msg.seq }), () => acksSent.n++);
      });
    });
    const port = (wss.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'canh-wakeups-'));
    const cfg = parseConfig(
      {
        collector: { url: `ws://127.0.0.1:${port}/v1/agent`, token: 't' },
        // spool_fsync: interval (the default) would arm its timer for a batch whose ack is late.
        agent: { interval: '1s', state_dir: dir, hostname: 'h', spool_fsync: 'interval' },
        inputs: [{ type: 'cpu' }, { type: 'mem' }],
      },
      { env: {} },
    );
    timers = watchTimers();
    agent = new Agent(cfg, { log: pino({ level: 'silent' }) });
    await agent.start();
    const transport = agent.transport;
    // Start-up (connect, hello, the first gathers) may arm what it likes; the steady state
    // begins once the collector has acked two batches and the agent has read both.
    await waitFor(() => transport.acked >= 2);
    timers.state.recording = true;
    const from = transport.acked;
    await waitFor(() => transport.acked >= from + 4);
    timers.state.recording = false;
    const ticks = transport.acked - from;
    const steady = timers.state.armed.filter((a) => a.steady);
    expect([...new Set(steady.map((a) => `${a.kind} ${a.file}`))]).toEqual(['setTimeout agent/src/scheduler.ts']);
    // One per tick (the window may hold the timer of the tick after the last ack read).
    expect(steady.length).toBeGreaterThanOrEqual(ticks - 1);
    expect(steady.length).toBeLessThanOrEqual(ticks + 1);
    // Nor one armed at start-up and kept alive by refresh() (a liveness timer would be):
    // what is pending now is the next tick alone.
    const pending = timers.state.armed.filter((a) => a.timer._destroyed === false);
    expect(pending.map((a) => `${a.kind} ${a.file}`)).toEqual(['setTimeout agent/src/scheduler.ts']);
    // And the socket rests between ticks: the ack of the last batch is read at the next
    // tick, not when it arrives (which would run the whole read path a second time a cycle).
    expect((transport as unknown as { resting: boolean }).resting).toBe(true);
    expect(acksSent.n).toBeGreaterThanOrEqual(transport.acked);
  });
});

/** Wait for a condition the agent's own work makes true, on a short poll (not a time bound). */
async function waitFor(cond: () => boolean): Promise<void> {
  const { setTimeout: sleep } = await import('node:timers/promises');
  for (let i = 0; i < 600 && !cond(); i++) await sleep(100);
  expect(cond()).toBe(true);
}
