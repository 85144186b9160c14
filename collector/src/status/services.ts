// Portals and services at a glance: the latest http_response, net_response and x509_cert
// point of each checked target, remembered as batches arrive (no InfluxDB query), so the
// status page can say which portal or service is up or down and which certificate is
// about to expire. Bounded: a fleet that checks more targets keeps the first MAX_TARGETS.
import { pointsOf, type Batch } from '@canh/protocol';
import type { Identity } from '../identity.ts';

export interface ServiceRow {
  kind: 'portal' | 'service' | 'certificate';
  /** URL, host:port or certificate source, as the agent's config names it. */
  target: string;
  /** The agent that checks it. */
  host: string;
  agency: string;
  up: boolean;
  /** Portals: HTTP status; services: result type; certificates: seconds to expiry. */
  detail: string;
  responseMs: number | null;
  expirySeconds: number | null;
  time: number;
}

const MAX_TARGETS = 500;
const WANTED = new Set(['http_response', 'net_response', 'x509_cert']);
/** A certificate with less than this left shows as down. */
const CERT_WARN_S = 14 * 86_400;

export class ServiceBoard {
  private readonly rows = new Map<string, ServiceRow>();

  observe(id: Identity, batch: Batch): void {
    for (const p of pointsOf(batch, (m) => WANTED.has(m))) {
      const num = (k: string) => (typeof p.fields[k] === 'number' ? (p.fields[k] as number) : null);
      let row: ServiceRow | undefined;
      if (p.name === 'http_response' && p.tags.server) {
        const code = num('result_code');
        const rt = num('response_time');
        row = {
          kind: 'portal',
          target: p.tags.server,
          host: id.host,
          agency: id.agency,
          up: code === 0,
          detail: p.tags.status_code ?? p.tags.result ?? '',
          responseMs: rt === null ? null : rt * 1000,
          expirySeconds: null,
          time: p.time,
        };
      } else if (p.name === 'net_response' && p.tags.server) {
        const code = num('result_code');
        const rt = num('response_time');
        row = {
          kind: 'service',
          target: `${p.tags.server}:${p.tags.port ?? '?'}${p.tags.protocol && p.tags.protocol !== 'tcp' ? `/${p.tags.protocol}` : ''}`,
          host: id.host,
          agency: id.agency,
          up: code === 0,
          detail: p.tags.result ?? '',
          responseMs: rt === null ? null : rt * 1000,
          expirySeconds: null,
          time: p.time,
        };
      } else if (p.name === 'x509_cert' && p.tags.source) {
        const expiry = num('expiry');
        if (expiry === null) continue;
        const key = `certificate\0${id.host}\0${p.tags.source}`;
        const prev = this.rows.get(key);
        // One row per source: the certificate of its chain that expires first.
        if (prev && prev.time === p.time && (prev.expirySeconds ?? Infinity) <= expiry) continue;
        row = {
          kind: 'certificate',
          target: p.tags.source,
          host: id.host,
          agency: id.agency,
          up: expiry > CERT_WARN_S,
          detail: '',
          responseMs: null,
          expirySeconds: expiry,
          time: p.time,
        };
      }
      if (!row) continue;
      const key = `${row.kind}\0${row.host}\0${row.target}`;
      if (!this.rows.has(key) && this.rows.size >= MAX_TARGETS) continue;
      this.rows.set(key, row);
    }
  }

  list(): ServiceRow[] {
    const order = { portal: 0, service: 1, certificate: 2 };
    return [...this.rows.values()].sort((a, b) => order[a.kind] - order[b.kind] || Number(a.up) - Number(b.up) || a.target.localeCompare(b.target));
  }
}
