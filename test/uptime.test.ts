// End to end for the uptime checks: an agent with ping, http_response (one static page
// that then changes) and net_response sends through a real collector into a real influxd;
// the points and the possible_defacement event come back with host/agency/site tags.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';

let pipeline: Pipeline;
let web: Server;
let base = '';
let page = '<html>Cổng thông tin điện tử</html>';

beforeAll(async () => {
  web = createServer((_req, res) => res.end(page));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  pipeline = await startPipeline();
}, 60_000);

afterAll(async () => {
  await pipeline?.stop();
  web.closeAllConnections();
  await new Promise((r) => web.close(r));
});

describe('uptime checks through the collector', () => {
  it('stores ping, http_response and net_response points, and the defacement event', async () => {
    await pipeline.addAgent({
      name: 'web01',
      agency: 'so-tttt',
      site: 'dc1',
      inputs: [
        { type: 'ping', urls: ['127.0.0.1'], count: 2, ping_interval: '200ms' },
        { type: 'http_response', urls: [`${base}/`], response_status_code: 200, response_string_match: 'Cổng', static: true },
        { type: 'net_response', address: base.replace('http://', '') },
      ],
    });
    const ping = await pipeline.waitFor(`SELECT * FROM ping WHERE url = '127.0.0.1'`, (r) => r.length > 0, 20_000);
    expect(ping[0]).toMatchObject({ host: 'web01', agency: 'so-tttt', site: 'dc1', result_code: 0, packets_received: 2, percent_packet_loss: 0 });
    expect(ping[0]!.average_response_ms).toBeGreaterThan(0);

    const http = await pipeline.waitFor(`SELECT * FROM http_response`, (r) => r.length > 0, 20_000);
    expect(http[0]).toMatchObject({
      host: 'web01',
      agency: 'so-tttt',
      site: 'dc1',
      server: `${base}/`,
      status_code: '200',
      result: 'success',
      result_code: 0,
      http_response_code: 200,
      response_string_match: 1,
    });

    const net = await pipeline.waitFor(`SELECT * FROM net_response`, (r) => r.length > 0, 20_000);
    expect(net[0]).toMatchObject({ host: 'web01', protocol: 'tcp', result: 'success', result_code: 0 });

    // The baseline hash is stored by the first gather; a changed page is news on a later one.
    page = '<html>hacked</html>';
    const events = await pipeline.waitFor(`SELECT * FROM security_event WHERE "type" = 'possible_defacement'`, (r) => r.length > 0, 20_000);
    expect(events[0]).toMatchObject({
      host: 'web01',
      agency: 'so-tttt',
      site: 'dc1',
      severity: 'high',
      mitre: 'T1491.002',
      detector: 'http_response',
      url: `${base}/`,
    });
    expect(events[0]!.old_hash).not.toBe(events[0]!.new_hash);
  }, 60_000);
});
