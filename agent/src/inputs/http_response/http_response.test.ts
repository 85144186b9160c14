// http_response against real local HTTP and HTTPS servers started here, with certificates
// made by openssl for this run: a test CA, a leaf expiring in 3 days, a self-signed one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import input, { compile, config } from './index.ts';
import { classifyError, httpPoint } from './parse.ts';
import { checkRecorder, readmeExample, realContext } from '../check-testing.ts';
import { CertFactory, type Pem } from '../tls-testing.ts';
import type { InputContext } from '../types.ts';

const state = { page: '<html>Welcome to the portal</html>', stamped: 0 };

function handler(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/';
  if (path === '/slow') {
    // Answers after 30 s, far beyond any timeout the tests set (cleared when the client goes).
    const t = setTimeout(() => res.end('late'), 30_000);
    res.on('close', () => clearTimeout(t));
    return;
  }
  if (path === '/old') return void res.writeHead(301, { location: '/new' }).end();
  if (path === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
  if (path === '/new') return void res.end('the new place');
  if (path === '/error') return void res.writeHead(500).end('Internal Server Error');
  if (path === '/page') return void res.end(state.page);
  if (path === '/stamped') return void res.end(`<p>static</p><!-- generated ${++state.stamped} -->`);
  if (path === '/big') return void res.end('x'.repeat(100_000));
  if (path === '/echo') {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => res.end(`${req.method} ${body}`));
    return;
  }
  res.end('<html>Welcome to the portal</html>');
}

const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

let http: Server;
let base: string;
const tlsServers: Server[] = [];
let certs: CertFactory;
let ca: Pem;
const https = { valid: '', expiring: '', selfSigned: '' };

beforeAll(async () => {
  http = createServer(handler);
  base = `http://127.0.0.1:${await listen(http)}`;
  certs = new CertFactory();
  ca = certs.ca();
  const serve = async (pem: Pem) => {
    const s = createHttpsServer({ cert: pem.cert, key: pem.key }, handler);
    tlsServers.push(s);
    return `https://localhost:${await listen(s)}`;
  };
  https.valid = await serve(certs.leaf({ days: 30, ca }));
  https.expiring = await serve(certs.leaf({ days: 3, ca }));
  https.selfSigned = await serve(certs.leaf({ days: 30 }));
});

