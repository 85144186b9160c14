// x509_cert against a real local TLS server and PEM files, with certificates made by
// openssl for this run (a test CA, a leaf expiring in 3 days, a self-signed one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import input, { config } from './index.ts';
import { parseSource, serial, verifyChain } from './parse.ts';
import { checkRecorder, readmeExample, realContext } from '../check-testing.ts';
import { CertFactory, type Pem } from '../tls-testing.ts';
import { SMTPServer } from 'smtp-server';

let certs: CertFactory;
let ca: Pem, expiring: Pem, selfSigned: Pem;
const servers: Server[] = [];
let expiringPort = 0,
  selfPort = 0;

beforeAll(async () => {
  certs = new CertFactory();
  ca = certs.ca();
  expiring = certs.leaf({ days: 3, ca, cn: 'portal.example.gov.vn' });
  selfSigned = certs.leaf({ days: 30 });
  const serve = async (pem: Pem) => {
    const s = createServer({ cert: pem.cert, key: pem.key }, (sock) => sock.end());
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as AddressInfo).port;
  };
  expiringPort = await serve(expiring);
  selfPort = await serve(selfSigned);
});
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
});

async function gather(options: Record<string, unknown>) {
  const acc = checkRecorder();
  await input.create(config.parse(options), realContext()).gather!(acc);
  return acc;
}

