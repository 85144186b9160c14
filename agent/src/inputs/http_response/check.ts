// One HTTP(S) exchange for the http_response input, on node:http/https (no dependency):
// redirects followed by hand so each hop's TLS is seen, one timer for the whole exchange
// (headers and body, as Telegraf's client timeout), the body read up to a bound.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { peerCert, probeTls, serverName, type PeerCert } from '../tls-peer.ts';
import { classifyError, isCertError, type Exchange } from './parse.ts';

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

function send(u: URL, method: string, body: string | undefined, o: ExchangeOptions, signal: AbortSignal) {
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
      ...(https ? { rejectUnauthorized: !o.insecureSkipVerify, ca: o.ca, servername: serverName(u.hostname) } : {}),
    };
    const req = (https ? httpsRequest : httpRequest)(u, opts, (res) => {
      resolve({ res, tls: https ? peerCert(res.socket as TLSSocket, o.now()) : undefined });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function readBody(res: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) res.destroy(new BodyTooLarge(`body larger than ${max} bytes`));
      else chunks.push(c);
    });
    res.on('end', () => resolve(Buffer.concat(chunks)));
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
      try {
        sent = await send(u, method, body, o, ac.signal);
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
      const responseTime = (performance.now() - started) / 1000;
      try {
        const buf = method === 'HEAD' ? Buffer.alloc(0) : await readBody(res, o.maxBodyBytes);
        return { status, responseTime, body: buf, tls };
      } catch {
        return { status, responseTime, bodyFailure: timedOut ? 'timeout' : 'body_read_error', tls };
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
