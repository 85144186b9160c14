// A real SMTP server (npm smtp-server) for integration tests of e-mail alerts: listens on
// a free loopback port, parses every accepted message with mailparser and keeps it, and
// can be switched to refuse mail to simulate an outage. STARTTLS and implicit TLS are off
// unless asked for, in which case they use a fresh self-signed certificate made with openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from './ports.ts';

/**
 * How the server answers:
 * - accept: take every message
 * - refuse: 421 in the greeting, then hang up (server "down for maintenance")
 * - tempfail: greet, then 451 to MAIL FROM (transient failure: a sender should retry)
 * - reject: greet, then 550 to RCPT TO (permanent failure: a sender should give up)
 */
export type SmtpMode = 'accept' | 'refuse' | 'tempfail' | 'reject';

export interface SmtpServerOptions {
  /** Offer STARTTLS with a self-signed certificate for localhost/127.0.0.1. Default false. */
  starttls?: boolean;
  /** TLS from the first byte (SMTPS, port 465 style) with a self-signed certificate. Default false. */
  implicitTls?: boolean;
  /** If set, AUTH must use these credentials; AUTH itself stays optional unless requireAuth. */
  auth?: { user: string; pass: string };
  requireAuth?: boolean;
  /** Initial mode. Default 'accept'. */
  mode?: SmtpMode;
  /** Maximum message size in bytes (advertised with SIZE). Default 10 MiB. */
  size?: number;
}

export interface ReceivedMail {
  envelope: { from: string | undefined; to: string[] };
  /** AUTH user name, if the client authenticated. */
  user: string | undefined;
  /** Whether the message came over TLS (after STARTTLS, or implicit TLS). */
  secure: boolean;
  raw: Buffer;
  parsed: ParsedMail;
  receivedAt: Date;
}

export interface TestSmtpServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** PEM of the self-signed certificate when STARTTLS or implicit TLS is on (for a client's `ca`). */
  readonly certPem: string | undefined;
  /** Every accepted message, oldest first. */
  readonly mails: ReceivedMail[];
  /** Connections refused or commands failed by the current mode, counted since start. */
  readonly failures: number;
  mode: SmtpMode;
  setMode(mode: SmtpMode): void;
  /** First mail (already received or future) matching `predicate`; rejects after timeoutMs. */
  waitForMail(predicate?: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  /** Close the listener and open connections. Idempotent. */
  stop(): Promise<void>;
}

class SmtpReplyError extends Error {
  readonly responseCode: number;
  constructor(code: number, message: string) {
    super(message);
    this.responseCode = code;
  }
}

function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'canh-smtp-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function addressOf(a: SMTPServerAddress | false | undefined): string | undefined {
  return a ? a.address : undefined;
}

