// One HTTP(S) exchange for the http_response input, on node:http/https (no dependency):
// redirects followed by hand so each hop's TLS is seen, one timer for the whole exchange
// (headers and body, as Telegraf's client timeout), the body read up to a bound.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { peerCert, probeTls, serverName, type PeerCert } from '../tls-peer.ts';
import { classifyError, isCertError, type Exchange, type Timings } from './parse.ts';
import { https as httpsModule, tls } from '../../lazy-tls.ts';

export interface ExchangeOptions {
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  followRedirects: boolean;
  maxRedirects: number;
  maxBodyBytes: number;
  insecureSkipVerify: boolean;
  ca?: string;
  now: () => number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

class BodyTooLarge extends Error {}

/** Times of one request's socket events (performance.now(), ms), taken in the events themselves. */
interface Marks {
  start: number;
  lookup?: number;
  connect?: number;
  secure?: number;
  firstByte?: number;
  headers?: number;
  end?: number;
}

/**
 * Listens to a request's socket for the phase events, each handler taking its timestamp
 * first thing (prepended, so it runs before Node's HTTP parser handles the same data).
 */
function markPhases(req: ClientRequest, m: Marks): void {
  req.once('socket', (s: Socket) => {
    s.prependOnceListener('lookup', () => (m.lookup = performance.now()));
    s.prependOnceListener('connect', () => (m.connect = performance.now()));
    s.prependOnceListener('secureConnect', () => (m.secure = performance.now()));
    s.prependOnceListener('data', () => (m.firstByte = performance.now()));
  });
}

/** Cumulative seconds from the request's start, as curl -w gives them. */
function timings(m: Marks): Timings {
  const since = (t: number | undefined) => (t === undefined ? undefined : Math.max(0, t - m.start) / 1000);
  return { dns: since(m.lookup), connect: since(m.connect), tls: since(m.secure), firstByte: since(m.firstByte), total: since(m.end) };
}

/**
 * One TLS context per CA bundle, made once: given `ca`, Node would otherwise parse the PEM
 * and build a context for every request, inside the time measured as name resolution.
 */
const contexts = new Map<string, SecureContext>();
function secureContext(ca: string | undefined): SecureContext {
  const key = ca ?? '';
  let c = contexts.get(key);
  if (!c) {
    if (contexts.size >= 16) contexts.clear();
    contexts.set(key, (c = tls().createSecureContext(ca !== undefined ? { ca } : {})));
  }
  return c;
}

function send(u: URL, method: string, body: string | undefined, o: ExchangeOptions, signal: AbortSignal, m: Marks) {
  return new Promise<{ res: IncomingMessage; tls?: PeerCert }>((resolve, reject) => {
    const https = u.protocol === 'https:';
    const headers: Record<string, string> = { 'user-agent': 'canh-agent', ...o.headers };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const opts = {
      method,
      headers,
      signal,
      // A fresh connection each time: every check measures a full connect and handshake.
      agent: false as const,
      ...(https ? { rejectUnauthorized: !o.insecureSkipVerify, secureContext: secureContext(o.ca), servername: serverName(u.hostname) } : {}),
    };
    m.start = performance.now();
    const req = (https ? httpsModule().request : httpRequest)(u, opts, (res) => {
      m.headers = performance.now();
      resolve({ res, tls: https ? peerCert(res.socket as TLSSocket, o.now()) : undefined });
    });
    markPhases(req, m);
    req.on('error', reject);
    req.end(body);
  });
}

function readBody(res: IncomingMessage, max: number, m: Marks): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) res.destroy(new BodyTooLarge(`body larger than ${max} bytes`));
      else chunks.push(c);
    });
    res.on('end', () => {
      m.end = performance.now();
      resolve(Buffer.concat(chunks));
    });
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}

/** Ask `url` and report what happened; never rejects. */
export async function exchange(url: string, o: ExchangeOptions): Promise<Exchange> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, o.timeoutMs);
  const started = performance.now();
  let u = new URL(url);
  let method = o.method;
  let body = o.body;
  try {
    for (let hop = 0; ; hop++) {
      let sent;
      const m: Marks = { start: performance.now() };
      try {
        sent = await send(u, method, body, o, ac.signal, m);
      } catch (err) {
        if (u.protocol === 'https:' && !timedOut && isCertError(err)) return { failure: 'connection_failed', tls: await certAfterFailure(u, o, err) };
        return { failure: classifyError(err, timedOut) };
      }
      const { res, tls } = sent;
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (o.followRedirects && REDIRECTS.has(status) && location) {
        res.resume();
        if (hop >= o.maxRedirects) return { failure: 'connection_failed', tls };
        u = new URL(location, u);
        // 303, and 301/302 after a POST, turn into a GET without a body (as browsers do).
        if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      // Taken in the response event, before the certificate was looked at.
      const responseTime = (m.headers! - started) / 1000;
      try {
        const buf = method === 'HEAD' ? Buffer.alloc(0) : await readBody(res, o.maxBodyBytes, m);
        if (method === 'HEAD') m.end = m.headers;
        return { status, responseTime, body: buf, tls, timings: timings(m) };
      } catch {
        return { status, responseTime, bodyFailure: timedOut ? 'timeout' : 'body_read_error', tls, timings: timings(m) };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

// The verifying request failed on the certificate: look at it once more without verifying,
// so the point still says how many days it has left and why it was refused.
async function certAfterFailure(u: URL, o: ExchangeOptions, err: unknown): Promise<PeerCert> {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  try {
    const info = await probeTls({ host: u.hostname, port: Number(u.port) || 443, ca: o.ca, timeoutMs: o.timeoutMs, now: o.now });
    return { ...info, verified: false, error: info.error ?? code };
  } catch {
    return { chain: [], verified: false, error: code };
  }
}
