// Panel, variable and annotation helpers shared by every Canh dashboard: one place
// decides legends, thresholds, column names and filters, so the five dashboards look
// and behave alike.
import { severityName } from '@canh/core';
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { DATASOURCE, influx, type InfluxQueryBuilder } from './influxql.ts';
import { COMMON, tr, type Lang, type Text } from './i18n.ts';

/** The WHERE clause every host-level query carries: the three template variables. */
export const SCOPE = `"agency" =~ /^$agency$/ AND "site" =~ /^$site$/ AND "host" =~ /^$host$/`;

/** The window in which "current" state (online, firing, days left) is looked for. */
export const STATE_WINDOW = 'time > now() - 30d';

export interface PanelSpec {
  title: Text;
  description: Text;
  queries: InfluxQueryBuilder[];
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  /** [value, color] steps above the base colour; `base` is the colour below the first step. */
  thresholds?: { base?: string; steps: [number, string][] };
  mappings?: dash.ValueMapping[];
  /** Shown when the query finds nothing. */
  noValue?: string;
  w?: number;
  h?: number;
}

function thresholds(t: NonNullable<PanelSpec['thresholds']>): dash.ThresholdsConfigBuilder {
  return new dash.ThresholdsConfigBuilder()
    .mode(dash.ThresholdsMode.Absolute)
    .steps([{ value: null, color: t.base ?? 'green' }, ...t.steps.map(([value, color]) => ({ value, color }))]);
}

/** What every panel type has in common: title, help text, queries, unit, size. */
function apply<B extends TimeseriesPanel | StatPanel | TablePanel | BarGaugePanel>(b: B, lang: Lang, s: PanelSpec): B {
  b.title(tr(lang, s.title))
    .description(tr(lang, s.description))
    .datasource(DATASOURCE)
    .targets(s.queries.map((q, i) => q.refId(String.fromCharCode(65 + i))))
    .span(s.w ?? 12)
    .height(s.h ?? 8);
  if (s.unit) b.unit(s.unit);
  if (s.decimals !== undefined) b.decimals(s.decimals);
  if (s.min !== undefined) b.min(s.min);
  if (s.max !== undefined) b.max(s.max);
  if (s.thresholds) b.thresholds(thresholds(s.thresholds));
  if (s.mappings) b.mappings(s.mappings);
  if (s.noValue !== undefined) b.noValue(s.noValue);
  return b;
}

export interface TimeseriesSpec extends PanelSpec {
  stack?: boolean;
  bars?: boolean;
  /** Series whose name matches this regexp are drawn below the axis (outbound traffic). */
  negativeY?: string;
  /** Draw the thresholds as dashed lines. */
  showThresholds?: boolean;
  legendCalcs?: string[];
}

export function timeseries(lang: Lang, s: TimeseriesSpec): TimeseriesPanel {
  const b = apply(new TimeseriesPanel(), lang, s)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(s.legendCalcs ?? ['mean', 'max', 'lastNotNull']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .lineWidth(1)
    .fillOpacity(s.stack || s.bars ? 60 : 10)
    .spanNulls(false);
  if (s.bars) b.drawStyle(common.GraphDrawStyle.Bars);
  if (s.stack) b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (s.negativeY) b.overrideByRegexp(s.negativeY, [{ id: 'custom.transform', value: 'negative-Y' }]);
  if (s.showThresholds) b.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  return b;
}

export interface StatSpec extends PanelSpec {
  /** How the values are reduced to one number; default the last non-null value. */
  calc?: string;
  graph?: boolean;
  /** Wall-screen tiles: one coloured tile per series, its name and value (red/amber/green). */
  tiles?: boolean;
}

export function stat(lang: Lang, s: StatSpec): StatPanel {
  return apply(new StatPanel(), lang, { w: 6, h: 4, ...s })
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs([s.calc ?? 'lastNotNull']).values(false))
    .graphMode(s.graph ? common.BigValueGraphMode.Area : common.BigValueGraphMode.None)
    .colorMode(s.tiles ? common.BigValueColorMode.Background : common.BigValueColorMode.Value)
    .textMode(s.tiles ? common.BigValueTextMode.ValueAndName : common.BigValueTextMode.Auto);
}

export function bargauge(lang: Lang, s: PanelSpec & { calc?: string }): BarGaugePanel {
  return apply(new BarGaugePanel(), lang, s)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs([s.calc ?? 'lastNotNull']).values(false))
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .orientation(common.VizOrientation.Horizontal)
    .showUnfilled(true);
}

