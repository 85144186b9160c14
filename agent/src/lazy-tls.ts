// node:tls and node:https, loaded at their first use instead of when the agent starts.
// Requiring node:tls makes Node start parsing its bundled root certificates (Node 24:
// startLoadingCertificatesOffThread) and touch OpenSSL's TLS code: ~2.9 MiB of RSS in a
// process that already has node:http and node:crypto (measured with and without it). An
// agent whose collector is ws:// and that runs no TLS check (http_response on https://,
// x509_cert) never needs them; a wss:// collector or such a check loads them then, once.
// ws's own top-level require of both is made lazy the same way in the bundle
// (deploy/build/bundle.ts, lazyTlsInWs).

/** node:tls, loaded on the first call. */
export function tls(): typeof import('node:tls') {
  return process.getBuiltinModule('node:tls');
}

/** node:https, loaded on the first call. */
export function https(): typeof import('node:https') {
  return process.getBuiltinModule('node:https');
}
