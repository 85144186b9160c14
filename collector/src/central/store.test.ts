import { describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { encode, MAX_CENTRAL_CONFIG_BYTES, MAX_COLLECTOR_FRAME_BYTES, PROTOCOL_VERSION } from '@canh/protocol';
import { CentralConfigStore } from './store.ts';

describe('central config store: size', () => {
  it('refuses a config larger than agents read, and what it keeps fits in a welcome an agent reads', () => {
    const store = new CentralConfigStore(new DatabaseSync(':memory:'));
    const big = { inputs: [{ type: 'http_response', urls: ['x'.repeat(MAX_CENTRAL_CONFIG_BYTES)] }] };
    expect(() => store.push({ scope: 'global', target: '', config: big })).toThrow(expect.objectContaining({ code: 'CANH_ERR_CENTRAL_TOO_LARGE' }));
    // The largest config accepted, in the largest frame that carries it.
    const filler = 'é'.repeat(Math.floor((MAX_CENTRAL_CONFIG_BYTES - 100) / 2));
    const v = store.push({ scope: 'global', target: '', config: { inputs: [{ type: 'http_response', urls: [filler] }] } });
    const name = 'n'.repeat(255);
    const welcome = encode({ type: 'welcome', protocol: PROTOCOL_VERSION, server_time: Date.now(), agent: { id: name, host: name, agency: name, site: name }, config_version: v.version, config: v.config });
    expect(Buffer.byteLength(welcome)).toBeGreaterThan(MAX_CENTRAL_CONFIG_BYTES - 200);
    expect(Buffer.byteLength(welcome)).toBeLessThanOrEqual(MAX_COLLECTOR_FRAME_BYTES);
  });
});
