// The shipped rule pack covers the host-compromise events (persistence detector,
// listening_ports' program change): each of them, at the severity the agent gives it,
// opens an alert by default.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRules } from './rules.ts';

const RANK = { info: 0, low: 1, medium: 2, high: 3, critical: 4 } as const;
const detectorReadme = (name: string) => readFileSync(join(import.meta.dirname, '../../../agent/src/detectors', name, 'README.md'), 'utf8');

/** Event types of a detector README's events table whose severity column starts with high or critical. */
function alarming(readme: string): string[] {
  const out: string[] = [];
  for (const m of readme.matchAll(/^\| `([a-z_]+)` \| `?(critical|high)\b/gm)) out.push(m[1]!);
  return out;
}

describe('default rules for host-compromise events', () => {
  it('every high or critical persistence event type, and a changed program behind a port, opens an alert', () => {
    const types = [
      ...alarming(detectorReadme('persistence')),
      ...alarming(detectorReadme('listening_ports')).filter((t) => t === 'listening_port_program_changed'),
    ];
    expect(types).toEqual(
      expect.arrayContaining([
        'preload_set',
        'cron_job_added',
        'systemd_unit_added',
        'kernel_module_loaded',
        'suid_binary_added',
        'sudoers_changed',
        'pam_module_changed',
        'listening_port_program_changed',
      ]),
    );
    const rules = defaultRules();
    const uncovered = types.filter((t) => !rules.some((r) => r.type === 'event' && r.event_types.includes(t) && RANK[r.min_severity] <= RANK.high));
    expect(uncovered).toEqual([]);
  });
});
