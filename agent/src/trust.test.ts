// The collector's certificate is trusted when its CA is in the host's system store
// (here: OpenSSL's SSL_CERT_FILE/SSL_CERT_DIR, the same lookup as /etc/ssl/certs), when
// it is collector.ca_file, and when it is in the store while ca_file names another CA:
// ca_file adds, it does not replace. Each case is a child process, because the trust
// store is made the process's default once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { CertFactory, type Pem } from './inputs/tls-testing.ts';

let server: Server;
let url: string;
let ca: Pem;
let other: Pem;
let emptyDir: string;
let emptyFile: string;

beforeAll(async () => {
  const certs = new CertFactory();
  ca = certs.ca('Canh Private CA');
  other = certs.ca('Some Other CA');
  const leaf = certs.leaf({ days: 1, ca });
  server = createServer({ cert: leaf.cert, key: leaf.key });
  new WebSocketServer({ server }).on('connection', (ws) => ws.close(1000));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/v1/agent`;
  emptyDir = mkdtempSync(join(tmpdir(), 'canh-trust-'));
  emptyFile = join(emptyDir, 'none.pem');
  writeFileSync(emptyFile, '');
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Connect from a child whose system store is `store` (a PEM file), with ca_file `caFile`. Asynchronous: the server is in this process. */
async function connect(store: string, caFile?: string): Promise<string> {
  const script = `
    import { readFileSync } from 'node:fs';
    import { WebSocket } from 'ws';
    import { collectorCAs } from ${JSON.stringify(join(import.meta.dirname, 'trust.ts'))};
    const caFile = process.argv[1];
    const ws = new WebSocket(${JSON.stringify(url)}, { ca: collectorCAs(caFile ? readFileSync(caFile, 'utf8') : undefined) });
    ws.on('open', () => { console.log('trusted'); ws.terminate(); });
    ws.on('error', (e) => console.log(e.code ?? e.message));`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script, caFile ?? ''],
      {
        cwd: import.meta.dirname,
        env: { ...process.env, SSL_CERT_FILE: store, SSL_CERT_DIR: emptyDir, NODE_EXTRA_CA_CERTS: '' },
        encoding: 'utf8',
        timeout: 60_000,
      },
      (_err, stdout, stderr) => resolve(stdout.trim() || stderr.trim()),
    );
  });
}

describe('collector trust', () => {
  it('trusts a CA in the system store', async () => {
    expect(await connect(ca.certFile)).toBe('trusted');
  });
  it('trusts collector.ca_file', async () => {
    expect(await connect(emptyFile, ca.certFile)).toBe('trusted');
  });
  it('keeps the system store when ca_file names another CA', async () => {
    expect(await connect(ca.certFile, other.certFile)).toBe('trusted');
  });
  it('refuses a certificate no trusted CA signed (so the cases above can fail)', async () => {
    expect(await connect(emptyFile, other.certFile)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await connect(emptyFile)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
