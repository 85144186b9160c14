// Network checks of one gather start spread over the first part of the interval, not in
// the tick's millisecond (when every host input gathers too).
import { describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import httpInput, { config as httpConfig } from './http_response/index.ts';
import netInput, { config as netConfig } from './net_response/index.ts';
import { keyedOffset, spreadOffsets, spreadWindow } from './spread.ts';
import { checkRecorder, realContext } from './check-testing.ts';

describe('spread of checks', () => {
  it('places n checks evenly in the first quarter of the interval, leaving room for the timeout', () => {
    expect(spreadOffsets(3, 30_000, 5000)).toEqual([1250, 3750, 6250]);
    expect(spreadOffsets(1, 10_000, 1000)).toEqual([1250]);
    // No interval (a one-off check): no wait. A timeout that leaves no room: no wait.
    expect(spreadOffsets(2, undefined, 1000)).toEqual([0, 0]);
    expect(spreadWindow(10_000, 9000)).toBe(0);
    const k = keyedOffset('tcp mail.example.gov.vn:25', 30_000, 2000);
    expect(k).toBe(keyedOffset('tcp mail.example.gov.vn:25', 30_000, 2000));
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(7500);
    expect(keyedOffset('tcp 10.0.0.1:22', 30_000, 2000)).not.toBe(k);
  });

  it('http_response under the agent starts its URLs at their offsets, never before', async () => {
    const arrivals: Record<string, number> = {};
    const srv: Server = createServer((req, res) => {
      arrivals[req.url!] = performance.now();
      res.end('ok');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    try {
      const urls = ['/a', '/b', '/c'].map((p) => `http://127.0.0.1:${port}${p}`);
      const input = httpInput.create(httpConfig.parse({ urls, timeout: '500ms' }), { ...realContext(), intervalMs: 2000 });
      const acc = checkRecorder();
      const tick = performance.now();
      await input.gather!(acc);
      const offsets = spreadOffsets(3, 2000, 500);
      expect(offsets).toEqual([83, 250, 417]);
      ['/a', '/b', '/c'].forEach((p, i) => expect(arrivals[p]! - tick, p).toBeGreaterThanOrEqual(offsets[i]! - 1));
      expect(acc.points).toHaveLength(3);
    } finally {
      srv.close();
    }
  });

  it('net_response under the agent waits for its keyed offset', async () => {
    const srv = (await import('node:net')).createServer((s) => s.end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const address = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const c = netConfig.parse({ address });
      const input = netInput.create(c, { ...realContext(), intervalMs: 4000 });
      const tick = performance.now();
      await input.gather!(checkRecorder());
      expect(performance.now() - tick).toBeGreaterThanOrEqual(keyedOffset(`tcp ${address}`, 4000, c.timeout + c.read_timeout) - 1);
    } finally {
      srv.close();
    }
  });
});
