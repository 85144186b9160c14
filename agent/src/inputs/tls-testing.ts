// Shared by the tests of http_response, net_response and x509_cert (not shipped
// behaviour): certificates made by the real `openssl` CLI in a temporary folder — a test
// CA, leaves signed by it, self-signed ones — and local HTTPS/TLS servers that serve them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });

export class CertFactory {
  readonly dir = mkdtempSync(join(tmpdir(), 'canh-certs-'));
  private n = 0;

  private files(name: string) {
    const base = join(this.dir, `${name}-${++this.n}`);
    return { certFile: `${base}.crt`, keyFile: `${base}.key`, csr: `${base}.csr`, ext: `${base}.ext` };
  }

  private read(f: { certFile: string; keyFile: string }): Pem {
    return { cert: readFileSync(f.certFile, 'utf8'), key: readFileSync(f.keyFile, 'utf8'), ...f };
  }

  /** A CA certificate (self-signed, CA:TRUE). */
  ca(cn = 'Canh Test CA', days = 30): Pem {
    const f = this.files('ca');
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f.keyFile,
      '-out',
      f.certFile,
      '-days',
      String(days),
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return this.read(f);
  }

  /** A server certificate for `cn` (SAN DNS:cn, DNS:localhost, IP:127.0.0.1), signed by `ca` or self-signed. */
  leaf(opts: { cn?: string; days: number; ca?: Pem; san?: string }): Pem {
    const cn = opts.cn ?? 'localhost';
    const san = opts.san ?? `DNS:${cn},DNS:localhost,IP:127.0.0.1`;
    const f = this.files('leaf');
    if (!opts.ca) {
      openssl([
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        f.keyFile,
        '-out',
        f.certFile,
        '-days',
        String(opts.days),
        '-subj',
        `/CN=${cn}`,
        '-addext',
        `subjectAltName=${san}`,
      ]);
      return this.read(f);
    }
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f.keyFile, '-out', f.csr, '-subj', `/CN=${cn}`]);
    writeFileSync(f.ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    openssl([
      'x509',
      '-req',
      '-in',
      f.csr,
      '-CA',
      opts.ca.certFile,
      '-CAkey',
      opts.ca.keyFile,
      '-CAcreateserial',
      '-out',
      f.certFile,
      '-days',
      String(opts.days),
      '-extfile',
      f.ext,
    ]);
    return this.read(f);
  }
}
