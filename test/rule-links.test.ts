// Every "view on Grafana" link of the default rules leads to a dashboard that is shipped:
// the rule's dashboard, in the recipient's language, is a generated dashboard's uid, and
// that dashboard has the variables the link sets ($agency, $host).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRules } from '../collector/src/alerts/rules.ts';
import { dashboardPath } from '../collector/src/notify/templates/model.ts';

const GENERATED = join(import.meta.dirname, '..', 'dashboards', 'generated');

function shipped(lang: 'vi' | 'en'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of readdirSync(join(GENERATED, lang)).filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(readFileSync(join(GENERATED, lang, f), 'utf8')) as { uid: string; templating?: { list?: { name: string }[] } };
    out.set(
      `/d/${d.uid}`,
      (d.templating?.list ?? []).map((v) => v.name),
    );
  }
  return out;
}

describe('default rules link to shipped dashboards', () => {
  it('the check can fail: an old-style link is not a shipped dashboard', () => {
    expect(shipped('vi').has(dashboardPath('/d/canh-security', 'vi'))).toBe(false);
  });
  for (const lang of ['vi', 'en'] as const) {
    it(`every rule's link resolves to a generated dashboard (${lang}) with $agency and $host`, () => {
      const boards = shipped(lang);
      expect(boards.size).toBeGreaterThanOrEqual(5);
      const rules = defaultRules();
      const bad: string[] = [];
      for (const r of rules) {
        if (!r.dashboard) {
          bad.push(`${r.name}: no dashboard`);
          continue;
        }
        const vars = boards.get(dashboardPath(r.dashboard, lang));
        if (!vars) bad.push(`${r.name}: ${dashboardPath(r.dashboard, lang)} is not a shipped dashboard`);
        else if (!vars.includes('agency') || !vars.includes('host')) bad.push(`${r.name}: ${r.dashboard} lacks $agency or $host`);
      }
      expect(bad).toEqual([]);
    });
  }
});
