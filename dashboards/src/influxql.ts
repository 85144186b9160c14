// A raw InfluxQL query target for Grafana's InfluxDB data source. The foundation SDK has
// no InfluxDB query builder, so this is one in the SDK's own shape (a cog Builder of a
// Dataquery variant), usable anywhere the SDK takes a query: panels and annotations.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';

/** The provisioned data source (deploy/grafana/provisioning/datasources/canh.yaml). */
export const DATASOURCE_UID = 'canh-influxdb';
export const DATASOURCE: DataSourceRef = { type: 'influxdb', uid: DATASOURCE_UID };

export type ResultFormat = 'time_series' | 'table' | 'logs';

/** The JSON Grafana's InfluxDB data source stores for a query in raw (InfluxQL text) mode. */
export interface InfluxQuery extends cog.Dataquery {
  refId: string;
  datasource: DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  /** Series name pattern: $tag_<tag>, $col, $m. */
  alias?: string;
  hide?: boolean;
  /** Annotation queries only: which columns hold the text and the tags. */
  fromAnnotations?: boolean;
  textColumn?: string;
  tagsColumn?: string;
  titleColumn?: string;
}

/** Measurements kept raw for years in their own policy (the rest is rolled up). */
const EVENT_MEASUREMENTS = new Set(['security_event', 'alert']);

/**
 * Every `FROM "measurement"` reads through the policy variable (panels.ts
 * policyVariables): `"$rp"."cpu"`, `"$events_rp"."security_event"`. Queries keep being
 * written without a policy; this is the one place that adds it.
 */
export function withPolicy(query: string): string {
  return query.replace(/\bFROM "([A-Za-z0-9_]+)"(?!\.)/g, (_m, name: string) => `FROM "${EVENT_MEASUREMENTS.has(name) ? '$events_rp' : '$rp'}"."${name}"`);
}

export class InfluxQueryBuilder implements cog.Builder<cog.Dataquery> {
  protected readonly internal: InfluxQuery;

  constructor(query: string) {
    this.internal = {
      refId: 'A',
      datasource: DATASOURCE,
      query: withPolicy(query),
      rawQuery: true,
      resultFormat: 'time_series',
      _implementsDataqueryVariant() {},
    };
  }

  build(): InfluxQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  query(query: string): this {
    this.internal.query = withPolicy(query);
    return this;
  }

  resultFormat(format: ResultFormat): this {
    this.internal.resultFormat = format;
    return this;
  }

  table(): this {
    return this.resultFormat('table');
  }

  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  hide(hide: boolean): this {
    this.internal.hide = hide;
    return this;
  }

  /** Columns of an annotation query's answer: text, tags (comma separated), title. */
  annotationColumns(cols: { text: string; tags?: string; title?: string }): this {
    this.internal.fromAnnotations = true;
    this.internal.textColumn = cols.text;
    if (cols.tags) this.internal.tagsColumn = cols.tags;
    if (cols.title) this.internal.titleColumn = cols.title;
    return this;
  }
}

/** `influx(q)` reads better in panel definitions than `new InfluxQueryBuilder(q)`. */
export function influx(query: string): InfluxQueryBuilder {
  return new InfluxQueryBuilder(query);
}
