// Runs a whole auth log through the pipeline with the log's own clock, as if it were being
// followed live: what the fixture tests compare (`canh-agent detect` streams the same way).
// Time comes from each line, so the result is reproducible.
import type { AuthEvent } from '../auth/aggregate.ts';
import type { AggregationConfig } from '../auth/options.ts';
import type { Mode } from './fields.ts';
import type { AuthRecord } from './parse.ts';
import { AuthPipeline, type LineResult } from './pipeline.ts';

export interface Replay {
  records: { line: number; record: AuthRecord }[];
  events: AuthEvent[];
  lines: number;
  unparsed: number;
  zone: string;
}

/** Log clock for a replay: the latest line time seen, moved on by `finish`. */
export class LogReplay {
  private clock = 0;
  readonly pipeline: AuthPipeline;
  private readonly cfg: AggregationConfig;
  private readonly yearAnchor: number;

  constructor(cfg: AggregationConfig & { mode?: Mode }, yearAnchor = Date.now()) {
    this.cfg = cfg;
    this.yearAnchor = yearAnchor;
    this.pipeline = new AuthPipeline(cfg, () => this.clock);
    this.pipeline.onRecordTime = (t) => {
      if (t > this.clock) this.clock = t;
    };
  }

  line(text: string): LineResult {
    return this.pipeline.line(text, this.yearAnchor);
  }

  /** The log ends here: let every window close, as time passing would in a live agent. */
  finish(): AuthEvent[] {
    this.clock += this.cfg.window + Math.max(this.cfg.key_grace, 30_000) + 1;
    const events = this.pipeline.tick();
    this.clock += this.cfg.window + 1;
    events.push(...this.pipeline.tick());
    return events;
  }
}

/** `now` only anchors the year of syslog timestamps (default: the real now). */
export function replayAuthLog(text: string, cfg: AggregationConfig & { mode?: Mode }, now = Date.now()): Replay {
  const rp = new LogReplay(cfg, now);
  const records: Replay['records'] = [];
  const events: AuthEvent[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const r = rp.line(line);
    if (r.record) records.push({ line: i + 1, record: r.record });
    events.push(...r.events);
  });
  events.push(...rp.finish());
  return { records, events, lines: lines.length, unparsed: rp.pipeline.unparsed, zone: rp.pipeline.zone };
}
