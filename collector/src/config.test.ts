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

describe('influx targets', () => {
  it('one influx.url is target "default"; influx.targets lists several, with their own credentials', () => {
    expect(parseCollectorConfig({ influx: { url: 'http://10.0.0.1:8086' } }).influxTargets).toEqual([
      { name: 'default', url: 'http://10.0.0.1:8086', username: undefined, password: undefined },
    ]);
    const c = parseCollectorConfig(
      {
        influx: {
          targets: [
            { name: 'a', url: 'http://10.0.0.1:8086' },
            { name: 'b', url: 'http://10.0.0.2:8086', username: 'canh', password: { env: 'PW' } },
          ],
          write_quorum: 1,
        },
      },
      { env: { PW: 's3cret' } },
    );
    expect(c.influxTargets?.map((t) => [t.name, t.url, t.password])).toEqual([
      ['a', 'http://10.0.0.1:8086', undefined],
      ['b', 'http://10.0.0.2:8086', 's3cret'],
    ]);
    expect(c.influx.write_quorum).toBe(1);
  });
  it('refuses url beside targets, a name used twice, a quorum above the targets, and names the paths', () => {
    const problems = (doc: unknown) => {
      try {
        parseCollectorConfig(doc);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('config unexpectedly valid');
    };
    expect(problems({ influx: { url: 'http://x:1', targets: [{ name: 'a', url: 'http://a:1' }] } })).toContain(
      'influx.url: set it on each of influx.targets instead (not both)',
    );
    expect(
      problems({
        influx: {
          targets: [
            { name: 'a', url: 'http://a:1' },
            { name: 'a', url: 'http://b:1' },
          ],
        },
      }),
    ).toContain('influx.targets[1].name: "a" is used twice');
    expect(problems({ influx: { targets: [{ name: 'a', url: 'http://a:1' }], write_quorum: 2 } })).toContain(
      'influx.write_quorum: 2 is more than the 1 targets',
    );
    expect(problems({ influx: { write_quorum: 2 } })).toContain('influx.write_quorum: 2 but only one InfluxDB');
    expect(problems({ influx: { targets: [{ name: 'Bad Name', url: 'http://a:1' }] } })).toContain('influx.targets[0].name: ');
  });
});
