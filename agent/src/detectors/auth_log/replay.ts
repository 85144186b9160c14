// Runs a whole auth log through the parser and the aggregator with the log's own clock,
// as if it were being followed live: what `canh-agent detect auth_log` prints and what the
// fixture tests compare. Time comes from each line, so the result is reproducible.
import type { AuthEvent } from './aggregate.ts';
import { makeAggregator, type AggregationConfig } from './options.ts';
import { parseLine, type AuthRecord } from './parse.ts';

export interface Replay {
  records: { line: number; record: AuthRecord }[];
  events: AuthEvent[];
  lines: number;
}

/** `now` only anchors the year of syslog timestamps (default: the real now). */
export function replayAuthLog(text: string, cfg: AggregationConfig, now = Date.now()): Replay {
  let clock = 0;
  const agg = makeAggregator(cfg, () => clock);
  const records: Replay['records'] = [];
  const events: AuthEvent[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const record = parseLine(line, { tz: cfg.timezone, now });
    if (!record) return;
    if (record.time !== undefined && record.time > clock) clock = record.time;
    records.push({ line: i + 1, record });
    events.push(...agg.observe(record));
  });
  // The log ends here: let every window close, as time passing would in a live agent.
  clock += cfg.window + cfg.key_grace + 1;
  events.push(...agg.tick());
  clock += cfg.window + 1;
  events.push(...agg.tick());
  return { records, events, lines: lines.length };
}
