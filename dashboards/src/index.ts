// Canh's Grafana dashboards as code: every dashboard in every language, as the JSON
// Grafana provisions. `npm run dashboards:generate` writes them to dashboards/generated/.
import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { LEGEND_WORDS_VI } from '@canh/core';
import { LANGS, type Lang } from './i18n.ts';
import type { InfluxQuery } from './influxql.ts';
import { fleet } from './dashboards/fleet.ts';
import { host } from './dashboards/host.ts';
import { network } from './dashboards/network.ts';
import { uptime } from './dashboards/uptime.ts';
import { security } from './dashboards/security.ts';
import { noc } from './dashboards/noc.ts';

export { LANGS, type Lang } from './i18n.ts';
export { DATASOURCE, DATASOURCE_UID, InfluxQueryBuilder, influx, type InfluxQuery } from './influxql.ts';

/** The dashboards, by the file name they are generated under. */
export const DASHBOARDS: Record<string, (lang: Lang) => DashboardBuilder> = { fleet, host, network, uptime, security, noc };

export interface GeneratedDashboard {
  lang: Lang;
  /** File name inside generated/<lang>/. */
  file: string;
  dashboard: Dashboard;
}

/** Grafana wants unique panel ids; the SDK leaves them to us. Number them in order. */
function numberPanels(d: Dashboard): Dashboard {
  let id = 0;
  const walk = (panels: (Panel | RowPanel)[] | undefined): void => {
    for (const p of panels ?? []) {
      p.id = ++id;
      if (p.type === 'row') walk((p as RowPanel).panels);
    }
  };
  walk(d.panels);
  return d;
}

/**
 * Legends in the dashboard's language: in Vietnamese, the column names a legend shows
 * through $col (`AS "in"`) and the fixed words of legend templates ("(from $tag_host)",
 * "memory", "jitter") come from the shared glossary. Only targets whose legend shows
 * its columns are changed, so table transformations that name columns keep working.
 */
function localizeLegends(d: Dashboard, lang: Lang): Dashboard {
  if (lang === 'en') return d;
  const word = (w: string) => LEGEND_WORDS_VI[w] ?? w;
  const walk = (panels: (Panel | RowPanel)[] | undefined): void => {
    for (const p of panels ?? []) {
      if (p.type === 'row') walk((p as RowPanel).panels);
      for (const t of ((p as Panel).targets ?? []) as InfluxQuery[]) {
        if (!t.alias) continue;
        if (t.alias.includes('$col')) t.query = t.query.replace(/\bAS "([^"]+)"/g, (_m, c: string) => `AS "${word(c)}"`);
        t.alias = t.alias
          .replace(/\(from (\$\w+)\)/g, (_m, v: string) => `(${word('from')} ${v})`)
          .split(' ')
          .map(word)
          .join(' ');
      }
    }
  };
  walk(d.panels);
  return d;
}

export function buildDashboards(): GeneratedDashboard[] {
  const out: GeneratedDashboard[] = [];
  for (const lang of LANGS) {
    for (const [key, make] of Object.entries(DASHBOARDS)) {
      out.push({ lang, file: `${key}.json`, dashboard: localizeLegends(numberPanels(make(lang).build()), lang) });
    }
  }
  return out;
}

/** The exact text written to generated/<lang>/<file>: stable key order, 2-space indent. */
export function renderDashboard(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
