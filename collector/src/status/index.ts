// The collector's read-only status page (/status) behind a login: agents by agency with
// their state, last seen, version, spool backlog and dropped points; firing alerts and
// silences; recent security events; InfluxDB and SMTP health. It needs nothing but the
// collector, so it works before Grafana is installed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pointsOf, type Batch } from '@canh/protocol';
import type { CollectorHooks } from '../server.ts';
import type { AgentRegistry, AgentRecord } from '../registry/types.ts';
import type { Identity } from '../identity.ts';
import { Sessions, cookie, type StatusUser } from './auth.ts';
import { renderLogin, renderStatus, type AlertRow, type EventRow, type SilenceRow, type StatusData } from './render.ts';
import type { Lang } from './i18n.ts';
import type { AlertingView } from './alerting.ts';
import { ServiceBoard } from './services.ts';
import { ackToken, handleAckPost } from './ack.ts';

/** What other parts of the collector can show on the page. */
export interface StatusSources {
  connected(): Set<string>;
  influx(): Promise<StatusData['influx']>;
  alerts?(): AlertRow[];
  silences?(): SilenceRow[];
  smtp?(): Promise<StatusData['smtp']> | StatusData['smtp'];
  /** Firing alerts in both languages with what mutes them, maintenance windows, agency names. */
  alerting?(): AlertingView;
  /** Acknowledge a firing alert as this user (status/ack.ts). */
  acknowledge?(id: number, by: string, comment: string): unknown;
  cluster?(): StatusData['cluster'];
}

export interface StatusOptions {
  users: StatusUser[];
  sessionTtlMs: number;
  language: Lang;
  timeZone: string;
  /** Recent security events kept in memory for the page. */
  maxEvents?: number;
  /** Seconds between reloads of the page in the browser (?refresh=0 turns it off). */
  refreshSeconds?: number;
}

const COOKIE = 'canh_session';

export class StatusPage {
  private readonly sessions: Sessions;
  private readonly opts: StatusOptions;
  private readonly registry: AgentRegistry;
  private readonly sources: StatusSources;
  private readonly events: EventRow[] = [];
  private readonly health = new Map<string, { spool: number; dropped: number }>();
  private readonly services = new ServiceBoard();

  constructor(opts: StatusOptions, registry: AgentRegistry, sources: StatusSources) {
    this.opts = opts;
    this.sessions = new Sessions(opts.users, opts.sessionTtlMs);
    this.registry = registry;
    this.sources = sources;
  }

  /** Remember the agent's own health points and security events as batches arrive. */
  observe(id: Identity, agent: AgentRecord, batch: Batch): void {
    for (const p of pointsOf(batch, (m) => m === 'agent')) {
      const spool = p.fields.spool_batches;
      const dropped = p.fields.dropped_points;
      if (typeof spool === 'number' && typeof dropped === 'number') this.health.set(agent.id, { spool, dropped });
    }
    for (const e of batch.events) {
      this.events.unshift({
        time: e.time,
        host: id.host,
        agency: id.agency,
        type: e.type,
        severity: e.severity,
        message: e.message,
        evidence: e.evidence,
        count: e.count,
        mitre: e.mitre,
      });
    }
    this.services.observe(id, batch);
    const max = this.opts.maxEvents ?? 50;
    if (this.events.length > max) this.events.length = max;
  }

  hooks(): CollectorHooks {
    return {
      onBatch: (id, agent, batch) => this.observe(id, agent, batch),
      http: (req, res) => this.handle(req, res),
    };
  }

