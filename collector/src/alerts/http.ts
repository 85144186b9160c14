// The admin HTTP API of alerting, on the collector's own port (CollectorHooks.http):
//   GET    /api/v1/silences[?state=all]   active and pending silences (all: expired too)
//   POST   /api/v1/silences               {matchers, created_by, comment, ends_at | duration, starts_at?}
//   DELETE /api/v1/silences/<id>          expire a silence
//   GET    /api/v1/alerts                 firing and pending alerts, why one is muted, who acknowledged it
//   POST   /api/v1/alerts/<id>/ack        {by, comment?}: acknowledge a firing alert (ack.ts)
//   POST   /api/v1/reload                 re-read the config file, apply `alerting:` (the
//                                         collector's reload; 200, or 400 with the problems)
// Every call needs `Authorization: Bearer <alerting.admin_token>`; without a token in
// the config the API is off.
import { createHash, timingSafeEqual } from 'node:crypto';
import { CanhError } from '@canh/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { createSilence, SilenceError, silenceJson, silenceState, knownAlertLabels } from './silences.ts';
import type { AlertEngine } from './engine.ts';
import { ackJson } from './ack.ts';

const MAX_BODY = 64 * 1024;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(`${JSON.stringify(body)}\n`);
  return true;
}

function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new SilenceError(`request body larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SilenceError('the body is not JSON');
  }
}

/** Answers 403/401 itself and returns false unless the request carries the admin token. */
function authorized(req: IncomingMessage, res: ServerResponse, adminToken: string | undefined, log: Logger, path: string): boolean {
  if (!adminToken) {
    send(res, 403, { error: 'the admin API is off: set alerting.admin_token in the collector config', code: 'CANH_ERR_API_DISABLED' });
    return false;
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m || !sameToken(m[1]!, adminToken)) {
    log.warn({ remote: req.socket.remoteAddress, path }, 'admin API refused (401)');
    send(res, 401, { error: 'a valid admin bearer token is required', code: 'CANH_ERR_API_UNAUTHORIZED' }, { 'www-authenticate': 'Bearer' });
    return false;
  }
  return true;
}

/** The outcome of a reload as the API answers it (Collector.reload's ReloadResult). */
export type ReloadAnswer = { ok: true; alerting: unknown; restartNeeded: string[] } | { ok: false; code: string; error: string };

/** POST /api/v1/reload: the collector re-reads its config file and applies `alerting:`. */
export async function handleReloadApi(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: { adminToken: string | undefined; log: Logger; reload: () => Promise<ReloadAnswer> },
): Promise<boolean> {
  const path = '/api/v1/reload';
  if (!authorized(req, res, ctx.adminToken, ctx.log, path)) return true;
  if (req.method !== 'POST') return send(res, 405, { error: `${req.method ?? '?'} is not allowed on ${path}` }, { allow: 'POST' });
  ctx.log.info({ remote: req.socket.remoteAddress }, 'config reload asked for (API)');
  const r = await ctx.reload();
  if (!r.ok) return send(res, 400, { error: r.error, code: r.code });
  return send(res, 200, { status: 'reloaded', alerting: r.alerting, restart_needed: r.restartNeeded });
}

type AlertApiCtx = { engine: AlertEngine; adminToken: string | undefined; log: Logger; now: () => number };

/** GET /api/v1/alerts: firing and pending alerts, why one is muted, who acknowledged it. */
function listAlerts(res: ServerResponse, engine: AlertEngine, now: number): true {
  const silences = engine.store.silences().filter((s) => s.endsAt > now);
  const open = [...engine.tracker.alerts.values()].filter((a) => a.state !== 'resolved');
  const acks = engine.acks?.of(open.map((a) => a.id));
  const alerts = open.map((a) => ({
    id: a.id,
    rule: a.rule,
    labels: a.labels,
    severity: a.severity,
    state: a.state,
    value: a.value,
    summary: a.summary,
    active_at: new Date(a.activeAt).toISOString(),
    fired_at: a.firedAt ? new Date(a.firedAt).toISOString() : null,
    muted: a.state === 'firing' ? (engine.dispatcher.muted(a, now, silences) ?? null) : null,
    acknowledged: acks?.has(a.id) ? ackJson(acks.get(a.id)!) : null,
  }));
  return send(res, 200, { alerts });
}

/** POST /api/v1/silences. */
async function addSilence(req: IncomingMessage, res: ServerResponse, ctx: AlertApiCtx, now: number): Promise<true> {
  const { engine } = ctx;
  const body = (await readJson(req)) as Record<string, unknown> | null;
  if (!body || typeof body !== 'object') throw new SilenceError('the body must be a JSON object');
  const s = createSilence(
    {
      matchers: body.matchers as string[],
      createdBy: String(body.created_by ?? body.author ?? ''),
      comment: String(body.comment ?? ''),
      startsAt: body.starts_at as string | undefined,
      endsAt: body.ends_at as string | undefined,
      duration: body.duration as string | undefined,
    },
    now,
    body.force === true ? undefined : knownAlertLabels([...engine.rules.values()]),
    engine.cfg.timezone,
  );
  engine.store.addSilence(s);
  ctx.log.info({ silence: s.id, matchers: silenceJson(s, now).matchers, by: s.createdBy, until: new Date(s.endsAt).toISOString() }, 'silence added (API)');
  return send(res, 201, silenceJson(s, now));
}

/** POST /api/v1/alerts/<id>/ack. */
async function ackAlert(req: IncomingMessage, res: ServerResponse, engine: AlertEngine, id: string): Promise<true> {
  if (!/^\d{1,15}$/.test(id)) return send(res, 404, { error: `no firing alert has id ${id}`, code: 'CANH_ERR_ALERT_NOT_FOUND' });
  const body = (await readJson(req).catch((err: Error) => {
    throw new CanhError('CANH_ERR_ACK_INVALID', err.message);
  })) as Record<string, unknown> | null;
  if (!body || typeof body !== 'object') throw new CanhError('CANH_ERR_ACK_INVALID', 'the body must be a JSON object: {"by": "who", "comment": "why"}');
  const ack = engine.acknowledge(Number(id), typeof body.by === 'string' ? body.by : '', typeof body.comment === 'string' ? body.comment : '');
  return send(res, 200, ackJson(ack));
}

/** DELETE /api/v1/silences/<id>. */
function expireSilence(res: ServerResponse, ctx: AlertApiCtx, path: string, now: number): true {
  const id = decodeURIComponent(path.slice('/api/v1/silences/'.length));
  const s = ctx.engine.store.expireSilence(id, now);
  if (!s) return send(res, 404, { error: `no silence ${id}`, code: 'CANH_ERR_SILENCE_NOT_FOUND' });
  ctx.log.info({ silence: s.id }, 'silence expired (API)');
  return send(res, 200, silenceJson(s, now));
}

/** A refused call answered with its code: 400 for a bad request, 404 for an unknown alert. */
function refused(res: ServerResponse, err: unknown): true {
  if (err instanceof SilenceError) return send(res, 400, { error: err.message, code: err.code });
  if (err instanceof CanhError && err.code === 'CANH_ERR_ALERT_NOT_FOUND') return send(res, 404, { error: err.message, code: err.code });
  if (err instanceof CanhError && err.code === 'CANH_ERR_ACK_INVALID') return send(res, 400, { error: err.message, code: err.code });
  throw err;
}

export async function handleAlertApi(req: IncomingMessage, res: ServerResponse, ctx: AlertApiCtx): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = url.pathname.replace(/\/+$/, '');
  const ackPath = /^\/api\/v1\/alerts\/([^/]+)\/ack$/.exec(path);
  if (path !== '/api/v1/alerts' && path !== '/api/v1/silences' && !path.startsWith('/api/v1/silences/') && !ackPath) return false;
  if (!authorized(req, res, ctx.adminToken, ctx.log, path)) return true;
  const { engine } = ctx;
  const now = ctx.now();
  try {
    if (path === '/api/v1/alerts' && req.method === 'GET') return listAlerts(res, engine, now);
    if (path === '/api/v1/silences' && req.method === 'GET') {
      const all = url.searchParams.get('state') === 'all';
      const list = engine.store.silences().filter((s) => all || silenceState(s, now) !== 'expired');
      return send(res, 200, { silences: list.map((s) => silenceJson(s, now)) });
    }
    if (path === '/api/v1/silences' && req.method === 'POST') return await addSilence(req, res, ctx, now);
    if (ackPath && req.method === 'POST') return await ackAlert(req, res, engine, ackPath[1]!);
    if (path.startsWith('/api/v1/silences/') && req.method === 'DELETE') return expireSilence(res, ctx, path, now);
    return send(
      res,
      405,
      { error: `${req.method ?? '?'} is not allowed on ${path}` },
      { allow: path === '/api/v1/alerts' ? 'GET' : path === '/api/v1/silences' ? 'GET, POST' : ackPath ? 'POST' : 'DELETE' },
    );
  } catch (err) {
    return refused(res, err);
  }
}
