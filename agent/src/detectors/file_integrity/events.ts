// Turns file changes into security events: one event per change while changes are few,
// one event with a count and a sample per (root, type, kind of change) when a burst
// (an unpacked archive, a defaced web root) would otherwise give thousands.
import type { Severity } from '@canh/protocol';
import type { Accumulator } from '../../inputs/types.ts';
import { bounded, groupFindings, sample } from '../group-findings.ts';
import { classify, octal, type Change, type Meaning, type Scope } from './diff.ts';

export type EventInput = Parameters<Accumulator['addEvent']>[0];

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

const VERB: Record<Change['change'], string> = {
  added: 'added',
  modified: 'modified',
  deleted: 'deleted',
  permissions: 'changed permissions or owner',
};

function evidenceOf(c: Change, m: Meaning): Record<string, string | number | boolean> {
  const ev: Record<string, string | number | boolean> = { path: bounded(c.path, 1024), change: c.change };
  if (m.webRoot) ev.web_root = m.webRoot;
  if (c.old?.sha256) ev.old_sha256 = c.old.sha256;
  if (c.new?.sha256) ev.new_sha256 = c.new.sha256;
  if (c.new) ev.size = c.new.size;
  if (c.old) Object.assign(ev, { old_mode: octal(c.old.mode), old_uid: c.old.uid, old_gid: c.old.gid });
  if (c.new) Object.assign(ev, { new_mode: octal(c.new.mode), new_uid: c.new.uid, new_gid: c.new.gid });
  return ev;
}

function single(c: Change, m: Meaning): EventInput {
  let detail = '';
  if (c.change === 'permissions' && c.old && c.new) {
    detail = ` (mode ${octal(c.old.mode)}→${octal(c.new.mode)}, uid ${c.old.uid}→${c.new.uid}, gid ${c.old.gid}→${c.new.gid})`;
  }
  const where = m.webRoot ? ` under web root ${m.webRoot}` : '';
  return {
    type: m.type,
    severity: m.severity,
    ...(m.mitre ? { mitre: m.mitre } : {}),
    message: bounded(`${m.what} ${c.path} ${VERB[c.change]}${detail}${where}`, 2000),
    evidence: evidenceOf(c, m),
    count: 1,
  };
}

export function changesToEvents(changes: readonly Change[], scope: Scope, limit: number): EventInput[] {
  const items = changes.map((c) => ({ c, m: classify(c.path, c.change, scope) }));
  const { single: one, grouped } = groupFindings(items, (x) => `${x.m.type}|${x.c.change}|${x.m.root}`, limit);
  const out = one.map((x) => single(x.c, x.m));
  for (const g of grouped) {
    const first = g.items[0]!;
    let worst = first;
    for (const x of g.items) if (RANK[x.m.severity] > RANK[worst.m.severity]) worst = x;
    const n = g.items.length;
    const staticCount = g.items.filter((x) => x.m.isStatic).length;
    const where = first.m.webRoot ? `web root ${first.m.webRoot}` : first.m.root;
    out.push({
      type: first.m.type,
      severity: worst.m.severity,
      ...(worst.m.mitre ? { mitre: worst.m.mitre } : {}),
      message: `${n} files ${VERB[first.c.change]} under ${where}${staticCount ? ` (${staticCount} in static content)` : ''}`,
      evidence: {
        path: bounded(first.m.root, 1024),
        change: first.c.change,
        ...(first.m.webRoot ? { web_root: first.m.webRoot } : {}),
        files: n,
        paths_sample: sample(g.items.map((x) => x.c.path)),
      },
      count: n,
    });
  }
  return out;
}
