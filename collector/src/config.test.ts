import { describe, expect, it } from 'vitest';
import { parseCollectorConfig } from './config.ts';

describe('collector config', () => {
  it('defaults come from the schema, nested sections included', () => {
    const c = parseCollectorConfig({});
    expect(c.listen.port).toBe(8443);
    expect(c.influx.database).toBe('canh');
    expect(c.influx.flush_interval).toBe(1000);
    expect(c.liveness.offline_after).toBe(45_000);
  });
  it('errors name their path', () => {
    let message = '';
    try {
      parseCollectorConfig({ influx: { url: 'nope', batch_size: 0 }, listne: {} });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^invalid configuration:/);
    expect(message).toContain('influx.url: ');
    expect(message).toContain('influx.batch_size: ');
    expect(message).toContain('(root): unknown key "listne"');
  });
  it('reads secrets from the environment', () => {
    expect(parseCollectorConfig({ influx: { username: 'u', password: { env: 'PW' } } }, { env: { PW: 's3cret' } }).influxPassword).toBe('s3cret');
  });
});
