// Options of the web_access detector, shared by the live detector and `canh-agent detect`:
// one schema, one place for the defaults.
import { isIP } from 'node:net';
import { z } from 'zod';
import { duration } from '@canh/core';
import { isLinearPattern } from './classify.ts';
import { DEFAULT_EXPLOITS, type ExploitPattern } from './exploits.ts';
import { compileLogFormat } from './parse.ts';
import { WebScenarios, type ScenarioName } from './scenarios.ts';
import { makeNewScriptCheck } from './web-roots.ts';

const bucket = (capacity: number, leak: number) =>
  z
    .object({
      /** Distinct requests held before the bucket overflows into an event. */
      capacity: z.number().int().min(0).max(100_000).default(capacity),
      /** One request leaks out of the bucket every `leak`. */
      leak: duration({ min: 10 }).default(leak),
    })
    .strict()
    .default({ capacity, leak });

const cidr = z.string().refine((s) => {
  const [a, bits, extra] = s.split('/');
  if (extra !== undefined || !a || !isIP(a)) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (isIP(a) === 6 ? 128 : 32);
}, 'must be an address or a CIDR block such as 10.0.0.0/8');

const field = z.enum(['path', 'query', 'target', 'user_agent', 'referer', 'method']);
const exploit = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i),
    cve: z
      .string()
      .regex(/^CVE-\d{4}-\d{4,7}$/)
      .optional(),
    title: z.string().min(1).max(200),
    severity: z.enum(['medium', 'high', 'critical']).optional(),
    match: z.array(z.record(field, z.string().min(2).max(512))).optional(),
    regex: z
      .array(
        z
          .object({
            field,
            pattern: z
              .string()
              .min(2)
              .max(512)
              .refine((p) => {
                try {
                  new RegExp(p);
                } catch {
                  return false;
                }
                return isLinearPattern(p);
              }, 'must be a valid regular expression without nested quantifiers or back-references (they could take super-linear time on hostile input)'),
          })
          .strict(),
      )
      .optional(),
  })
  .strict()
  .refine((e) => (e.match?.length ?? 0) + (e.regex?.length ?? 0) > 0, 'an exploit needs a match or a regex');

export const webAccessShape = {
  /** Log format: auto (combined, common, vhost_combined, JSON lines, IIS W3C told apart per
   *  line), one of those names, or a custom nginx-style log_format such as
   *  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent'. */
  format: z
    .string()
    .min(1)
    .default('auto')
    .refine((f) => {
      if (['auto', 'combined', 'common', 'vhost_combined', 'json', 'iis'].includes(f)) return true;
      try {
        compileLogFormat(f);
        return true;
      } catch {
        return false;
      }
    }, 'must be auto, combined, common, vhost_combined, json, iis or an nginx-style log_format with $variables'),
  /** Site name in events when the log names no virtual host (one log per site is common). */
  site: z.string().min(1).max(253).optional(),
  /** Proxies (addresses or CIDR blocks) whose X-Forwarded-For is believed; from anyone else the header is ignored. */
  trusted_proxies: z.array(cidr).default([]),
  /** Sources never reported (the agency's own vulnerability scanner, monitoring). */
  ignore_sources: z.array(cidr).default([]),
  scan: bucket(10, 10_000),
  sensitive_file: bucket(4, 5_000),
  path_traversal: bucket(2, 10_000),
  sqli: bucket(2, 10_000),
  xss: bucket(2, 10_000),
  admin: bucket(5, 10_000),
  login: bucket(5, 10_000),
  /** After an event, the same source and scenario rest this long; hits meanwhile go into the next event's count. */
  cooldown: duration({ min: 0 }).default(300_000),
  /** Login URLs whose failures are counted: a request with this method and path answered with one of these statuses. */
  login_urls: z
    .array(
      z
        .object({
          path: z.string().startsWith('/'),
          method: z
            .string()
            .regex(/^[A-Z]+$/)
            .default('POST'),
          fail_status: z.array(z.number().int().min(100).max(599)).min(1),
        })
        .strict(),
    )
    .default([
      { path: '/wp-login.php', method: 'POST', fail_status: [200] },
      { path: '/xmlrpc.php', method: 'POST', fail_status: [200] },
      { path: '/user/login', method: 'POST', fail_status: [200, 403] },
      { path: '/administrator/index.php', method: 'POST', fail_status: [200, 303] },
      { path: '/login', method: 'POST', fail_status: [401, 403] },
    ]),
  /** Known exploit requests (see exploits.ts); replace or extend by central config. */
  exploits: z.array(exploit).default(DEFAULT_EXPLOITS as z.input<typeof exploit>[]),
  /** Bound on the sources tracked at once (memory under a distributed scan). */
  max_sources: z.number().int().min(100).default(10_000),
  /** Web roots: a successful request that runs a script (.php, .jsp, .aspx, .cgi...) added
   *  there less than `new_script_window` before is a web shell in use (critical). */
  web_roots: z
    .array(
      z
        .object({
          path: z.string().refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path'),
          url_prefix: z.string().startsWith('/').default('/'),
          site: z.string().min(1).optional(),
        })
        .strict(),
    )
    .default([]),
  new_script_window: duration({ min: 1000 }).default(86_400_000),
};

export const WebAccessOptions = z.object(webAccessShape);
export type WebAccessConfig = z.infer<typeof WebAccessOptions>;

export function makeScenarios(c: WebAccessConfig, now: () => number = Date.now): WebScenarios {
  const b = (x: { capacity: number; leak: number }) => ({ capacity: x.capacity, leakMs: x.leak });
  const buckets: Record<ScenarioName, { capacity: number; leakMs: number }> = {
    scan: b(c.scan),
    sensitive_file: b(c.sensitive_file),
    path_traversal: b(c.path_traversal),
    sqli: b(c.sqli),
    xss: b(c.xss),
    admin: b(c.admin),
    login: b(c.login),
  };
  return new WebScenarios({
    buckets,
    cooldownMs: c.cooldown,
    loginUrls: c.login_urls.map((u) => ({ path: u.path, method: u.method, failStatus: u.fail_status })),
    exploits: c.exploits as ExploitPattern[],
    trustedProxies: c.trusted_proxies,
    ignoreSources: c.ignore_sources,
    ...(c.site ? { site: c.site } : {}),
    ...(c.web_roots.length ? { newScript: makeNewScriptCheck(c.web_roots, c.new_script_window, now) } : {}),
    maxSources: c.max_sources,
  });
}
