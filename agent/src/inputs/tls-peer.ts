// What a TLS server presented, for the checks that care (http_response, x509_cert): its
// certificate chain, days left on the leaf, and whether the chain and name verified.
// Connections are made with rejectUnauthorized off so that a bad certificate is still
// measured; the caller decides whether to go on talking to such a server.
import type { TLSSocket } from 'node:tls';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { tls } from '../lazy-tls.ts';

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
    error: socket.authorized ? undefined : err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err ?? 'no certificate'),
  };
}

/** The name to send as SNI and to check the certificate against; IPs are checked as IPs. */
export function serverName(host: string): string | undefined {
  const h = host.replace(/^\[|\]$/g, '');
  return isIP(h) ? undefined : h;
}

/**
 * SMTP's STARTTLS (RFC 3207) on a connected plain socket: greeting, EHLO, STARTTLS; resolves
 * once the server said 220 to it (the socket then carries TLS). Rejects with what the server
 * answered when it does not offer STARTTLS or refuses it.
 */
export function smtpStartTls(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let step: 'greeting' | 'ehlo' | 'starttls' = 'greeting';
    let ehloLines: string[] = [];
    const fail = (why: string) => {
      socket.off('data', onData);
      reject(Object.assign(new Error(`SMTP STARTTLS: ${why}`), { code: 'ESTARTTLS' }));
    };
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('latin1');
      if (buf.length > 64 * 1024) return fail('reply too long');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const m = /^(\d{3})([ -])(.*)$/.exec(line);
        if (!m) return fail(`not an SMTP reply: ${JSON.stringify(line.slice(0, 80))}`);
        if (step === 'ehlo') ehloLines.push(m[3]!);
        if (m[2] === '-') continue; // more lines of this reply follow
        const code = m[1]!;
        if (step === 'greeting') {
          if (code !== '220') return fail(`greeting ${code} ${m[3]}`);
          step = 'ehlo';
          ehloLines = [];
          socket.write('EHLO canh-agent\r\n');
        } else if (step === 'ehlo') {
          if (code !== '250') return fail(`EHLO answered ${code} ${m[3]}`);
          if (!ehloLines.some((l) => /^STARTTLS\b/i.test(l))) return fail('the server does not offer STARTTLS');
          step = 'starttls';
          socket.write('STARTTLS\r\n');
        } else {
          if (code !== '220') return fail(`STARTTLS answered ${code} ${m[3]}`);
          socket.off('data', onData);
          return resolve();
        }
      }
    };
    socket.on('data', onData);
  });
}

/** Connect, handshake, read the peer's certificates, close. Rejects on network errors. */
export function probeTls(opts: {
  host: string;
  port: number;
  servername?: string;
  ca?: string;
  timeoutMs: number;
  now: () => number;
  /** Speak this protocol in plain text first and upgrade with its STARTTLS command. */
  starttls?: 'smtp';
}): Promise<PeerCert> {
  return new Promise((resolve, reject) => {
    const host = opts.host.replace(/^\[|\]$/g, '');
    // STARTTLS: a plain connection first, upgraded once the protocol said so.
    const plain: Socket | undefined = opts.starttls ? tcpConnect({ host, port: opts.port }) : undefined;
    let socket: TLSSocket | undefined;
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`TLS handshake with ${host}:${opts.port} timed out`), { code: 'ETIMEDOUT' });
      if (socket) socket.destroy(err);
      else plain?.destroy(err);
    }, opts.timeoutMs);
    const failed = (err: Error) => {
      clearTimeout(timer);
      socket?.destroy();
      plain?.destroy();
      reject(err);
    };
    const handshake = (over?: Socket) => {
      socket = tls().connect({
        ...(over ? { socket: over } : { host, port: opts.port }),
        servername: opts.servername ?? serverName(host),
        ca: opts.ca,
        // Measure bad certificates too; Node still verifies chain and name (IP SANs for
        // addresses) and reports the outcome in socket.authorized.
        rejectUnauthorized: false,
      });
      const s = socket;
      s.once('secureConnect', () => {
        clearTimeout(timer);
        const info = peerCert(s, opts.now());
        s.end();
        resolve(info);
      });
      s.once('error', failed);
    };
    if (!plain) return handshake();
    plain.once('error', failed);
    plain.once('connect', () => {
      smtpStartTls(plain).then(() => handshake(plain), failed);
    });
  });
}
