// The generated dashboards are well formed for Grafana, stable, bilingual, point at the
// provisioned data source, and the committed JSON is exactly what the code generates.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';
import { DASHBOARDS, LANGS, buildDashboards, renderDashboard, type InfluxQuery } from './index.ts';
import { GENERATED_DIR } from './generate.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const all = buildDashboards();

function panelsOf(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === 'row') out.push(...((p as RowPanel).panels ?? []));
    else out.push(p as Panel);
  }
  return out;
}

describe('generated dashboards', () => {
  it('has every dashboard in every language under a stable uid', () => {
    expect(all.map((g) => g.dashboard.uid).sort()).toEqual(LANGS.flatMap((l) => Object.keys(DASHBOARDS).map((k) => `canh-${k}-${l}`)).sort());
    expect(new Set(all.map((g) => g.dashboard.uid)).size).toBe(all.length);
    // Building twice gives the same JSON: nothing random or time-dependent in it.
    expect(buildDashboards().map((g) => renderDashboard(g.dashboard))).toEqual(all.map((g) => renderDashboard(g.dashboard)));
  });

  it('the committed JSON under dashboards/generated/ is what the code generates (run npm run dashboards:generate)', () => {
    for (const lang of LANGS) {
      expect(readdirSync(join(GENERATED_DIR, lang)).sort()).toEqual(
        Object.keys(DASHBOARDS)
          .map((k) => `${k}.json`)
          .sort(),
      );
    }
    for (const g of all) {
      const committed = readFileSync(join(GENERATED_DIR, g.lang, g.file), 'utf8');
      expect(committed, `${g.lang}/${g.file} differs from the code: run npm run dashboards:generate`).toBe(renderDashboard(g.dashboard));
    }
  });

  const provisioned = parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/datasources/canh.yaml'), 'utf8')) as {
    datasources: { uid: string; type: string; jsonData: { version: string; dbName: string } }[];
  };

  it('the provisioned data source is InfluxQL on database canh', () => {
    expect(provisioned.datasources).toHaveLength(1);
    expect(provisioned.datasources[0]).toMatchObject({ type: 'influxdb', jsonData: { version: 'InfluxQL' } });
    expect(provisioned.datasources[0]!.jsonData.dbName).toMatch(/:-canh}$/);
  });

  for (const g of all) {
    describe(`${g.lang}/${g.file}`, () => {
      const d = g.dashboard;
      const uid = provisioned.datasources[0]!.uid;

      it('every panel has a title, a description and raw InfluxQL queries on the provisioned data source', () => {
        const panels = panelsOf(d);
        expect(panels.length).toBeGreaterThan(3);
        for (const p of panels) {
          const where = `${d.uid} panel "${p.title}"`;
          expect(p.title, where).toBeTruthy();
          expect(p.description, where).toBeTruthy();
          expect(p.datasource?.uid, where).toBe(uid);
          expect(p.targets?.length, where).toBeGreaterThan(0);
          const refIds = new Set<string>();
          for (const t of p.targets as InfluxQuery[]) {
            expect(t.datasource.uid, where).toBe(uid);
            expect(t.datasource.type, where).toBe('influxdb');
            expect(t.rawQuery, where).toBe(true);
            expect(t.query, where).toMatch(/^(SELECT|SHOW) /);
            expect(['time_series', 'table']).toContain(t.resultFormat);
            if (p.type === 'table') expect(t.resultFormat, where).toBe('table');
            refIds.add(t.refId);
          }
          expect(refIds.size, where).toBe(p.targets!.length);
          expect(p.gridPos!.x + p.gridPos!.w, where).toBeLessThanOrEqual(24);
        }
      });

      it('panel ids are unique', () => {
        const ids = (d.panels ?? []).map((p) => p.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.every((id) => typeof id === 'number' && id > 0)).toBe(true);
      });

      it('has the agency, site and host variables (SHOW TAG VALUES, multi, all) and uses them', () => {
        const all = (d.templating?.list ?? []) as VariableModel[];
        // The hidden policy variables are checked below.
        const vars = all.filter((v) => v.name !== 'rp' && v.name !== 'events_rp');
        const names = vars.map((v) => v.name);
        expect(names.slice(0, 3)).toEqual(['agency', 'site', 'host']);
        for (const v of vars) {
          expect(v.type).toBe('query');
          expect(v.datasource?.uid).toBe(uid);
          expect(String(v.query)).toMatch(/^SHOW TAG VALUES FROM "\w+" WITH KEY = "\w+"/);
          expect(v.multi && v.includeAll).toBe(true);
        }
        const queries = panelsOf(d).flatMap((p) => (p.targets as InfluxQuery[]).map((t) => t.query));
        for (const n of names)
          expect(
            queries.some((q) => q.includes(`$${n}`)),
            `$${n} unused`,
          ).toBe(true);
      });

      it('reads through the policy variables $rp and $events_rp (hidden, refreshed on time range change)', () => {
        const vars = ((d.templating?.list ?? []) as VariableModel[]).filter((v) => v.name === 'rp' || v.name === 'events_rp');
        expect(vars.map((v) => v.name)).toEqual(['rp', 'events_rp']);
        for (const v of vars) {
          expect(v.hide).toBe(2);
          expect(v.refresh).toBe(2);
          expect(String(v.query)).toMatch(
            /^SELECT first\("rp"\) FROM "canh_meta"\."rp_select" WHERE "kind" = '(metrics|events)' AND time > now\(\) - \$\{__from\}ms$/,
          );
        }
        for (const p of panelsOf(d))
          for (const t of p.targets as InfluxQuery[]) {
            // Every measurement is read through a policy variable; a FROM without one would read raw data only.
            for (const m of t.query.matchAll(/\bFROM ("[^"]+"(\."[^"]+")?)/g)) expect(m[1], `${d.uid} "${p.title}"`).toMatch(/^"\$(rp|events_rp)"\."\w+"$/);
            if (/"\$events_rp"\."(?!security_event|alert)/.test(t.query)) throw new Error(`${p.title}: only events are in the events policy`);
          }
      });

      it('shows alert state changes as annotations', () => {
        const anns = d.annotations?.list ?? [];
        expect(anns).toHaveLength(1);
        const t = anns[0]!.target as InfluxQuery;
        expect(anns[0]!.datasource?.uid).toBe(uid);
        expect(t.query).toMatch(/FROM "\$events_rp"\."alert" WHERE .*\$timeFilter/);
        expect(t.textColumn).toBe('summary');
      });
    });
  }

  it('the Vietnamese dashboards are translated, with diacritics', () => {
    const texts = (lang: string) =>
      all
        .filter((g) => g.lang === lang)
        .flatMap((g) => [
          g.dashboard.title ?? '',
          g.dashboard.description ?? '',
          ...panelsOf(g.dashboard).flatMap((p) => [p.title ?? '', p.description ?? '']),
        ]);
    const en = texts('en');
    const vi = texts('vi');
    expect(vi).toHaveLength(en.length);
    const untranslated = vi.filter((t, i) => t === en[i] && !/^(Ping|CPU)$/.test(t));
    expect(untranslated).toEqual([]);
    expect(vi.join(' ')).toMatch(/[ạảãàáâậầấẩẫăắằặẳẵđèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹ]/);
  });

  it('both languages run the very same queries (only the words differ)', () => {
    // A legend that shows its columns ($col) names them in the dashboard's language: the
    // AS names are words, the rest of the query is the same.
    const words = (t: InfluxQuery) => (t.alias?.includes('$col') ? t.query.replace(/\bAS "[^"]+"/g, 'AS "…"') : t.query);
    const queries = (lang: string) =>
      all.filter((g) => g.lang === lang).map((g) => panelsOf(g.dashboard).flatMap((p) => (p.targets as InfluxQuery[]).map(words)));
    expect(queries('vi')).toEqual(queries('en'));
  });

  it('the dashboard provider loads each language into its own folder from the generated dirs', () => {
    const prov = parse(readFileSync(join(ROOT, 'deploy/grafana/provisioning/dashboards/canh.yaml'), 'utf8')) as {
      providers: { folder: string; type: string; options: { path: string } }[];
    };
    expect(prov.providers.map((p) => p.options.path.slice(-3))).toEqual(LANGS.map((l) => `/${l}`));
    expect(new Set(prov.providers.map((p) => p.folder)).size).toBe(LANGS.length);
    expect(prov.providers.every((p) => p.type === 'file')).toBe(true);
  });
});