export interface TableSpec extends PanelSpec {
  /** Column headers, by the column name InfluxDB answers with. Unlisted columns keep theirs. */
  columns?: Record<string, Text>;
  /** Columns to hide. */
  hide?: string[];
  sortBy?: { column: string; desc: boolean };
  /** Transformations run before the column renames. */
  transformations?: dash.DataTransformerConfig[];
  /** Per-column unit, thresholds, mappings or cell colouring. */
  columnOptions?: Record<string, dash.DynamicConfigValue[]>;
}

export function table(lang: Lang, s: TableSpec): TablePanel {
  for (const q of s.queries) q.table();
  const renames = Object.fromEntries(Object.entries(s.columns ?? {}).map(([k, v]) => [k, tr(lang, v)]));
  const excluded = Object.fromEntries((s.hide ?? []).map((c) => [c, true]));
  const b = apply(new TablePanel(), lang, s)
    .transformations([
      // GROUP BY tags and several queries answer with several frames; show them as one table.
      { id: 'merge', options: {} },
      ...(s.transformations ?? []),
      { id: 'organize', options: { renameByName: renames, excludeByName: excluded, indexByName: {} } },
    ])
    .cellHeight(common.TableCellHeight.Sm)
    .filterable(true);
  if (s.sortBy) {
    const shown = s.columns?.[s.sortBy.column];
    b.sortBy([new common.TableSortByFieldStateBuilder().displayName(shown ? tr(lang, shown) : s.sortBy.column).desc(s.sortBy.desc)]);
  }
  for (const [col, props] of Object.entries(s.columnOptions ?? {})) b.overrideByName(col, props);
  return b;
}

/** A column coloured by its thresholds (background), for state and days-left columns. */
export const COLOR_CELL: dash.DynamicConfigValue = { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } };

/** A column's colour thresholds: `base` below the first step, then each [from, colour]. */
export function cellThresholds(base: string, steps: [number, string][]): dash.DynamicConfigValue {
  return { id: 'thresholds', value: { mode: 'absolute', steps: [{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))] } };
}

export function valueMap(entries: Record<string, { text: string; color: string }>): dash.ValueMapping {
  const options: Record<string, dash.ValueMappingResult> = {};
  Object.entries(entries).forEach(([k, v], index) => (options[k] = { ...v, index }));
  return { type: dash.MappingType.ValueToText, options };
}

/** 1 = online, 0 = offline, as the collector writes `agent.online`. */
export function onlineMapping(lang: Lang): dash.ValueMapping {
  return valueMap({ '1': { text: tr(lang, COMMON.online), color: 'green' }, '0': { text: tr(lang, COMMON.offline), color: 'red' } });
}

export const SEVERITY_COLORS: Record<string, string> = {
  critical: 'dark-red',
  high: 'red',
  medium: 'orange',
  low: 'yellow',
  info: 'blue',
};

/** Colour severities the same way on every dashboard. */
/** Severity values shown by their name in the dashboard's language (shared glossary). */
export function severityMapping(lang: Lang): dash.ValueMapping {
  return valueMap(Object.fromEntries(Object.entries(SEVERITY_COLORS).map(([k, color]) => [k, { text: severityName(k, lang), color }])));
}

// Template variables ------------------------------------------------------------------

