import { describe, expect, it } from 'vitest';
import { parseConfigText, ConfigError } from './config.ts';
import { parseDuration } from '@canh/core';

const good = `
collector:
  url: wss://collector.example.gov.vn/v1/agent
  token: canh_x
agent:
  interval: 10s
  state_dir: /tmp/canh-test
inputs: []
`;

function problems(text: string): string[] {
  try {
    parseConfigText(text, { env: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CANH_ERR_CONFIG_INVALID');
    return (err as ConfigError).problems;
  }
  throw new Error('config unexpectedly valid');
}

describe('agent config', () => {
  it('accepts a minimal config and fills defaults from the schema', () => {
    const c = parseConfigText(good, { env: {} });
    expect(c.agent.interval).toBe(10_000);
    expect(c.agent.batch_size).toBe(1000);
    expect(c.collector.max_in_flight).toBe(8);
    expect(c.collector.resolvedToken).toBe('canh_x');
  });
  it('runs the default host inputs of its platform when no inputs are listed (Windows: no kernel)', () => {
    const doc = 'collector:\n  url: ws://127.0.0.1:1/v1/agent\n  token: t\n';
    const linux = parseConfigText(doc, { env: {}, platform: 'linux' }).inputs.map((e) => e.type);
    const windows = parseConfigText(doc, { env: {}, platform: 'win32' }).inputs.map((e) => e.type);
    expect(linux).toContain('kernel');
    expect(windows.sort()).toEqual(['cpu', 'disk', 'diskio', 'mem', 'net', 'processes', 'swap', 'system']);
    expect(parseConfigText(doc, { env: {}, platform: 'win32' }).agent.windows_counters).toEqual({
      typeperf: 'typeperf',
      powershell: 'powershell',
      refresh_interval: 3_600_000,
    });
  });
  it('CANH_AGENT_TOKEN wins over the file', () => {
    expect(parseConfigText(good, { env: { CANH_AGENT_TOKEN: 'from-env' } }).collector.resolvedToken).toBe('from-env');
  });
  it('names the path of a bad value', () => {
    expect(problems(good.replace('10s', 'ten seconds'))).toEqual(['agent.interval: not a duration: "ten seconds" (write e.g. "10s", "5m", "1h30m")']);
  });
  it('refuses unknown keys, naming them', () => {
    expect(problems(`${good}\nagnet: {}\n`)).toContain('agnet: unknown key (expected collector, agent, inputs, detectors)');
    expect(problems(good.replace('interval: 10s', 'interval: 10s\n  intervall: 5s'))).toEqual(['agent: unknown key "intervall"']);
  });
  it('refuses an unknown input type, listing the known ones', () => {
    const p = problems(good.replace('inputs: []', 'inputs:\n  - type: nope'));
    expect(p[0]).toMatch(/^inputs\[0\]\.type: unknown input "nope" \(known: /);
  });
  it('refuses an input entry that is not a mapping', () => {
    expect(problems(good.replace('inputs: []', 'inputs:\n  - cpu'))).toEqual(['inputs[0]: must be a mapping with a "type"']);
  });
  it('needs a token from somewhere', () => {
    expect(problems(good.replace('  token: canh_x\n', ''))).toEqual(['collector: no token (set collector.token_file, collector.token, or CANH_AGENT_TOKEN)']);
  });
  it('reports an unreadable token file', () => {
    expect(problems(good.replace('token: canh_x', 'token_file: /nonexistent/token'))).toEqual([
      'collector.token_file: cannot read /nonexistent/token (ENOENT)',
    ]);
  });
  it('refuses a non-websocket URL', () => {
    expect(problems(good.replace('wss://', 'http://'))).toEqual(['collector.url: must start with ws:// or wss://']);
  });
  it('takes a list of collectors (urls) as well as one url, and always hands on a list', () => {
    expect(parseConfigText(good, { env: {} }).collector.collectorUrls).toEqual(['wss://collector.example.gov.vn/v1/agent']);
    const two = good.replace('  url: wss://collector.example.gov.vn/v1/agent', '  urls: [wss://c1.example.gov.vn/v1/agent, wss://c2.example.gov.vn/v1/agent]');
    expect(parseConfigText(two, { env: {} }).collector.collectorUrls).toEqual(['wss://c1.example.gov.vn/v1/agent', 'wss://c2.example.gov.vn/v1/agent']);
  });
  it('refuses url and urls together, neither, a collector listed twice and a bad entry, naming its index', () => {
    expect(problems(good.replace('  token: canh_x', '  urls: [wss://c2.example.gov.vn/v1/agent]\n  token: canh_x'))).toEqual([
      'collector: set url or urls, not both',
    ]);
    expect(problems(good.replace('  url: wss://collector.example.gov.vn/v1/agent\n', ''))).toEqual([
      'collector.url: required (or collector.urls, a list of collectors)',
    ]);
    expect(problems(good.replace('  url: wss://collector.example.gov.vn/v1/agent', '  urls: [ws://a:1/v1/agent, ws://a:1/v1/agent]'))).toEqual([
      'collector.urls: lists a collector twice',
    ]);
    expect(problems(good.replace('  url: wss://collector.example.gov.vn/v1/agent', '  urls: [ws://a:1/v1/agent, http://b/]'))).toEqual([
      'collector.urls[1]: must start with ws:// or wss://',
    ]);
  });
  it('reports YAML syntax errors with line and column', () => {
    expect(problems('collector:\n  url: [unclosed\n')[0]).toMatch(/^line \d+, column \d+: /);
  });
  it('reports every problem at once', () => {
    expect(problems(good.replace('10s', 'x').replace('wss://', 'ftp://')).length).toBe(2);
  });
});

describe('durations', () => {
  it.each([
    ['10s', 10_000],
    ['250ms', 250],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5s', 1500],
  ])('%s', (s, ms) => expect(parseDuration(s)).toBe(ms));
  it.each(['', '10', 's', '10x', '10s junk', '-1s'])('refuses %j', (s) => expect(parseDuration(s)).toBeUndefined());
});
