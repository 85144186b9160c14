// Backoff and the two retry timers: reconnecting after a failed or lost connection
// (jittered, capped; at once to the maximum after a close code that says "not soon"), and
// sending again the frames the collector could not make durable (InfluxDB busy). Neither
// timer is armed while the link works, so neither wakes a connected agent between ticks.
import type { Logger } from 'pino';
import { Backoff } from '@canh/core';

export class Reconnect {
  private readonly backoff: Backoff;
  private readonly retryBackoff = new Backoff(500, 30_000);
  private reconnectTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Another agent took this identity (REPLACED): never reconnect. */
  private fatal = false;
  private readonly maxMs: number;
  private readonly log: Logger;
  private readonly connect: () => void;
  private readonly resend: () => void;
  private readonly onRetry = (): void => {
    this.retryTimer = undefined;
    this.resend();
  };

  /** `connect` opens a new connection; `resend` sends again what the collector refused as busy. */
  constructor(minMs: number, maxMs: number, log: Logger, connect: () => void, resend: () => void) {
    this.backoff = new Backoff(minMs, maxMs);
    this.maxMs = maxMs;
    this.log = log;
    this.connect = connect;
    this.resend = resend;
  }

  /** A connection was welcomed: the next failure starts the backoff over. */
  connected(): void {
    this.backoff.reset();
  }

  /** An ack came: the next busy frame starts the retry backoff over. */
  acked(): void {
    this.retryBackoff.reset();
  }

  /** Never reconnect again (another process runs with this identity). */
  giveUp(): void {
    this.fatal = true;
  }

  /** Connect again after the backoff (or the longest wait, when `slow`). */
  schedule(slow: boolean): void {
    if (this.fatal) return;
    const delay = slow ? this.maxMs : this.backoff.next();
    this.log.debug({ delay }, 'reconnecting');
    this.reconnectTimer = setTimeout(this.connect, delay);
  }

  /** Send again after the retry backoff, unless a retry is already due. */
  retryLater(): void {
    this.retryTimer ??= setTimeout(this.onRetry, this.retryBackoff.next());
  }

  /** The transport stops: no timer left. */
  cancel(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}
