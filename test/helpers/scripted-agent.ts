// An agent as the protocol sees it, for the tests of several collectors (test/ha-host-*.test.ts):
// hello, then a batch every 300 ms carrying the values and events the test sets, so a test can
// move it between collectors (connect to another) without a real agent's spool and timers.
import WebSocket from 'ws';
import { encode, PROTOCOL_VERSION, type SecurityEvent } from '@canh/protocol';
import { until } from './cluster.ts';

export class ScriptedAgent {
  readonly name: string;
  private readonly token: string;
  private ws: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  /** The fields of the `sensor` point in each batch. */
  values: Record<string, number>;
  /** Security events for the next batch. */
  events: SecurityEvent[] = [];
  /** Whether batches carry a `feed` point too (an input that can fall silent). */
  feed = false;
  /** Whether batches carry the `agent` point a real agent sends each interval (spool figures, no `online` field). */
  selfPoint = true;
  batches = 0;
  acked = 0;

  constructor(name: string, token: string, values: Record<string, number>) {
    this.name = name;
    this.token = token;
    this.values = values;
  }

  /** Connect to this collector (closing any other connection first). */
  async connect(n: { id: string; port: number }): Promise<void> {
    this.close();
    const ws = await until(
      () =>
        new Promise<WebSocket | undefined>((resolve) => {
          const w = new WebSocket(`ws://127.0.0.1:${n.port}/v1/agent`, { headers: { authorization: `Bearer ${this.token}` } });
          w.once('open', () =>
            w.send(
              encode({ type: 'hello', protocol: PROTOCOL_VERSION, agent_version: 't', hostname: this.name, os: 't', spool_batches: 0, dropped_points: 0 }),
            ),
          );
          w.once('message', () => resolve(w));
          // 401 until this collector's registry has heard of the token (NOTIFY).
          w.once('error', () => resolve(undefined));
        }),
      `${this.name} connected to ${n.id}`,
      30_000,
    );
    ws.on('message', (data) => {
      if (String(data).includes('"ack"')) this.acked++;
    });
    ws.on('error', () => {});
    this.ws = ws;
    this.timer = setInterval(() => this.send(), 300);
  }

  private send(): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    const time = Date.now();
    this.seq++;
    this.batches++;
    this.ws.send(
      encode({
        type: 'batch',
        seq: this.seq,
        points: [
          { name: 'sensor', time, tags: {}, fields: { ...this.values } },
          ...(this.selfPoint ? [{ name: 'agent', time, tags: {}, fields: { spool_batches: 0, dropped_points: 0 } }] : []),
          ...(this.feed ? [{ name: 'feed', time, tags: {}, fields: { n: 1 } }] : []),
        ],
        events: this.events.splice(0),
      }),
    );
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.ws?.terminate();
    this.ws = undefined;
  }
}