/** Start an SMTP server on a free port of 127.0.0.1. */
export async function startSmtpServer(opts: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const tls = opts.starttls || opts.implicitTls ? selfSignedCert() : undefined;
  const mails: ReceivedMail[] = [];
  const waiters = new Set<(m: ReceivedMail) => void>();
  let mode: SmtpMode = opts.mode ?? 'accept';
  let failures = 0;
  const fail = (code: number, message: string): SmtpReplyError => {
    failures++;
    return new SmtpReplyError(code, message);
  };

  const server = new SMTPServer({
    name: 'canh-test-smtp',
    disableReverseLookup: true,
    authOptional: !opts.requireAuth,
    allowInsecureAuth: true,
    size: opts.size ?? 10 * 1024 * 1024,
    // logger: false also silences smtp-server's stderr warning about its built-in cert.
    logger: false,
    ...(opts.implicitTls ? { secure: true } : {}),
    ...(tls ? { key: tls.key, cert: tls.cert } : { disabledCommands: ['STARTTLS'] }),
    onConnect(_session: SMTPServerSession, cb: (err?: Error | null) => void) {
      if (mode === 'refuse') return cb(fail(421, 'canh-test-smtp: service not available (simulated outage)'));
      cb();
    },
    onAuth(auth, _session, cb) {
      if (opts.auth && (auth.username !== opts.auth.user || auth.password !== opts.auth.pass)) {
        return cb(new SmtpReplyError(535, 'Authentication credentials invalid'));
      }
      cb(null, { user: auth.username ?? 'anonymous' });
    },
    onMailFrom(_address, _session, cb) {
      if (mode === 'tempfail') return cb(fail(451, 'canh-test-smtp: local error in processing, try again later (simulated)'));
      if (mode === 'refuse') return cb(fail(421, 'canh-test-smtp: service not available (simulated outage)'));
      cb();
    },
    onRcptTo(_address, _session, cb) {
      if (mode === 'reject') return cb(fail(550, 'canh-test-smtp: mailbox unavailable (simulated)'));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err: Error) => cb(err));
      stream.on('end', () => {
        if (stream.sizeExceeded) return cb(new SmtpReplyError(552, 'message exceeds fixed maximum message size'));
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            const user = session.user;
            const mail: ReceivedMail = {
              envelope: { from: addressOf(session.envelope.mailFrom), to: session.envelope.rcptTo.map((r) => r.address) },
              user: typeof user === 'string' ? user : user === undefined || user === null ? undefined : String(user),
              secure: Boolean(session.secure),
              raw,
              parsed,
              receivedAt: new Date(),
            };
            mails.push(mail);
            for (const w of [...waiters]) w(mail);
            cb();
          },
          (err: unknown) => cb(new SmtpReplyError(554, `canh-test-smtp: could not parse message: ${String(err)}`)),
        );
      });
    },
  });

  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`SMTP test server could not listen on 127.0.0.1:${port}: ${err.message}`));
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Errors after start (a client resetting the connection) are not test failures.
  server.on('error', () => {});

  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    certPem: tls?.cert,
    mails,
    get failures() {
      return failures;
    },
    get mode() {
      return mode;
    },
    set mode(m: SmtpMode) {
      mode = m;
    },
    setMode(m) {
      mode = m;
    },
    waitForMail(predicate = () => true, timeoutMs = 10_000) {
      const seen = mails.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(onMail);
          const got = mails.map((m) => `${m.envelope.from} -> ${m.envelope.to.join(',')}: ${JSON.stringify(m.parsed.subject)}`);
          reject(new Error(`no matching mail within ${timeoutMs} ms; received ${mails.length}${got.length ? `:\n  ${got.join('\n  ')}` : ''}`));
        }, timeoutMs);
        const onMail = (m: ReceivedMail): void => {
          if (!predicate(m)) return;
          clearTimeout(timer);
          waiters.delete(onMail);
          resolve(m);
        };
        waiters.add(onMail);
      });
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopped;
    },
  };
}

/**
 * Speak SMTP over a raw socket: wait for the greeting, then send each command and
 * collect each (possibly multi-line) reply. Stops early when the server closes the
 * connection. Returns the replies, greeting first, e.g. ["220 ...", "250-...\n250 OK"].
 * A DATA body is sent as one "command" ending in "\r\n.".
 */
export function smtpDialog(port: number, commands: string[], timeoutMs = 5_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const replies: string[] = [];
    const sock = netConnect({ host: '127.0.0.1', port });
    let buf = '';
    let current: string[] = [];
    let next = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`smtpDialog: timed out after ${timeoutMs} ms; replies so far: ${JSON.stringify(replies)}`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      resolve(replies);
    };
    sock.setEncoding('utf8');
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`smtpDialog: ${err.message}; replies so far: ${JSON.stringify(replies)}`));
    });
    sock.on('close', finish);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        current.push(line);
        // The last line of a reply has a space (or nothing) after the code, not "-".
        if (/^\d{3}(?: |$)/.test(line)) {
          replies.push(current.join('\n'));
          current = [];
          // 421 means the server is closing the connection: writing more could only fail.
          if (next < commands.length && !line.startsWith('421')) sock.write(`${commands[next++]}\r\n`);
          else sock.end();
        }
      }
    });
  });
}
