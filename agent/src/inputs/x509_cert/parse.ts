// Pure logic of x509_cert: where a source points, one certificate's Telegraf tags and
// fields, and chain verification for certificates read from files (for network sources the
// TLS handshake verifies, see tls-peer.ts).
import type { X509Certificate } from 'node:crypto';
import type { FieldValue } from '@canh/protocol';

export type Source = { kind: 'tls'; host: string; port: number; starttls?: 'smtp' } | { kind: 'file'; path: string };

/** "tcp://host:port", "tls://host:port", "https://host[:port]", "smtp://host[:port]" (STARTTLS), "file:///path" or "/path". */
export function parseSource(s: string): Source | undefined {
  if (s.startsWith('/')) return { kind: 'file', path: s };
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined;
  }
  if (u.protocol === 'file:') return u.pathname ? { kind: 'file', path: decodeURIComponent(u.pathname) } : undefined;
  const defaults: Record<string, number> = { 'https:': 443, 'tcp:': 0, 'tls:': 0, 'smtp:': 25 };
  if (!(u.protocol in defaults) || !u.hostname) return undefined;
  const port = Number(u.port) || defaults[u.protocol]!;
  if (!port) return undefined;
  return { kind: 'tls', host: u.hostname.replace(/^\[|\]$/g, ''), port, ...(u.protocol === 'smtp:' ? { starttls: 'smtp' as const } : {}) };
}

const cn = (dn: string) => /^CN=(.*)$/m.exec(dn)?.[1] ?? '';

/** Hex serial as Telegraf writes it: lowercase, no leading zeros. */
export function serial(hex: string): string {
  try {
    return BigInt(`0x${hex}`).toString(16);
  } catch {
    return hex.toLowerCase();
  }
}

export function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4));
}

export interface Verification {
  valid: boolean;
  error?: string;
}

export function certPoint(cert: X509Certificate, source: string, v: Verification, nowMs: number) {
  const start = Math.floor(Date.parse(cert.validFrom) / 1000);
  const end = Math.floor(Date.parse(cert.validTo) / 1000);
  const now = Math.floor(nowMs / 1000);
  const tags: Record<string, string> = {
    source,
    common_name: cn(cert.subject),
    issuer_common_name: cn(cert.issuer),
    serial_number: serial(cert.serialNumber),
    san: dnsNames(cert).join(','),
    verification: v.valid ? 'valid' : 'invalid',
  };
  const fields: Record<string, FieldValue> = {
    age: now - start,
    expiry: end - now,
    startdate: start,
    enddate: end,
    verification_code: v.valid ? 0 : 1,
  };
  if (!v.valid) fields.verification_error = (v.error ?? 'not verified').slice(0, 1024);
  return { tags, fields, int: ['age', 'expiry', 'startdate', 'enddate', 'verification_code'] };
}

const issuedBy = (c: X509Certificate, issuer: X509Certificate) => c.checkIssued(issuer) && c.verify(issuer.publicKey);

/**
 * Verify `cert` up to one of `roots` through `pool` (the other certificates at hand), with
 * OpenSSL's error names. Host names are not checked: a file names no host.
 */
export function verifyChain(cert: X509Certificate, pool: readonly X509Certificate[], roots: readonly X509Certificate[], nowMs: number): Verification {
  let c = cert;
  for (let depth = 0; depth < 10; depth++) {
    if (Date.parse(c.validTo) < nowMs) return { valid: false, error: 'CERT_HAS_EXPIRED' };
    if (Date.parse(c.validFrom) > nowMs) return { valid: false, error: 'CERT_NOT_YET_VALID' };
    if (roots.some((r) => r.fingerprint256 === c.fingerprint256 || issuedBy(c, r))) return { valid: true };
    const next = pool.find((p) => p.fingerprint256 !== c.fingerprint256 && p.ca && issuedBy(c, p));
    if (!next) {
      if (issuedBy(c, c)) return { valid: false, error: depth === 0 ? 'DEPTH_ZERO_SELF_SIGNED_CERT' : 'SELF_SIGNED_CERT_IN_CHAIN' };
      return { valid: false, error: depth === 0 ? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' : 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' };
    }
    c = next;
  }
  return { valid: false, error: 'CERT_CHAIN_TOO_LONG' };
}

/** Every certificate in a PEM text. */
export function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
