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
    const welcome = encode({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      server_time: Date.now(),
      agent: { id: name, host: name, agency: name, site: name },
      config_version: v.version,
      config: v.config,
    });
    expect(Buffer.byteLength(welcome)).toBeGreaterThan(MAX_CENTRAL_CONFIG_BYTES - 200);
    expect(Buffer.byteLength(welcome)).toBeLessThanOrEqual(MAX_COLLECTOR_FRAME_BYTES);
  });
});

describe('central config store: rollback and delete', () => {
  const agent = { id: 'id-1', name: 'web-01', agency: 'so-tttt', site: 'dc', createdAt: 0, revokedAt: null, lastSeen: null, version: null, connected: false };
  const cfg = (interval: string) => ({ agent: { interval } });

  it('rollback makes an earlier document current again as a new version', () => {
    const store = new CentralConfigStore(new DatabaseSync(':memory:'));
    const v1 = store.push({ scope: 'agency', target: 'so-tttt', config: cfg('10s') });
    store.push({ scope: 'agency', target: 'so-tttt', config: cfg('1s') });
    expect(store.previous('agency', 'so-tttt')!.version).toBe(v1.version);
    const back = store.rollback(v1.version, { author: 'an' });
    expect(back.version).toBe(3);
    expect(back.comment).toBe('rollback to version 1');
    expect(store.resolve(agent)).toMatchObject({ version: 3, config: cfg('10s'), scope: 'agency' });
    expect(() => store.rollback(99)).toThrow(expect.objectContaining({ code: 'CANH_ERR_CENTRAL_NOT_FOUND' }));
  });

  it('delete falls back to the less specific scope, then to an empty config (the local file)', () => {
    const store = new CentralConfigStore(new DatabaseSync(':memory:'));
    const g = store.push({ scope: 'global', target: '', config: cfg('30s') });
    store.push({ scope: 'agent', target: 'web-01', config: cfg('5s') });
    expect(store.resolve(agent)!.config).toEqual(cfg('5s'));
    store.remove('agent', 'web-01');
    expect(store.resolve(agent)).toMatchObject({ version: g.version, config: cfg('30s') });
    const tomb = store.remove('global', '');
    expect(tomb.deleted).toBe(true);
    // Nothing applies any more: a new version with an empty config, so the agent is told.
    expect(store.resolve(agent)).toMatchObject({ version: tomb.version, config: {} });
    expect(store.latestVersion()).toBe(tomb.version);
    expect(() => store.remove('global', '')).toThrow(expect.objectContaining({ code: 'CANH_ERR_CENTRAL_NOT_FOUND' }));
    expect(() => store.rollback(tomb.version)).toThrow(expect.objectContaining({ code: 'CANH_ERR_CENTRAL_NOT_FOUND' }));
    // A push after a delete applies again.
    store.push({ scope: 'agent', target: 'web-01', config: cfg('7s') });
    expect(store.resolve(agent)!.config).toEqual(cfg('7s'));
  });
});
