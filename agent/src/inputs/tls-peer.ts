// What a TLS server presented, for the checks that care (http_response, x509_cert): its
// certificate chain, days left on the leaf, and whether the chain and name verified.
// Connections are made with rejectUnauthorized off so that a bad certificate is still
// measured; the caller decides whether to go on talking to such a server.
import { connect, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';

export interface PeerCert {
  /** Leaf first, then its issuers as the server sent them. */
  chain: X509Certificate[];
  /** Days until the leaf's notAfter (negative once expired). */
  expiryDays?: number;
  verified: boolean;
  /** OpenSSL's or Node's reason when not verified, e.g. DEPTH_ZERO_SELF_SIGNED_CERT. */
  error?: string;
}

/** Read the chain and verification result off a connected TLS socket. */
export function peerCert(socket: TLSSocket, now: number): PeerCert {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let c = socket.getPeerCertificate(true) as (ReturnType<TLSSocket['getPeerCertificate']> & { issuerCertificate?: unknown }) | undefined;
  // The detailed form links each certificate to its issuer; a root links to itself.
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    chain.push(new X509Certificate(c.raw));
    c = c.issuerCertificate as typeof c;
  }
  const leaf = chain[0];
  const err = socket.authorizationError as unknown;
  return {
    chain,
    expiryDays: leaf ? (Date.parse(leaf.validTo) - now) / 86_400_000 : undefined,
    verified: socket.authorized,
    error: socket.authorized ? undefined : err instanceof Error ? (((err as NodeJS.ErrnoException).code ?? err.message)) : String(err ?? 'no certificate'),
  };
}

/** The name to send as SNI and to check the certificate against; IPs are checked as IPs. */
export function serverName(host: string): string | undefined {
  const h = host.replace(/^\[|\]$/g, '');
  return isIP(h) ? undefined : h;
}

/** Connect, handshake, read the peer's certificates, close. Rejects on network errors. */
export function probeTls(opts: {
  host: string;
  port: number;
  servername?: string;
  ca?: string;
  timeoutMs: number;
  now: () => number;
}): Promise<PeerCert> {
  return new Promise((resolve, reject) => {
    const host = opts.host.replace(/^\[|\]$/g, '');
    const socket = connect({
      host,
      port: opts.port,
      servername: opts.servername ?? serverName(host),
      ca: opts.ca,
      // Measure bad certificates too; Node still verifies chain and name (IP SANs for
      // addresses) and reports the outcome in socket.authorized.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`TLS handshake with ${host}:${opts.port} timed out`), { code: 'ETIMEDOUT' })), opts.timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const info = peerCert(socket, opts.now());
      socket.end();
      resolve(info);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