  private lang(req: IncomingMessage, url: URL): Lang {
    const q = url.searchParams.get('lang') ?? cookie(req.headers.cookie, 'canh_lang');
    return q === 'en' || q === 'vi' ? q : this.opts.language;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://x');
    const lang = this.lang(req, url);
    const headers = {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    };
    const langCookie = `canh_lang=${lang}; Path=/; SameSite=Strict`;
    switch (url.pathname) {
      case '/':
        res.writeHead(302, { location: '/status' }).end();
        return true;
      case '/login': {
        if (!this.sessions.enabled) {
          res
            .writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
            .end('status page disabled: add users under status.users in the collector config\n');
          return true;
        }
        if (req.method === 'POST') {
          const form = new URLSearchParams(await readBody(req, 8192));
          const formLang = form.get('lang') === 'en' ? 'en' : form.get('lang') === 'vi' ? 'vi' : lang;
          const sid = this.sessions.login(form.get('user') ?? '', form.get('password') ?? '');
          if (!sid) {
            res.writeHead(401, headers).end(renderLogin(formLang, true, safeNext(form.get('next'))));
            return true;
          }
          res
            .writeHead(303, {
              location: safeNext(form.get('next')),
              'set-cookie': [
                `${COOKIE}=${sid}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(this.opts.sessionTtlMs / 1000)}`,
                `canh_lang=${formLang}; Path=/; SameSite=Strict`,
              ],
            })
            .end();
          return true;
        }
        res.writeHead(200, { ...headers, 'set-cookie': langCookie }).end(renderLogin(lang, false, safeNext(url.searchParams.get('next'))));
        return true;
      }
      case '/logout':
        this.sessions.logout(cookie(req.headers.cookie, COOKIE));
        res.writeHead(303, { location: '/login', 'set-cookie': `${COOKIE}=; Path=/; Max-Age=0` }).end();
        return true;
      case '/status': {
        const user = this.sessions.user(cookie(req.headers.cookie, COOKIE));
        if (!user) {
          res.writeHead(303, { location: `/login?next=${encodeURIComponent('/status')}&lang=${lang}` }).end();
          return true;
        }
        const refresh = refreshOf(url, this.opts.refreshSeconds ?? 30);
        const sid = cookie(req.headers.cookie, COOKIE)!;
        res
          .writeHead(200, { ...headers, 'set-cookie': langCookie })
          .end(renderStatus(lang, { ...(await this.data()), refresh, ackToken: ackToken(sid) }, user));
        return true;
      }
      case '/status/ack': {
        const sid = cookie(req.headers.cookie, COOKIE);
        const user = this.sessions.user(sid);
        if (!user || req.method !== 'POST') {
          res.writeHead(303, { location: `/login?next=${encodeURIComponent('/status')}&lang=${lang}` }).end();
          return true;
        }
        await handleAckPost(req, res, { user, id: sid! }, new URLSearchParams(await readBody(req, 8192)), this.sources.acknowledge?.bind(this.sources));
        return true;
      }
      default:
        return false;
    }
  }

  async data(): Promise<StatusData> {
    const connected = this.sources.connected();
    const agents = this.registry.list().map((a) => {
      const h = this.health.get(a.id);
      return {
        name: a.name,
        agency: a.agency,
        site: a.site,
        state: a.revokedAt ? ('revoked' as const) : connected.has(a.id) ? ('online' as const) : ('offline' as const),
        lastSeen: connected.has(a.id) ? Date.now() : a.lastSeen,
        version: a.version,
        spool: h?.spool ?? null,
        dropped: h?.dropped ?? null,
      };
    });
    return {
      agents,
      alerts: this.sources.alerts?.(),
      silences: this.sources.silences?.(),
      events: [...this.events],
      influx: await this.sources.influx(),
      smtp: await this.sources.smtp?.(),
      cluster: this.sources.cluster?.(),
      timeZone: this.opts.timeZone,
      alerting: this.sources.alerting?.(),
      services: this.services.list(),
      now: Date.now(),
    };
  }
}

/** ?refresh=0 turns the page's reload off; ?refresh=N (10..3600) sets its period. */
function refreshOf(url: URL, fallback: number): number {
  const q = url.searchParams.get('refresh');
  if (q === null) return fallback;
  const n = Number(q);
  return n === 0 ? 0 : Number.isInteger(n) ? Math.min(3600, Math.max(10, n)) : fallback;
}

function safeNext(next: string | null): string {
  // Only local paths: never redirect a user to another site after login.
  return next && /^\/[a-z]*(\?[\w=&-]*)?$/i.test(next) ? next : '/status';
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > limit) {
        reject(new Error('request body too large'));
        req.destroy();
      }
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}
