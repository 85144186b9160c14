// Lines of a watched service that no pattern knows: counted (the agent's `unparsed_lines`)
// and up to 5 samples logged per hour, so a log format Canh does not know is visible
// instead of silently ignored.
import type { Logger } from 'pino';

export const SAMPLES_PER_HOUR = 5;

export class UnparsedSampler {
  private readonly log: Pick<Logger, 'warn'>;
  private readonly now: () => number;
  private hourStart = -Infinity;
  private logged = 0;
  private suppressed = 0;

  constructor(log: Pick<Logger, 'warn'>, now: () => number) {
    this.log = log;
    this.now = now;
  }

  add(line: string): void {
    const now = this.now();
    if (now - this.hourStart >= 3_600_000) {
      this.hourStart = now;
      this.logged = 0;
    }
    if (this.logged >= SAMPLES_PER_HOUR) {
      this.suppressed++;
      return;
    }
    this.logged++;
    // The line is the attacker's text: bounded, and a field of its own, never the message.
    this.log.warn(
      { sample: line.slice(0, 300), not_logged_before: this.suppressed },
      'auth_log: a line of a watched service that no pattern recognises (counted in unparsed_lines)',
    );
    this.suppressed = 0;
  }
}
