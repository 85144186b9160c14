// Pure logic of the http_response check: how a failed exchange is named (Telegraf's
// result_type/result_code) and which tags and fields one exchange turns into. No I/O:
// check.ts talks to the server and hands the outcome here.
import type { FieldValue } from '@canh/protocol';
import type { PeerCert } from '../tls-peer.ts';

export const RESULTS = {
  success: 0,
  response_string_mismatch: 1,
  body_read_error: 2,
  connection_failed: 3,
  timeout: 4,
  dns_error: 5,
  response_status_code_mismatch: 6,
} as const;
export type ResultType = keyof typeof RESULTS;

/**
 * Phases of the final request, in seconds from its start (cumulative, as curl's -w
 * time_namelookup, time_connect, time_appconnect, time_starttransfer, time_total), each
 * taken with performance.now() in the socket's own event (lookup, connect,
 * secureConnect, first data, end of the body).
 */
export interface Timings {
  /** Name resolved (absent for an address literal: nothing to look up). */
  dns?: number;
  connect?: number;
  /** TLS handshake done (https). */
  tls?: number;
  /** First byte of the response. */
  firstByte?: number;
  /** Whole body read. */
  total?: number;
}

/** What one check saw: an error before any response, or a response with its body. */
export interface Exchange {
  /** Set when no usable response came (network, DNS, TLS, timeout before headers). */
  failure?: ResultType;
  status?: number;
  /** Seconds from the request to the final response's headers (redirects included). */
  responseTime?: number;
  body?: Buffer;
  /** The body could not be read in full (reset, timeout, larger than allowed). */
  bodyFailure?: ResultType;
  tls?: PeerCert;
  timings?: Timings;
}

/** The timing fields of a point, by the Timings member they come from. */
export const TIMING_FIELDS = { dns: 'dns_time', connect: 'connect_time', tls: 'tls_time', firstByte: 'ttfb', total: 'total_time' } as const;

export interface Expectations {
  response_status_code?: number;
  response_string_match?: RegExp;
  response_string_forbidden: RegExp[];
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME']);

/** Name a network error the way Telegraf does; `timedOut` is our own timer having fired. */
export function classifyError(err: unknown, timedOut: boolean): ResultType {
  if (timedOut) return 'timeout';
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (DNS_CODES.has(code)) return 'dns_error';
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  return 'connection_failed';
}

/** OpenSSL and Node codes of a certificate that did not verify. */
export function isCertError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|INVALID_CA|HOSTNAME_MISMATCH/.test(code);
}

export interface HttpPoint {
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  int: string[];
  result: ResultType;
}

/** Telegraf's tags and fields for one exchange, plus Canh's TLS fields on https. */
export function httpPoint(server: string, method: string, x: Exchange, e: Expectations): HttpPoint {
  const tags: Record<string, string> = { server, method };
  const fields: Record<string, FieldValue> = {};
  let result: ResultType = 'success';
  if (x.failure || x.status === undefined) {
    result = x.failure ?? 'connection_failed';
  } else {
    tags.status_code = String(x.status);
    fields.http_response_code = x.status;
    if (x.responseTime !== undefined) fields.response_time = x.responseTime;
    if (x.bodyFailure || !x.body) {
      result = x.bodyFailure ?? 'body_read_error';
    } else {
      fields.content_length = x.body.length;
      const text = x.body.toString('utf8');
      if (e.response_string_match) {
        const ok = e.response_string_match.test(text);
        fields.response_string_match = ok ? 1 : 0;
        if (!ok) result = 'response_string_mismatch';
      }
      if (e.response_string_forbidden.length > 0) {
        const found = e.response_string_forbidden.some((re) => re.test(text));
        fields.response_string_forbidden_match = found ? 1 : 0;
        if (found) result = 'response_string_mismatch';
      }
    }
    // As Telegraf: a wrong status wins over the body checks, but not over a body read error.
    if (e.response_status_code !== undefined && result !== 'body_read_error') {
      const ok = x.status === e.response_status_code;
      fields.response_status_code_match = ok ? 1 : 0;
      if (!ok) result = 'response_status_code_mismatch';
    }
  }
  for (const [k, field] of Object.entries(TIMING_FIELDS)) {
    const v = x.timings?.[k as keyof Timings];
    if (v !== undefined) fields[field] = Math.round(v * 1e6) / 1e6;
  }
  if (x.tls) {
    if (x.tls.expiryDays !== undefined) fields.tls_expiry_days = Math.round(x.tls.expiryDays * 1000) / 1000;
    fields.tls_verified = x.tls.verified ? 1 : 0;
    if (x.tls.error) fields.tls_error = x.tls.error.slice(0, 1024);
  }
  tags.result = result;
  fields.result_type = result;
  fields.result_code = RESULTS[result];
  const int = [
    'http_response_code',
    'content_length',
    'response_string_match',
    'response_string_forbidden_match',
    'response_status_code_match',
    'tls_verified',
    'result_code',
  ];
  return { tags, fields, int: int.filter((k) => k in fields), result };
}
