// The `http_response` input: is a web page up, how fast, with the right status and
// content (Telegraf http_response), its TLS certificate's days to expiry and verification,
// and — for pages marked static — a `possible_defacement` event when the content changes.
import { z } from 'zod';
import { CanhError, duration } from '@canh/core';
import { defineInput, type Accumulator, type InputContext } from '../types.ts';
import { exchange } from './check.ts';
import { contentHash, HashStore } from './content-hash.ts';
import { httpPoint, type Expectations } from './parse.ts';
import { spreadOffsets, waitUntil } from '../spread.ts';
import { performance } from 'node:perf_hooks';

// Telegraf configs are Go regular expressions; the common leading (?i) is understood too.
export function compile(s: string, flags = ''): RegExp {
  const ci = s.startsWith('(?i)');
  return new RegExp(ci ? s.slice(4) : s, ci ? `${flags}i` : flags);
}

const regex = z.string().refine((s) => {
  try {
    compile(s);
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

export const config = z
  .object({
    /** Pages to check: http:// or https:// URLs. */
    urls: z.array(z.url({ protocol: /^https?$/, error: 'not an http:// or https:// URL' })).min(1),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    /** Request body (POST/PUT/PATCH). */
    body: z.string().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** For the whole exchange: connect, TLS, redirects, headers and body. */
    timeout: duration({ min: 1 }).default(5000),
    follow_redirects: z.boolean().default(false),
    max_redirects: z.number().int().min(0).max(50).default(10),
    /** Expected status; anything else is result response_status_code_mismatch. */
    response_status_code: z.number().int().min(100).max(599).optional(),
    /** Regular expression the body must match. */
    response_string_match: regex.optional(),
    /** Regular expressions the body must not match (error pages, "hacked by"). */
    response_string_forbidden: z.array(regex).default([]),
    /** Bytes of body read at most; a larger body is a body_read_error. */
    response_body_max_size: z
      .number()
      .int()
      .min(1)
      .default(32 * 1024 * 1024),
    /** Measure the page even when its certificate does not verify (tls_verified still says so). */
    insecure_skip_verify: z.boolean().default(false),
    /** PEM file of the CA(s) to trust instead of the system's. */
    tls_ca: z.string().min(1).optional(),
    /** The page should never change: a new content hash raises possible_defacement. */
    static: z.boolean().default(false),
    /** Regular expressions removed from the body before hashing (dates, CSRF tokens). */
    hash_ignore: z.array(regex).default([]),
    /** URLs checked at the same time. */
    concurrency: z.number().int().min(1).max(256).default(16),
  })
  .strict();

type Config = z.infer<typeof config>;

async function loadCa(c: Config, ctx: InputContext): Promise<string | undefined> {
  if (!c.tls_ca) return undefined;
  try {
    return await ctx.readFile(c.tls_ca);
  } catch (cause) {
    throw new CanhError('CANH_ERR_HTTP_TLS_CA', `cannot read tls_ca "${c.tls_ca}": give the path of a PEM file readable by the agent`, { cause });
  }
}

export default defineInput({
  name: 'http_response',
  description: 'HTTP(S) availability, response time, status, content checks, TLS expiry and defacement (Telegraf http_response)',
  enabledByDefault: false,
  config,
  create(c, ctx) {
    const expect: Expectations = {
      response_status_code: c.response_status_code,
      response_string_match: c.response_string_match !== undefined ? compile(c.response_string_match) : undefined,
      response_string_forbidden: c.response_string_forbidden.map((s) => compile(s)),
    };
    const ignore = c.hash_ignore.map((s) => compile(s, 'g'));
    const hashes = new HashStore(ctx.state);
    let ca: Promise<string | undefined> | undefined;

    async function checkDefacement(acc: Accumulator, url: string, body: Buffer): Promise<void> {
      const key = `${c.method} ${url}`;
      const hash = contentHash(body, ignore);
      const old = await hashes.get(key);
      if (old === hash) return;
      // First sight stores the baseline quietly; only a change from a known hash is news.
      await hashes.set(key, hash, ctx.now());
      if (old === undefined) return;
      acc.addEvent({
        type: 'possible_defacement',
        severity: 'high',
        mitre: 'T1491.002',
        message: `content of static page ${url} changed (sha256 ${old.slice(0, 12)}… → ${hash.slice(0, 12)}…): check it for defacement`,
        evidence: { url, old_hash: old, new_hash: hash },
      });
    }

    async function checkOne(acc: Accumulator, url: string, caPem: string | undefined): Promise<void> {
      const x = await exchange(url, {
        method: c.method,
        headers: c.headers,
        body: c.body,
        timeoutMs: c.timeout,
        followRedirects: c.follow_redirects,
        maxRedirects: c.max_redirects,
        maxBodyBytes: c.response_body_max_size,
        insecureSkipVerify: c.insecure_skip_verify,
        ca: caPem,
        now: ctx.now,
      });
      const p = httpPoint(url, c.method, x, expect);
      acc.addPoint('http_response', p.tags, p.fields, { int: p.int });
      if (p.result !== 'success') ctx.log.debug({ url, result: p.result, tls: x.tls?.error }, 'http check failed');
      const statusOk = x.status !== undefined && (c.response_status_code ?? 200) === x.status;
      if (c.static && x.body && statusOk && c.method !== 'HEAD') {
        try {
          await checkDefacement(acc, url, x.body);
        } catch (err) {
          ctx.log.warn({ err, url }, 'cannot keep the content hash in the state dir');
        }
      }
    }

    return {
      async gather(acc) {
        let caPem: string | undefined;
        try {
          caPem = await (ca ??= loadCa(c, ctx));
        } catch (err) {
          ca = undefined;
          ctx.log.error({ err }, 'http_response cannot load its CA');
          for (const url of c.urls) {
            const p = httpPoint(url, c.method, { failure: 'connection_failed' }, expect);
            acc.addPoint('http_response', p.tags, p.fields, { int: p.int });
          }
          return;
        }
        // Started one after another over the first part of the interval (spread.ts).
        const tick = performance.now();
        const urls = [...new Set(c.urls)];
        const offsets = spreadOffsets(urls.length, ctx.intervalMs, c.timeout);
        const queue = urls.map((url, i) => ({ url, at: offsets[i]! }));
        const worker = async () => {
          for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
            await waitUntil(tick, next.at, () => performance.now());
            await checkOne(acc, next.url, caPem);
          }
        };
        await Promise.all(Array.from({ length: Math.min(c.concurrency, queue.length) }, worker));
      },
    };
  },
});