describe('x509_cert from a TLS server', () => {
  it('reads the certificate, its days left, and verifies it against tls_ca', async () => {
    const source = `tcp://127.0.0.1:${expiringPort}`;
    const acc = await gather({ sources: [source], tls_ca: ca.certFile, server_name: 'portal.example.gov.vn' });
    const p = acc.one({ source, common_name: 'portal.example.gov.vn' });
    // The verified chain goes up to the trusted root, which gets its own point.
    expect(acc.one({ source, common_name: 'Canh Test CA' }).tags.verification).toBe('valid');
    expect(p.tags).toMatchObject({
      common_name: 'portal.example.gov.vn',
      issuer_common_name: 'Canh Test CA',
      verification: 'valid',
      san: 'portal.example.gov.vn,localhost',
    });
    expect(p.tags.serial_number).toBe(serial(new X509Certificate(expiring.cert).serialNumber));
    expect(p.fields.verification_code).toBe(0);
    expect(p.fields.expiry).toBeGreaterThan(3 * 86_400 - 120);
    expect(p.fields.expiry).toBeLessThanOrEqual(3 * 86_400);
    expect(p.fields.age).toBeGreaterThanOrEqual(0);
    expect((p.fields.enddate as number) - (p.fields.startdate as number)).toBe(3 * 86_400);
  });

  it('says why a certificate does not verify: unknown CA, self-signed, wrong name', async () => {
    const a = `tcp://127.0.0.1:${expiringPort}`;
    const b = `https://localhost:${selfPort}`;
    const acc = await gather({ sources: [a, b] });
    expect(acc.one({ source: a }).fields).toMatchObject({ verification_code: 1, verification_error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(acc.one({ source: b })).toMatchObject({ tags: { verification: 'invalid' }, fields: { verification_error: 'DEPTH_ZERO_SELF_SIGNED_CERT' } });
    const wrong = await gather({ sources: [a], tls_ca: ca.certFile, server_name: 'intranet.example.gov.vn' });
    expect(wrong.one({ source: a, common_name: 'portal.example.gov.vn' }).fields).toMatchObject({
      verification_code: 1,
      verification_error: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('skips a source that cannot be reached, without throwing, and measures the others', async () => {
    const ok = `tcp://127.0.0.1:${selfPort}`;
    const acc = await gather({ sources: ['tcp://127.0.0.1:1', ok], timeout: '1s' });
    expect(acc.points.map((p) => p.tags.source)).toEqual([ok]);
  });
});

describe('x509_cert from a mail server by STARTTLS (smtp://)', () => {
  // A real SMTP server (npm smtp-server): one offering STARTTLS with the expiring
  // certificate, one that does not offer it.
  const smtp: SMTPServer[] = [];
  const listen = async (s: SMTPServer) => {
    smtp.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.server.address() as AddressInfo).port;
  };
  afterAll(async () => {
    for (const s of smtp) await new Promise<void>((r) => s.close(() => r()));
  });

  it('upgrades with EHLO/STARTTLS and reads the certificate like a TLS source', async () => {
    const port = await listen(new SMTPServer({ key: expiring.key, cert: expiring.cert, disableReverseLookup: true, authOptional: true }));
    const source = `smtp://127.0.0.1:${port}`;
    const acc = await gather({ sources: [source], tls_ca: ca.certFile, server_name: 'portal.example.gov.vn' });
    const p = acc.one({ source, common_name: 'portal.example.gov.vn' });
    expect(p.tags).toMatchObject({ verification: 'valid', issuer_common_name: 'Canh Test CA' });
    expect(p.fields.expiry).toBeGreaterThan(3 * 86_400 - 120);
    expect(p.fields.expiry).toBeLessThanOrEqual(3 * 86_400);
  });

  it('a server without STARTTLS, or one that is not SMTP, gives no point and a warning that says so', async () => {
    const port = await listen(new SMTPServer({ hideSTARTTLS: true, disableReverseLookup: true, authOptional: true }));
    const none = `smtp://127.0.0.1:${port}`;
    const tlsOnly = `smtp://127.0.0.1:${selfPort}`; // a TLS server: no SMTP greeting, the handshake times out
    const warnings: string[] = [];
    const ctx = realContext();
    const log = { ...ctx.log, warn: (o: { err?: { cause?: Error } }) => warnings.push(String(o.err?.cause?.message)) };
    const acc = checkRecorder();
    await input.create(config.parse({ sources: [none, tlsOnly], timeout: '1s' }), { ...ctx, log: log as typeof ctx.log }).gather!(acc);
    expect(acc.points).toEqual([]);
    expect(warnings).toContain('SMTP STARTTLS: the server does not offer STARTTLS');
    expect(warnings.some((w) => /timed out/.test(w))).toBe(true);
  });

  it('parses smtp:// with port 25 by default', () => {
    expect(parseSource('smtp://mail.example.gov.vn')).toEqual({ kind: 'tls', host: 'mail.example.gov.vn', port: 25, starttls: 'smtp' });
    expect(parseSource('smtp://mail.example.gov.vn:587')).toMatchObject({ port: 587, starttls: 'smtp' });
  });
});

describe('x509_cert from files', () => {
  it('verifies a chain file against tls_ca and reports each certificate', async () => {
    const file = join(certs.dir, 'chain.pem');
    writeFileSync(file, expiring.cert + ca.cert);
    const acc = await gather({ sources: [file], tls_ca: ca.certFile });
    expect(acc.points.map((p) => [p.tags.common_name, p.tags.verification])).toEqual([
      ['portal.example.gov.vn', 'valid'],
      ['Canh Test CA', 'valid'],
    ]);
    const noRoot = await gather({ sources: [`file://${file}`], tls_ca: ca.certFile, exclude_root_certs: true });
    expect(noRoot.points).toHaveLength(1);
  });

  it('finds a self-signed file invalid against the system roots', async () => {
    const acc = await gather({ sources: [selfSigned.certFile] });
    expect(acc.one({}).fields).toMatchObject({ verification_code: 1, verification_error: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('names an expired certificate', () => {
    const leaf = new X509Certificate(expiring.cert);
    const later = Date.parse(leaf.validTo) + 1000;
    expect(verifyChain(leaf, [], [new X509Certificate(ca.cert)], later)).toEqual({ valid: false, error: 'CERT_HAS_EXPIRED' });
  });
});

describe('x509_cert pure parts', () => {
  it('parses the README example', () => {
    expect(readmeExample(import.meta.dirname, input)).toMatchObject({ sources: expect.any(Array) });
  });
  it('understands source forms and refuses others', () => {
    expect(parseSource('https://portal.example.gov.vn')).toEqual({ kind: 'tls', host: 'portal.example.gov.vn', port: 443 });
    expect(parseSource('tcp://[2001:db8::1]:8443')).toEqual({ kind: 'tls', host: '2001:db8::1', port: 8443 });
    expect(parseSource('/etc/ssl/a.pem')).toEqual({ kind: 'file', path: '/etc/ssl/a.pem' });
    for (const bad of ['tcp://host', 'ftp://x', 'relative.pem', '']) expect(parseSource(bad)).toBeUndefined();
    expect(serial('00AB01')).toBe('ab01');
  });
});
