// Inhibition, as Alertmanager does it: while a root-cause alert fires (an agency's
// agent offline, its uplink down), alerts that match a target and share the `equal`
// labels with it send no notification; the root cause's own mail goes out alone. A
// root cause that resolved within `grace` still holds back, because the alerts behind
// it need a moment to clear too (agents reconnecting, probes answering again).
import type { InhibitRule } from './config.ts';
import { matchesAll, type Labels } from './matchers.ts';
import type { Alert } from './types.ts';

export function inhibitedBy(alert: Alert, candidates: Iterable<Alert>, rules: readonly InhibitRule[], now: number, grace: number): Alert | undefined {
  const labels: Labels = { ...alert.labels, severity: alert.severity };
  for (const rule of rules) {
    if (!matchesAll(rule.target, labels)) continue;
    // An alert is never held back by a rule whose source it matches itself.
    if (matchesAll(rule.source, labels)) continue;
    for (const src of candidates) {
      if (src === alert) continue;
      const live = src.state === 'firing' || (src.state === 'resolved' && src.resolvedAt !== null && now - src.resolvedAt < grace);
      if (!live) continue;
      if (!matchesAll(rule.source, { ...src.labels, severity: src.severity })) continue;
      if (rule.equal.every((l) => (src.labels[l] ?? '') === (alert.labels[l] ?? ''))) return src;
    }
  }
  return undefined;
}