afterAll(async () => {
  for (const s of [http, ...tlsServers]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function check(options: Record<string, unknown>, ctx: InputContext = realContext()) {
  const acc = checkRecorder();
  await input.create(config.parse(options), ctx).gather!(acc);
  return acc;
}

describe('http_response over http', () => {
  it('measures a page that is up', async () => {
    const started = performance.now();
    const acc = await check({ urls: [`${base}/`], response_string_match: 'Welcome', response_status_code: 200 });
    const tookS = (performance.now() - started) / 1000;
    const p = acc.one({ server: `${base}/` });
    expect(p.tags).toEqual({ server: `${base}/`, method: 'GET', status_code: '200', result: 'success' });
    expect(p.fields).toMatchObject({
      result_code: 0,
      result_type: 'success',
      http_response_code: 200,
      response_string_match: 1,
      response_status_code_match: 1,
      content_length: 34,
    });
    expect(p.fields.response_time).toBeGreaterThan(0);
    // In seconds, within the check's own wall time (not a speed bound: a loaded machine may take long).
    expect(p.fields.response_time).toBeLessThanOrEqual(tookS);
    expect(p.int).toEqual(expect.arrayContaining(['http_response_code', 'content_length', 'result_code']));
    expect(p.fields).not.toHaveProperty('tls_verified');
  });

  it('reports a missing string, a forbidden string and a wrong status', async () => {
    const acc = await check({
      urls: [`${base}/`, `${base}/error`],
      response_string_match: 'Goodbye',
      response_string_forbidden: ['Internal Server'],
      response_status_code: 200,
    });
    expect(acc.one({ server: `${base}/` }).fields).toMatchObject({
      result_code: 1,
      result_type: 'response_string_mismatch',
      response_string_match: 0,
      response_string_forbidden_match: 0,
    });
    expect(acc.one({ server: `${base}/error` }).fields).toMatchObject({
      result_code: 6,
      http_response_code: 500,
      response_status_code_match: 0,
      response_string_forbidden_match: 1,
    });
  });

  it('times out on a slow server', async () => {
    const started = Date.now();
    const acc = await check({ urls: [`${base}/slow`], timeout: '300ms' });
    // Gave up at its timeout, not when the server answered (30 s): a bound only a missing
    // timeout would pass, loose enough for a loaded machine.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(acc.one({ server: `${base}/slow` }).fields).toEqual({ result_code: 4, result_type: 'timeout' });
  });

  it('follows redirects only when asked, and gives up on a loop', async () => {
    const not = (await check({ urls: [`${base}/old`] })).one({});
    expect(not.fields).toMatchObject({ http_response_code: 301, result_code: 0 });
    const yes = (await check({ urls: [`${base}/old`], follow_redirects: true, response_string_match: 'new place' })).one({});
    expect(yes.fields).toMatchObject({ http_response_code: 200, result_code: 0, response_string_match: 1 });
    const loop = (await check({ urls: [`${base}/loop`], follow_redirects: true, max_redirects: 3 })).one({});
    expect(loop.fields).toMatchObject({ result_type: 'connection_failed', result_code: 3 });
  });

  it('sends a POST body and headers', async () => {
    const p = (
      await check({
        urls: [`${base}/echo`],
        method: 'POST',
        body: 'q=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        response_string_match: '^POST q=1$',
      })
    ).one({});
    expect(p.tags.method).toBe('POST');
    expect(p.fields).toMatchObject({ result_code: 0, response_string_match: 1 });
  });

  it('reports a closed port, an unknown name and a body over the limit', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const acc = await check({ urls: [`http://127.0.0.1:${port}/`, 'http://no-such-host.invalid/', `${base}/big`], response_body_max_size: 1000 });
    expect(acc.one({ server: `http://127.0.0.1:${port}/` }).fields).toEqual({ result_code: 3, result_type: 'connection_failed' });
    expect(acc.one({ server: 'http://no-such-host.invalid/' }).fields).toEqual({ result_code: 5, result_type: 'dns_error' });
    expect(acc.one({ server: `${base}/big` }).fields).toMatchObject({ result_code: 2, result_type: 'body_read_error', http_response_code: 200 });
  });
});

describe('http_response over https', () => {
  it('verifies a certificate from the configured CA and reports its days left', async () => {
    const acc = await check({ urls: [https.valid, https.expiring], tls_ca: ca.certFile });
    const valid = acc.one({ server: https.valid }).fields;
    expect(valid).toMatchObject({ result_code: 0, tls_verified: 1, http_response_code: 200 });
    expect(valid.tls_expiry_days).toBeGreaterThan(29.9);
    expect(valid).not.toHaveProperty('tls_error');
    const expiring = acc.one({ server: https.expiring }).fields;
    expect(expiring.tls_expiry_days).toBeGreaterThan(2.9);
    expect(expiring.tls_expiry_days).toBeLessThanOrEqual(3);
  });

  it('refuses an untrusted certificate but still reports it', async () => {
    const p = (await check({ urls: [https.selfSigned] })).one({});
    expect(p.fields).toMatchObject({ result_code: 3, result_type: 'connection_failed', tls_verified: 0, tls_error: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(p.fields.tls_expiry_days).toBeGreaterThan(29);
    expect(p.fields).not.toHaveProperty('http_response_code');
  });

  it('measures the page with insecure_skip_verify and says it did not verify', async () => {
    const p = (await check({ urls: [https.selfSigned], insecure_skip_verify: true, response_string_match: 'Welcome' })).one({});
    expect(p.fields).toMatchObject({ result_code: 0, http_response_code: 200, tls_verified: 0, tls_error: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('does not trust the system roots for a private CA', async () => {
    const p = (await check({ urls: [https.valid] })).one({});
    expect(p.fields).toMatchObject({ result_code: 3, tls_verified: 0, tls_error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });
});

describe('http_response defacement', () => {
  it('raises possible_defacement when a static page changes, once, also across restarts', async () => {
    const ctx = realContext();
    const opts = { urls: [`${base}/page`], static: true };
    state.page = '<html>Welcome to the portal</html>';
    expect((await check(opts, ctx)).events).toEqual([]);
    expect((await check(opts, ctx)).events).toEqual([]);
    state.page = '<html>HACKED BY someone</html>';
    // A new input instance on the same state dir: the agent restarted in between.
    const acc = await check(opts, ctx);
    expect(acc.events).toHaveLength(1);
    const e = acc.events[0]!;
    expect(e).toMatchObject({ type: 'possible_defacement', severity: 'high', mitre: 'T1491.002' });
    expect(e.evidence).toMatchObject({
      url: `${base}/page`,
      old_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      new_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(e.evidence!.old_hash).not.toBe(e.evidence!.new_hash);
    expect((await check(opts, ctx)).events).toEqual([]);
  });

  it('ignores what hash_ignore removes, and pages not marked static', async () => {
    const ctx = realContext();
    for (let i = 0; i < 3; i++) {
      expect((await check({ urls: [`${base}/stamped`], static: true, hash_ignore: ['<!-- generated \\d+ -->'] }, ctx)).events).toEqual([]);
      expect((await check({ urls: [`${base}/stamped`] }, ctx)).events).toEqual([]);
    }
    // Without hash_ignore the changing comment is a change: the check can fail.
    await check({ urls: [`${base}/stamped`], static: true }, ctx);
    expect((await check({ urls: [`${base}/stamped`], static: true }, ctx)).events).toHaveLength(1);
  });
});

describe('http_response pure parts', () => {
  it('parses the README example', () => {
    expect(readmeExample(import.meta.dirname, input)).toMatchObject({ urls: expect.any(Array) });
  });
  it('refuses URLs that are not http(s) and bad regular expressions', () => {
    expect(config.safeParse({ urls: ['ftp://x/'] }).success).toBe(false);
    expect(config.safeParse({ urls: ['http://x/'], response_string_match: '(' }).success).toBe(false);
    expect(compile('(?i)hacked by').test('HACKED BY x')).toBe(true);
  });
  it('names errors as Telegraf does', () => {
    expect(classifyError(Object.assign(new Error(), { code: 'ENOTFOUND' }), false)).toBe('dns_error');
    expect(classifyError(Object.assign(new Error(), { code: 'ECONNRESET' }), false)).toBe('connection_failed');
    expect(classifyError(new Error('aborted'), true)).toBe('timeout');
    expect(httpPoint('u', 'GET', {}, { response_string_forbidden: [] }).fields).toEqual({ result_code: 3, result_type: 'connection_failed' });
  });
});
