// The status page's acknowledge button: one small form per firing alert, posted to
// /status/ack by a logged-in user, who is recorded as the one who acknowledged (the name
// comes from the session, never from the form). The form carries a token derived from the
// session (HMAC with a key of this process), which a page of another site cannot know, on
// top of the session cookie's SameSite=Strict.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Lang } from './i18n.ts';

const KEY = randomBytes(32);

export function ackToken(sessionId: string): string {
  return createHmac('sha256', KEY).update(`ack:${sessionId}`).digest('base64url');
}

function sameToken(given: string, sessionId: string): boolean {
  const want = Buffer.from(ackToken(sessionId));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want);
}

export interface AckShown {
  by: string;
  at: number;
  comment: string;
}

const WORDS = {
  vi: { column: 'Xử lý', button: 'Nhận xử lý', comment: 'ghi chú (không bắt buộc)', done: (by: string, at: string) => `Đã nhận xử lý: ${by}, ${at}` },
  en: { column: 'Handling', button: 'Acknowledge', comment: 'comment (optional)', done: (by: string, at: string) => `Acknowledged by ${by}, ${at}` },
} as const;

export function ackColumn(lang: Lang): string {
  return WORDS[lang].column;
}

/** The cell of one firing alert: who acknowledged it and when, or the button. */
export function ackCell(
  a: { id?: number; ack?: AckShown },
  lang: Lang,
  token: string | undefined,
  when: (t: number) => string,
  esc: (s: unknown) => string,
): string {
  const w = WORDS[lang];
  if (a.ack)
    return `<span class="acked" data-acked-by="${esc(a.ack.by)}">${esc(w.done(a.ack.by, when(a.ack.at)))}</span>${a.ack.comment ? `<br><small class="muted">${esc(a.ack.comment)}</small>` : ''}`;
  if (a.id === undefined || !token) return '';
  return `<form class="ack" method="post" action="/status/ack"><input type="hidden" name="alert" value="${a.id}"><input type="hidden" name="token" value="${esc(token)}"><input name="comment" maxlength="500" placeholder="${esc(w.comment)}"><button type="submit">${esc(w.button)}</button></form>`;
}

/**
 * POST /status/ack from a logged-in user: acknowledge, then back to the page (303), or
 * 400/403/404 with the reason in plain text.
 */
export async function handleAckPost(
  req: IncomingMessage,
  res: ServerResponse,
  session: { user: string; id: string },
  form: URLSearchParams,
  acknowledge: ((id: number, by: string, comment: string) => unknown) | undefined,
): Promise<void> {
  const text = (status: number, body: string) =>
    void res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`${body}\n`);
  if (!sameToken(form.get('token') ?? '', session.id)) return text(403, 'the form is out of date: reload the status page and try again');
  if (!acknowledge) return text(404, 'alerting is not configured on this collector (CANH_ERR_ALERT_NOT_FOUND)');
  const id = form.get('alert') ?? '';
  if (!/^\d{1,15}$/.test(id)) return text(404, `no firing alert has id ${id.slice(0, 20)} (CANH_ERR_ALERT_NOT_FOUND)`);
  try {
    await acknowledge(Number(id), session.user, form.get('comment') ?? '');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'CANH_ERR_ALERT_NOT_FOUND') return text(404, `${(err as Error).message} (${code})`);
    if (code === 'CANH_ERR_ACK_INVALID') return text(400, `${(err as Error).message} (${code})`);
    throw err;
  }
  res.writeHead(303, { location: '/status#alerts' }).end();
}
