import { describe, expect, it } from 'vitest';
import { CollectorMessageSchema, decodeCollectorMessage, ProtocolError } from '@canh/protocol';
// Resolves from agent/src and, once this file moves into protocol/src, from there too.
import { goldenFrames } from '../../protocol/src/testdata.ts';
import { decodeFromCollector } from './collector-message.ts';

const agent = { id: 'a1', host: 'h', agency: 'ag', site: 's' };
// Valid and invalid frames of every kind: the checker must agree with the protocol's schema.
const frames: unknown[] = [
  { type: 'welcome', protocol: 1, server_time: 1_700_000_000_000, agent },
  { type: 'welcome', protocol: 1, server_time: 1, agent, config_version: 3, config: { inputs: [] } },
  { type: 'welcome', protocol: 1, server_time: 1, agent, config_version: 0, config: null },
  { type: 'welcome', protocol: 0, server_time: 1, agent },
  { type: 'welcome', protocol: 1.5, server_time: 1, agent },
  { type: 'welcome', protocol: 1, server_time: -5, agent },
  { type: 'welcome', protocol: 1, server_time: 1.5, agent },
  { type: 'welcome', protocol: 1, agent },
  { type: 'welcome', protocol: 1, server_time: 1, agent: { ...agent, extra: 1 } },
  { type: 'welcome', protocol: 1, server_time: 1, agent: { ...agent, site: 3 } },
  { type: 'welcome', protocol: 1, server_time: 1, agent: [agent] },
  { type: 'welcome', protocol: 1, server_time: 1, agent, config_version: -1 },
  { type: 'welcome', protocol: 1, server_time: 1, agent, surprise: true },
  { type: 'welcome', protocol: '1', server_time: 1, agent },
  { type: 'ack', seq: 0 },
  { type: 'ack', seq: 42 },
  { type: 'ack', seq: -1 },
  { type: 'ack', seq: 1.5 },
  { type: 'ack', seq: 2 ** 60 },
  { type: 'ack' },
  { type: 'ack', seq: 1, more: 1 },
  { type: 'ack', seq: '1' },
  { type: 'error', code: 'CANH_ERR_X', message: 'no' },
  { type: 'error', code: 'CANH_ERR_X', message: 'no', seq: 7 },
  { type: 'error', code: 'CANH_ERR_X' },
  { type: 'error', code: 1, message: 'no' },
  { type: 'error', code: 'C', message: 'no', seq: -2 },
  { type: 'config', version: 2, config: { inputs: [{ type: 'cpu' }] } },
  { type: 'config', version: 2, config: null },
  { type: 'config', version: 2, config: 'text' },
  { type: 'config', version: 2 },
  { type: 'config', config: {} },
  { type: 'config', version: -1, config: {} },
  { type: 'config', version: 1, config: {}, x: 1 },
  { type: 'batch', seq: 1 },
  { type: 'hello' },
  { seq: 1 },
  {},
  [],
  null,
  3,
  'ack',
];

describe('decodeFromCollector', () => {
  it('accepts exactly what CollectorMessageSchema accepts, and returns the same data', () => {
    for (const f of frames) {
      const want = CollectorMessageSchema.safeParse(f);
      let got: unknown;
      let error: unknown;
      try {
        got = decodeFromCollector(JSON.stringify(f));
      } catch (err) {
        error = err;
      }
      expect(error === undefined, JSON.stringify(f)).toBe(want.success);
      if (want.success) expect(got, JSON.stringify(f)).toEqual(want.data);
      else expect(error, JSON.stringify(f)).toBeInstanceOf(ProtocolError);
    }
  });

  it('says what is wrong, and refuses a frame that is not JSON', () => {
    expect(() => decodeFromCollector('{"type":"ack","seq":-1}')).toThrow(/seq/);
    expect(() => decodeFromCollector('{"type":"ack","seq":1,"x":2}')).toThrow(/"x"/);
    expect(() => decodeFromCollector(Buffer.from('{nope'))).toThrow(/not valid JSON/);
  });
});

/** Deep equality of JSON-like values with an explicit stack (no recursion). */
function sameTree(a: unknown, b: unknown): boolean {
  const todo: [unknown, unknown][] = [[a, b]];
  while (todo.length) {
    const [x, y] = todo.pop()!;
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null || Array.isArray(x) !== Array.isArray(y)) return false;
    const kx = Object.keys(x);
    const ky = Object.keys(y);
    if (kx.length !== ky.length) return false;
    for (const k of kx) {
      if (!Object.hasOwn(y, k)) return false;
      todo.push([(x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]]);
    }
  }
  return true;
}

describe('hostile frames (protocol/testdata/hostile)', () => {
  const outcome = (decode: (text: string) => unknown, text: string) => {
    try {
      return { accepted: true, data: decode(text) };
    } catch (err) {
      expect(err, text.slice(0, 80)).toBeInstanceOf(ProtocolError);
      return { accepted: false, data: undefined };
    }
  };
  const hostile = goldenFrames('hostile');

  it('has cases of both kinds, named for what is expected', () => {
    expect(hostile.length).toBeGreaterThan(30);
    for (const f of hostile) expect(f.name).toMatch(/^(accept|reject)-/);
    expect(hostile.filter((f) => f.name.startsWith('accept-')).length).toBeGreaterThan(3);
  });

  for (const f of hostile) {
    it(`${f.name}: the agent's decoder and the protocol schema agree`, () => {
      const agent = outcome(decodeFromCollector, f.text);
      const schema = outcome(decodeCollectorMessage, f.text);
      const want = f.name.startsWith('accept-');
      expect(schema.accepted, 'protocol schema').toBe(want);
      expect(agent.accepted, "agent's decoder").toBe(want);
      // Compared without recursion: vitest's deep equality (and JSON.stringify) can overflow
      // a worker's stack on the 5,000-deep frame, whatever the decoders did.
      if (want) expect(sameTree(agent.data, schema.data)).toBe(true);
      // Whatever a frame says, no object anywhere gains a property.
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });
  }
});
