// The certificate authorities the agent trusts for the collector: Node's bundled set,
// the host's system store (a private CA added with update-ca-certificates, or the
// Windows certificate store), and collector.ca_file as one more on top, never instead.
// Made the process's default once (tls.setDefaultCACertificates), so the agent keeps no
// copy of the few hundred certificates in its own heap; inputs that check TLS sites
// (http_response, x509_cert) then judge them by the same store the host's tools use.
// Cost, measured after GC: ~1.7 MB more RSS than Node's bundled store alone (Debian's
// ~150 system CAs); paid only by an agent with a wss:// collector.
import { tls } from './lazy-tls.ts';

let installed = false;

/** Once per process: bundled + system (+ NODE_EXTRA_CA_CERTS, which Node puts in its default). */
export function trustSystemStore(): void {
  if (installed) return;
  installed = true;
  const { getCACertificates, setDefaultCACertificates } = tls();
  setDefaultCACertificates([...new Set([...getCACertificates('default'), ...getCACertificates('system')])]);
}

/**
 * The `ca` option of a TLS connection: undefined (the default store above) without a
 * ca_file; with one, the default store and that file's certificates.
 */
export function collectorCAs(caFilePem: string | undefined): string[] | undefined {
  trustSystemStore();
  return caFilePem === undefined ? undefined : [...tls().getCACertificates('default'), caFilePem];
}
