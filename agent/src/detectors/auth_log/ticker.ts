// The live auth_log's periodic work (held PAM and publickey failures committed, due updates,
// quiet incidents and connections ended) on a timer that is armed only while the pipeline
// holds something for it: an idle auth log costs no wake-up (issue 23). New lines arm it again.
export class HeldTicker {
  private readonly everyMs: number;
  private readonly holds: () => boolean;
  private readonly tick: () => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(everyMs: number, holds: () => boolean, tick: () => void) {
    this.everyMs = everyMs;
    this.holds = holds;
    this.tick = tick;
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** After lines were fed: arms the timer if they left something held (cheap: two map sizes). */
  poke(): void {
    if (this.timer !== undefined || !this.holds()) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.tick();
      } finally {
        this.poke();
      }
    }, this.everyMs);
  }

  /** Disarms; lines fed later (a restart) arm it again. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
