// Delivers the outbox over SMTP with nodemailer: STARTTLS or TLS, auth, pooled
// connections. A mail leaves the outbox only when the server accepted it. When the
// server is down or answers 4xx, the mail stays queued and is retried with exponential
// backoff and jitter, capped; other queued mail waits behind it rather than hammering a
// dead server. A 5xx answer (unknown mailbox, refused sender) is permanent: the mail is
// marked failed and logged with CANH_ERR_NOTIFY_REJECTED. Nothing is dropped silently.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import nodemailer, { type TransportOptions } from 'nodemailer';
import type { Logger } from 'pino';
import { SmtpSchema, type SmtpConfig } from '../alerts/config.ts';
import type { MailOutbox } from '../alerts/store.ts';
import type { OutboxMail } from '../alerts/types.ts';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  messageId: string;
  date: Date;
}

/** The part of a nodemailer transport the mailer uses (tests may hand in their own). */
export interface MailTransport {
  sendMail(m: OutgoingMail): Promise<{ messageId?: string; response?: string }>;
  close(): void;
}

export function smtpTransport(smtp: SmtpConfig, password: string | undefined): MailTransport {
  const t = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.security === 'tls',
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    auth: smtp.auth ? { user: smtp.auth.user, pass: password ?? '' } : undefined,
    pool: smtp.pool,
    maxConnections: smtp.max_connections,
    connectionTimeout: smtp.timeout,
    greetingTimeout: smtp.timeout,
    socketTimeout: smtp.timeout,
    name: hostname(),
    tls: {
      rejectUnauthorized: smtp.tls.reject_unauthorized,
      ca: smtp.tls.ca_file ? readFileSync(smtp.tls.ca_file) : undefined,
      servername: smtp.tls.servername,
    },
  } as TransportOptions);
  return t as unknown as MailTransport;
}

/**
 * Mail written as .eml files into a folder instead of sent (alerting.mail_folder): the
 * quick start shows alerting without a mail server. Each file is written under a
 * temporary name and renamed, so a reader never sees half a mail.
 */
export function folderTransport(dir: string): MailTransport {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async sendMail(m) {
      const info = (await composer.sendMail(m)) as unknown as { message: Buffer; messageId?: string };
      mkdirSync(dir, { recursive: true });
      const name = `${new Date(m.date).toISOString().replace(/[:.]/g, '-')}-${(m.messageId ?? '').replace(/[^\w.-]/g, '_').slice(0, 80)}.eml`;
      writeFileSync(join(dir, `.${name}.tmp`), info.message);
      renameSync(join(dir, `.${name}.tmp`), join(dir, name));
      return { messageId: info.messageId, response: `written to ${join(dir, name)}` };
    },
    close() {
      composer.close();
    },
  };
}

/** The delivery settings of a mail folder: one mail at a time, retried like SMTP. */
export function folderSmtp(): SmtpConfig {
  return SmtpSchema.parse({ host: 'mail-folder', from: 'Canh <canh@canh.localhost>' });
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** 5xx is the server's final word on this mail; anything else may pass later. Bad credentials are retried: the mail must survive until an admin fixes them. */
export function isPermanent(err: SmtpError): boolean {
  return typeof err.responseCode === 'number' && err.responseCode >= 500 && err.code !== 'EAUTH';
}

export interface MailerStats {
  sent: number;
  retried: number;
  failed: number;
  lastError: string | null;
}

export class Mailer {
  readonly stats: MailerStats = { sent: 0, retried: 0, failed: 0, lastError: null };
  private readonly store: MailOutbox;
  private readonly smtp: SmtpConfig;
  private readonly transport: MailTransport;
  private readonly log: Logger;
  private readonly clock: () => number;
  private blockedUntil = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(store: MailOutbox, smtp: SmtpConfig, opts: { log: Logger; clock: () => number; transport?: MailTransport; password?: string }) {
    this.store = store;
    this.smtp = smtp;
    this.log = opts.log;
    this.clock = opts.clock;
    this.transport = opts.transport ?? smtpTransport(smtp, opts.password);
  }

  backoff(attempts: number): number {
    const { min, max } = this.smtp.retry;
    const base = Math.min(max, min * 2 ** Math.max(0, attempts - 1));
    // Full jitter in the upper half: retries of many mails spread out, none waits past the cap.
    return Math.round(base / 2 + (Math.random() * base) / 2);
  }

  /** Send what is due; one run at a time (a call during a run makes it go round again). */
  process(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.runOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async runOnce(): Promise<void> {
    if (this.stopped || this.clock() < this.blockedUntil) return;
    for (;;) {
      let due: OutboxMail[];
      if (this.store.claimDueMail) {
        // Shared outbox: what was queued reaches it first, then rows are claimed (one sender each).
        try {
          await this.store.sync?.();
          due = await this.store.claimDueMail(this.clock(), this.smtp.max_connections);
        } catch (err) {
          this.log.warn(
            { err: (err as Error).message, code: 'CANH_ERR_STATE_UNAVAILABLE' },
            'could not claim mail from the shared outbox; retrying at the next round',
          );
          return;
        }
      } else due = this.store.dueMail(this.clock(), this.smtp.max_connections);
      if (!due.length) return;
      const results = await Promise.all(due.map((m) => this.sendOne(m)));
      await this.store.sync?.().catch(() => {});
      if (results.includes('blocked') || this.stopped) return;
    }
  }

  private async sendOne(m: OutboxMail): Promise<'sent' | 'failed' | 'blocked'> {
    try {
      const info = await this.transport.sendMail({
        from: this.smtp.from,
        to: m.to,
        subject: m.subject,
        text: m.text,
        html: m.html,
        headers: m.headers,
        messageId: m.messageId,
        date: new Date(m.createdAt),
      });
      this.store.markSent(m.id, this.clock());
      this.stats.sent++;
      this.log.info({ mail: m.id, to: m.to, attempts: m.attempts + 1, response: info.response }, 'alert mail delivered');
      return 'sent';
    } catch (e) {
      const err = e as SmtpError;
      const reason = `${err.code ?? 'ERROR'}${err.responseCode ? ` ${err.responseCode}` : ''}: ${err.message}`;
      this.stats.lastError = reason;
      const now = this.clock();
      if (isPermanent(err)) {
        this.store.markFailed(m.id, reason);
        this.stats.failed++;
        this.log.error(
          { mail: m.id, to: m.to, code: 'CANH_ERR_NOTIFY_REJECTED', reason },
          'the SMTP server refused an alert mail; fix the recipient or sender address',
        );
        return 'failed';
      }
      if (now - m.createdAt > this.smtp.retry.give_up_after) {
        this.store.markFailed(m.id, reason);
        this.stats.failed++;
        this.log.error(
          { mail: m.id, to: m.to, code: 'CANH_ERR_NOTIFY_GAVE_UP', reason, attempts: m.attempts + 1 },
          'gave up on an alert mail; check the SMTP settings and server',
        );
        return 'failed';
      }
      const next = now + this.backoff(m.attempts + 1);
      this.store.markRetry(m.id, m.attempts + 1, next, reason);
      this.stats.retried++;
      this.blockedUntil = Math.max(this.blockedUntil, next);
      this.log.warn({ mail: m.id, to: m.to, attempts: m.attempts + 1, retryInMs: next - now, reason }, 'alert mail not delivered yet; it stays queued');
      return 'blocked';
    }
  }

  /** Forget the backoff (an operator fixed the server); the next run tries at once. */
  unblock(): void {
    this.blockedUntil = 0;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.running?.catch(() => {});
    this.transport.close();
  }
}
