// Pure logic of net_response: Telegraf's result names and codes, splitting "host:port",
// and the tags and fields one probe turns into.
import type { FieldValue } from '@canh/protocol';

export const RESULTS = { success: 0, timeout: 1, connection_failed: 2, read_failed: 3, string_mismatch: 4 } as const;
export type ResultType = keyof typeof RESULTS;

/** "host:port", "[v6]:port" or "v6addr:port" (last colon) into its parts; undefined if not one. */
export function splitAddress(address: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^\s/]+):(\d+)$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || m[1]!.startsWith('-')) return undefined;
  return { host: m[1]!, port };
}

/** The first line a server sent (banners such as SMTP's "220 ..."), without its line end. */
export function firstLine(data: string): string {
  const i = data.indexOf('\n');
  return (i < 0 ? data : data.slice(0, i)).replace(/\r$/, '');
}

export interface Probe {
  result: ResultType;
  /** Seconds from dialing to the connect, or to the answer when one is expected. */
  responseTime?: number;
  /** TCP phases, seconds from dialing, taken in the socket's events: name resolved (not for an address), connected, first byte received. */
  dnsTime?: number;
  connectTime?: number;
  firstByteTime?: number;
}

export function netPoint(host: string, port: number, protocol: 'tcp' | 'udp', p: Probe, expect: boolean) {
  const tags: Record<string, string> = { server: host, port: String(port), protocol, result: p.result };
  const fields: Record<string, FieldValue> = { result_code: RESULTS[p.result], result_type: p.result };
  if (p.responseTime !== undefined) fields.response_time = p.responseTime;
  if (p.dnsTime !== undefined) fields.dns_time = p.dnsTime;
  if (p.connectTime !== undefined) fields.connect_time = p.connectTime;
  if (p.firstByteTime !== undefined) fields.ttfb = p.firstByteTime;
  if (expect && (p.result === 'success' || p.result === 'string_mismatch' || p.result === 'read_failed')) {
    fields.string_found = p.result === 'success';
  }
  return { tags, fields, int: ['result_code'] };
}
