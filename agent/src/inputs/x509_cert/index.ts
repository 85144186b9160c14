// The `x509_cert` input: certificates of TLS endpoints and PEM files, with days left and
// whether they verify (Telegraf x509_cert), so expiring or broken certificates of agency
// portals are seen weeks before users are.
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { CanhError, duration } from '@canh/core';
import { probeTls } from '../tls-peer.ts';
import { tls } from '../../lazy-tls.ts';
import { defineInput, type Accumulator, type InputContext } from '../types.ts';
import { certPoint, parseSource, pemBlocks, verifyChain, type Verification } from './parse.ts';

export const config = z
  .object({
    /** "tcp://host:port", "https://host", "smtp://mail.host:587" (STARTTLS), "/etc/ssl/certs/portal.pem", "file:///path". */
    sources: z
      .array(z.string().refine((s) => parseSource(s) !== undefined, 'not tcp://host:port, https://host, tls://host:port, smtp://host[:port] or a file path'))
      .min(1),
    /** Connect and handshake timeout for network sources. */
    timeout: duration({ min: 1 }).default(5000),
    /** PEM file of the CA(s) to trust instead of the system's (Node's bundled roots). */
    tls_ca: z.string().min(1).optional(),
    /** SNI name and name to verify, for sources given by address. */
    server_name: z.string().min(1).optional(),
    /** Leave self-signed roots of a chain out of the points. */
    exclude_root_certs: z.boolean().default(false),
  })
  .strict();

type Config = z.infer<typeof config>;

async function loadRoots(c: Config, ctx: InputContext): Promise<{ pem?: string; certs: X509Certificate[] }> {
  if (!c.tls_ca) return { certs: tls().rootCertificates.map((p) => new X509Certificate(p)) };
  const pem = await ctx.readFile(c.tls_ca);
  return { pem, certs: pemBlocks(pem).map((p) => new X509Certificate(p)) };
}

function emit(acc: Accumulator, c: Config, source: string, chain: X509Certificate[], verify: (cert: X509Certificate, i: number) => Verification, now: number) {
  chain.forEach((cert, i) => {
    if (c.exclude_root_certs && i > 0 && cert.checkIssued(cert)) return;
    const p = certPoint(cert, source, verify(cert, i), now);
    acc.addPoint('x509_cert', p.tags, p.fields, { int: p.int });
  });
}

export default defineInput({
  name: 'x509_cert',
  description: 'Certificates of TLS endpoints and PEM files: expiry, age, verification (Telegraf x509_cert)',
  enabledByDefault: false,
  config,
  create(c, ctx) {
    let roots: Promise<{ pem?: string; certs: X509Certificate[] }> | undefined;
    const fail = (source: string, err: unknown) =>
      ctx.log.warn(
        {
          err: new CanhError(
            'CANH_ERR_X509_SOURCE',
            `cannot read certificates from ${source}: check the address or file and that the agent may reach or read it`,
            { cause: err },
          ),
          source,
        },
        'x509_cert source failed',
      );
    return {
      async gather(acc) {
        let trust: { pem?: string; certs: X509Certificate[] };
        try {
          trust = await (roots ??= loadRoots(c, ctx));
        } catch (err) {
          roots = undefined;
          fail(c.tls_ca ?? 'tls_ca', err);
          return;
        }
        await Promise.all(
          c.sources.map(async (source) => {
            const src = parseSource(source)!;
            const now = ctx.now();
            try {
              if (src.kind === 'file') {
                const chain = pemBlocks(await ctx.readFile(src.path)).map((p) => new X509Certificate(p));
                if (chain.length === 0) throw new Error('no PEM certificate in the file');
                emit(acc, c, source, chain, (cert) => verifyChain(cert, chain, trust.certs, now), now);
              } else {
                const peer = await probeTls({
                  host: src.host,
                  port: src.port,
                  servername: c.server_name,
                  ca: trust.pem,
                  timeoutMs: c.timeout,
                  now: () => now,
                  starttls: src.starttls,
                });
                // The handshake verified the leaf (chain and name); issuers are checked like files.
                emit(
                  acc,
                  c,
                  source,
                  peer.chain,
                  (cert, i) => (i === 0 ? { valid: peer.verified, error: peer.error } : verifyChain(cert, peer.chain, trust.certs, now)),
                  now,
                );
              }
            } catch (err) {
              fail(source, err);
            }
          }),
        );
      },
    };
  },
});
