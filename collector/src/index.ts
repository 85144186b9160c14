export { Collector, openRegistry } from './collector.ts';
export { CollectorServer, type CollectorHooks } from './server.ts';
export { parseCollectorConfig, loadCollectorConfig, type CollectorConfig } from './config.ts';
export { SqliteRegistry } from './registry/sqlite.ts';
export { InfluxWriter } from './influx/writer.ts';
export { encodeBatch, eventToPoint, type Identity } from './identity.ts';
