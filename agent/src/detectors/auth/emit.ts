// Auth events (auth_log, windows_eventlog) into the accumulator, one security event each.
import type { Accumulator } from '../../inputs/types.ts';
import type { AuthEvent } from './aggregate.ts';

export function emit(acc: Accumulator, events: readonly AuthEvent[]): void {
  for (const e of events)
    acc.addEvent({ time: e.time, type: e.type, severity: e.severity, message: e.message, evidence: e.evidence, count: e.count, mitre: e.mitre });
}