function tagVariable(lang: Lang, name: string, label: Text, query: string): dash.QueryVariableBuilder {
  return new dash.QueryVariableBuilder(name)
    .label(tr(lang, label))
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(dash.VariableRefresh.OnTimeRangeChanged)
    .sort(dash.VariableSort.AlphabeticalCaseInsensitiveAsc)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/**
 * agency → site → host, each narrowed by the ones before it. Values come from the `agent`
 * measurement: every connected agent writes it, so a host appears as soon as it reports.
 */
export function scopeVariables(lang: Lang): dash.QueryVariableBuilder[] {
  return [
    tagVariable(lang, 'agency', COMMON.agency, `SHOW TAG VALUES FROM "agent" WITH KEY = "agency"`),
    tagVariable(lang, 'site', COMMON.site, `SHOW TAG VALUES FROM "agent" WITH KEY = "site" WHERE "agency" =~ /^$agency$/`),
    tagVariable(lang, 'host', COMMON.host, `SHOW TAG VALUES FROM "agent" WITH KEY = "host" WHERE "agency" =~ /^$agency$/ AND "site" =~ /^$site$/`),
  ];
}

/** SNMP devices (polled by the chosen agents: host is the poller) and their interfaces. */
export function deviceVariables(lang: Lang): dash.QueryVariableBuilder[] {
  return [
    // From `snmp`: every polled device writes it, also one that never answered (no interfaces).
    tagVariable(
      lang,
      'device',
      COMMON.device,
      `SHOW TAG VALUES FROM "snmp" WITH KEY = "device" WHERE "agency" =~ /^$agency$/ AND "site" =~ /^$site$/ AND "host" =~ /^$host$/`,
    ),
    tagVariable(
      lang,
      'ifname',
      COMMON.interface,
      `SHOW TAG VALUES FROM "interface" WITH KEY = "ifName" WHERE "agency" =~ /^$agency$/ AND "device" =~ /^$device$/`,
    ),
  ];
}

/**
 * The retention policy each query reads (issue 29; collector/src/influx/retention.ts):
 * `$rp` for metrics, `$events_rp` for security events and alerts. Grafana's InfluxQL data
 * source cannot pick a policy by itself, so these hidden variables ask InfluxDB, on every
 * time range change: the collector keeps one `rp_select` point per policy at the time
 * "epoch + the policy's period", so the points later than `now() - ${__from}ms` are the
 * policies that still hold the range's start, and first() is the finest of them — raw
 * data while the range starts within the raw period, the 5-minute roll-ups (or the
 * events policy) past it.
 */
export function policyVariables(): dash.QueryVariableBuilder[] {
  const v = (name: string, kind: string, fallback: string): dash.QueryVariableBuilder => {
    const query = `SELECT first("rp") FROM "canh_meta"."rp_select" WHERE "kind" = '${kind}' AND time > now() - \${__from}ms`;
    return new dash.QueryVariableBuilder(name)
      .datasource(DATASOURCE)
      .query(query)
      .definition(query)
      .refresh(dash.VariableRefresh.OnTimeRangeChanged)
      .hide(dash.VariableHide.HideVariable)
      .current({ selected: true, text: fallback, value: fallback });
  };
  return [v('rp', 'metrics', 'autogen'), v('events_rp', 'events', 'autogen')];
}

// Annotations ---------------------------------------------------------------------------

/** Alert state changes (firing, resolved) from the collector's `alert` measurement. */
export function alertAnnotation(lang: Lang): dash.AnnotationQueryBuilder {
  return new dash.AnnotationQueryBuilder()
    .name(tr(lang, COMMON.alerts))
    .datasource(DATASOURCE)
    .enable(true)
    .iconColor('red')
    .target(
      influx(`SELECT "summary", "state", "rule", "severity", "host" FROM "alert" WHERE "agency" =~ /^$agency$/ AND "host" =~ /^$host$/ AND $timeFilter`)
        .refId('Anno')
        .table()
        .annotationColumns({ text: 'summary', tags: 'state,rule,severity,host', title: 'rule' }),
    );
}

/** Links to the other Canh dashboards of the same language, keeping time and variables. */
export function dashboardLinks(lang: Lang): dash.DashboardLinkBuilder {
  return new dash.DashboardLinkBuilder(tr(lang, COMMON.dashboards))
    .type(dash.DashboardLinkType.Dashboards)
    .tags(['canh', lang])
    .asDropdown(true)
    .includeVars(true)
    .keepTime(true)
    .icon('external link')
    .tooltip('')
    .targetBlank(false);
}

export interface DashboardSpec {
  /** Short stable name: uid is canh-<key>-<lang>, file is <key>.json. */
  key: string;
  title: Text;
  description: Text;
  variables?: 'scope' | 'scope+devices';
}

export function canhDashboard(lang: Lang, s: DashboardSpec): dash.DashboardBuilder {
  const vars = [...scopeVariables(lang), ...(s.variables === 'scope+devices' ? deviceVariables(lang) : []), ...policyVariables()];
  return new dash.DashboardBuilder(tr(lang, s.title))
    .uid(`canh-${s.key}-${lang}`)
    .description(tr(lang, s.description))
    .tags(['canh', lang])
    .editable()
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .timezone('browser')
    .tooltip(dash.DashboardCursorSync.Crosshair)
    .variables(vars)
    .annotation(alertAnnotation(lang))
    .link(dashboardLinks(lang));
}

export function row(lang: Lang, title: Text): dash.RowBuilder {
  return new dash.RowBuilder(tr(lang, title));
}
