// Runs wevtutil XML output through the windows_eventlog logic with the events' own clock:
// what `canh-agent detect windows_eventlog` prints and what the tests compare.
import type { AuthEvent } from '../auth/aggregate.ts';
import { makeAggregator, type AggregationConfig } from '../auth/options.ts';
import { windowsEvent } from './events.ts';
import { readEvent, toAuthRecord, type WinRecord } from './parse.ts';
import { parseEventStream } from './xml.ts';

export function replayWindowsEvents(text: string, cfg: AggregationConfig): { records: WinRecord[]; events: AuthEvent[]; problems: string[]; read: number } {
  let clock = 0;
  const agg = makeAggregator(cfg, () => clock);
  const { events: els, problems } = parseEventStream(text);
  const records: WinRecord[] = [];
  const events: AuthEvent[] = [];
  for (const el of els) {
    const r = readEvent(el);
    if (!r || r.kind === 'other') continue;
    if (r.time !== undefined && r.time > clock) clock = r.time;
    records.push(r);
    const a = toAuthRecord(r);
    if (a) events.push(...agg.observe(a));
    const e = windowsEvent(r, cfg.privileged_groups, clock);
    if (e) events.push(e);
  }
  clock += cfg.window + cfg.key_grace + 1;
  events.push(...agg.tick());
  clock += cfg.window + 1;
  events.push(...agg.tick());
  return { records, events, problems, read: els.length };
}
