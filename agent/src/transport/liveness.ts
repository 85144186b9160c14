// Liveness: a ping when nothing (an ack, a ping) came from the collector for a whole
// ping_interval; no answer within the next one ends the socket. The check runs on a timer
// of its own, or, with `livenessByOwner`, whenever the owner calls check() (the agent
// does at each of its ticks, which wake it anyway), so no timer of its own wakes the agent.
import { WebSocket } from 'ws';
import type { Logger } from 'pino';

export class Liveness {
  private timer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  /** performance.now() of the last frame from the collector, and of the ping we wait on. */
  private lastHeard = 0;
  private pingSentAt = 0;
  private readonly intervalMs: number;
  private readonly byOwner: boolean;
  private readonly log: Logger;

  constructor(intervalMs: number, byOwner: boolean, log: Logger) {
    this.intervalMs = intervalMs;
    this.byOwner = byOwner;
    this.log = log;
  }

  /**
   * Any frame from the collector proves the connection alive: the liveness timer starts
   * over (refresh() moves it without a new timer), so while acks come every cycle it
   * never fires, and the agent is not woken for it.
   */
  heard(): void {
    this.awaitingPong = false;
    if (this.byOwner) this.lastHeard = performance.now();
    else this.timer?.refresh();
  }

  /** A connection to `ws` is open (its hello sent): watch it. */
  start(ws: WebSocket): void {
    this.awaitingPong = false;
    this.lastHeard = performance.now();
    if (this.byOwner) return;
    // Fires only after a whole interval with nothing from the collector: ping it then
    // (acks every cycle already say it is there), and if the next interval brings
    // nothing either, not even the pong, the connection is dead.
    this.timer = setTimeout(() => {
      if (this.awaitingPong) {
        this.log.warn('no pong from collector; reconnecting');
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      ws.ping();
      this.timer?.refresh();
    }, this.intervalMs);
  }

  /** The connection is gone, or the transport stops. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * With `livenessByOwner`: ping a collector silent for a whole ping interval, and end the
   * connection when a whole interval after that ping brought nothing, not even the pong.
   */
  check(ws: WebSocket | undefined): void {
    if (!this.byOwner || !ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    if (this.awaitingPong) {
      if (now - this.pingSentAt < this.intervalMs) return;
      this.log.warn('no pong from collector; reconnecting');
      ws.terminate();
    } else if (now - this.lastHeard >= this.intervalMs) {
      this.awaitingPong = true;
      this.pingSentAt = now;
      ws.ping();
    }
  }
}
