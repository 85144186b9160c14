// Pure parsing of web server access logs into requests: Apache/nginx combined, common,
// vhost_combined, nginx's default (combined plus X-Forwarded-For), JSON lines, IIS W3C
// extended (field list from its "#Fields:" header) and a custom nginx-style `log_format`
// pattern. Every field of a line is attacker-written except the client address the server
// saw and the status it answered; the patterns here are anchored and linear, a line that
// does not fit is `undefined` (counted by the caller), never an exception.

export interface WebRequest {
  /** ms since the epoch, from the line (access logs carry their zone). */
  time: number | undefined;
  /** The address the server saw (the TCP peer), before any proxy header is considered. */
  remote: string;
  /** X-Forwarded-For as logged, when the format has it. */
  forwardedFor?: string;
  method: string;
  /** Path without the query string, as logged (still percent-encoded). */
  path: string;
  /** Query string without "?", as logged. */
  query: string;
  status: number;
  bytes?: number;
  userAgent: string;
  referer: string;
  /** Virtual host / server name when the format has it. */
  vhost?: string;
  user?: string;
}

export type LogFormat = 'auto' | 'combined' | 'common' | 'vhost_combined' | 'json' | 'iis';

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** `10/Oct/2000:13:55:36 -0700` (Apache %t, nginx $time_local). */
export function parseClfTime(s: string): number | undefined {
  const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))? ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!m) return undefined;
  const mon = MONTHS[m[2]!];
  if (mon === undefined) return undefined;
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const utc = Date.UTC(Number(m[3]), mon, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  const off = (Number(m[9]) * 60 + Number(m[10])) * 60_000 * (m[8] === '-' ? -1 : 1);
  return utc - off;
}

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
// host ident user [time] "request" status bytes ["referer" "ua" ["xff"]]
const CLF = new RegExp(String.raw`^(\S+) (\S+) (\S+) \[([^\]]+)\] ${QUOTED} (\d{3}) (\d+|-)(?: ${QUOTED} ${QUOTED}(?: ${QUOTED})?)?(?: .*)?$`);
const VHOST = new RegExp(String.raw`^([^\s:]+)(?::\d+)? (\S+) (\S+) (\S+) \[([^\]]+)\] ${QUOTED} (\d{3}) (\d+|-)(?: ${QUOTED} ${QUOTED})?(?: .*)?$`);

/** Undo the server's escaping of a quoted field: Apache writes \" and \\, nginx \x22. */
export function unescapeLogField(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
    if (e[0] === 'x' && e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (e === 'n') return '\n';
    if (e === 't') return '\t';
    return e;
  });
}

/** "GET /a/b?x=1 HTTP/1.1" → method, path, query. A request line that is not one (a TLS
 *  handshake sent to port 80, "-") keeps the raw text as its path. */
export function splitRequest(r: string): { method: string; path: string; query: string } {
  const m = /^([A-Z][A-Z0-9_-]{0,19}) (\S+)(?: HTTP\/\d(?:\.\d)?)?$/.exec(r);
  if (!m) return { method: '', path: r, query: '' };
  return { method: m[1]!, ...splitTarget(m[2]!) };
}

export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

const dash = (s: string | undefined) => (s === undefined || s === '-' ? '' : s);
const quoted = (s: string | undefined) => dash(s === undefined ? undefined : unescapeLogField(s));

function fromClf(m: RegExpExecArray, base: number, vhost?: string): WebRequest | undefined {
  const time = parseClfTime(m[base + 3]!);
  if (time === undefined) return undefined;
  const req = splitRequest(unescapeLogField(m[base + 4]!));
  const xff = quoted(m[base + 9]);
  return {
    time,
    remote: m[base]!,
    ...(xff ? { forwardedFor: xff } : {}),
    ...req,
    status: Number(m[base + 5]),
    ...(m[base + 6] !== '-' ? { bytes: Number(m[base + 6]) } : {}),
    referer: quoted(m[base + 7]),
    userAgent: quoted(m[base + 8]),
    ...(vhost ? { vhost } : {}),
    ...(dash(m[base + 2]) ? { user: dash(m[base + 2]) } : {}),
  };
}

export function parseClf(line: string): WebRequest | undefined {
  const m = CLF.exec(line);
  return m ? fromClf(m, 1) : undefined;
}

export function parseVhostCombined(line: string): WebRequest | undefined {
  const m = VHOST.exec(line);
  return m ? fromClf(m, 2, m[1]) : undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
function pick(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = str(o[k]);
    if (v !== undefined && v !== '' && v !== '-') return v;
  }
  return undefined;
}

/** One JSON object per line, with nginx variable names or common log-shipper names. */
export function parseJsonLine(line: string): WebRequest | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  const remote = pick(r, ['remote_addr', 'client_ip', 'clientip', 'client', 'ip', 'remote_ip']);
  const status = Number(pick(r, ['status', 'status_code', 'response']));
  if (!remote || !Number.isInteger(status) || status < 100 || status > 999) return undefined;
  let method = pick(r, ['request_method', 'method']) ?? '';
  let path = '';
  let query = '';
  const request = pick(r, ['request']);
  const uri = pick(r, ['request_uri', 'uri', 'path', 'url']);
  if (request) ({ method, path, query } = { ...splitRequest(request), ...(method ? { method } : {}) });
  else if (uri) {
    ({ path, query } = splitTarget(uri));
    const args = pick(r, ['args', 'query_string', 'query']);
    if (args && !query) query = args;
  } else return undefined;
  const t = pick(r, ['time_iso8601', 'timestamp', '@timestamp', 'time', 'time_local']);
  let time: number | undefined;
  if (t !== undefined) {
    time = /^\d{2}\/[A-Z][a-z]{2}\//.test(t)
      ? parseClfTime(t)
      : /^\d+(\.\d+)?$/.test(t)
        ? Math.round(Number(t) * (Number(t) < 1e11 ? 1000 : 1))
        : Date.parse(t);
    if (time !== undefined && Number.isNaN(time)) time = undefined;
  }
  const bytes = Number(pick(r, ['body_bytes_sent', 'bytes_sent', 'bytes']));
  const xff = pick(r, ['http_x_forwarded_for', 'x_forwarded_for', 'forwarded_for']);
  const vhost = pick(r, ['server_name', 'host', 'http_host', 'vhost']);
  const user = pick(r, ['remote_user', 'user']);
  return {
    time,
    remote,
    ...(xff ? { forwardedFor: xff } : {}),
    method,
    path,
    query,
    status,
    ...(Number.isFinite(bytes) ? { bytes } : {}),
    userAgent: pick(r, ['http_user_agent', 'user_agent', 'agent', 'useragent']) ?? '',
    referer: pick(r, ['http_referer', 'referer', 'referrer']) ?? '',
    ...(vhost ? { vhost } : {}),
    ...(user ? { user } : {}),
  };
}

/** IIS W3C extended: space-separated fields named by the last "#Fields:" header; spaces in
 *  the user agent are written as "+", empty fields as "-", date and time in UTC. */
export class IisParser {
  private fields: string[] = [];

  /** Returns a request, or undefined for a header or a line that does not fit. */
  parse(line: string): WebRequest | undefined {
    if (line.startsWith('#')) {
      if (line.startsWith('#Fields:')) this.fields = line.slice(8).trim().split(/\s+/);
      return undefined;
    }
    if (this.fields.length === 0) return undefined;
    const parts = line.trim().split(' ');
    if (parts.length !== this.fields.length) return undefined;
    const f: Record<string, string> = {};
    this.fields.forEach((name, i) => (f[name] = parts[i]!));
    const remote = dash(f['c-ip']);
    const status = Number(f['sc-status']);
    const stem = dash(f['cs-uri-stem']);
    if (!remote || !stem || !Number.isInteger(status)) return undefined;
    let time: number | undefined;
    if (f['date'] && f['time']) {
      const t = Date.parse(`${f['date']}T${f['time']}Z`);
      time = Number.isNaN(t) ? undefined : t;
    }
    const plus = (s: string | undefined) => dash(s).replace(/\+/g, ' ');
    const xff = dash(f['X-Forwarded-For'] ?? f['x-forwarded-for']);
    const vhost = dash(f['cs-host'] ?? f['s-sitename']);
    const user = dash(f['cs-username']);
    return {
      time,
      remote,
      ...(xff ? { forwardedFor: xff } : {}),
      method: dash(f['cs-method']),
      path: stem,
      query: dash(f['cs-uri-query']),
      status,
      ...(f['sc-bytes'] && f['sc-bytes'] !== '-' ? { bytes: Number(f['sc-bytes']) } : {}),
      userAgent: plus(f['cs(User-Agent)']),
      referer: dash(f['cs(Referer)']),
      ...(vhost ? { vhost } : {}),
      ...(user ? { user } : {}),
    };
  }
}

const NGINX_VAR = /\$(\{[a-z_][a-z0-9_]*\}|[a-z_][a-z0-9_]*)/gi;

/** A custom nginx-style log_format ("$remote_addr - $remote_user [$time_local] ...")
 *  compiled to an anchored pattern. Quoted variables take the quoted-field syntax; bare
 *  ones a run of non-space characters, so the pattern stays linear. */
export function compileLogFormat(format: string): (line: string) => WebRequest | undefined {
  const names: string[] = [];
  let re = '^';
  let last = 0;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const m of format.matchAll(NGINX_VAR)) {
    const lit = format.slice(last, m.index);
    const name = m[1]!.replace(/[{}]/g, '');
    const quoted = lit.endsWith('"') && format[m.index + m[0].length] === '"';
    const bracketed = lit.endsWith('[') && format[m.index + m[0].length] === ']';
    re += esc(lit);
    re += quoted ? String.raw`((?:[^"\\]|\\.)*)` : bracketed ? String.raw`([^\]]*)` : String.raw`(\S*)`;
    names.push(name);
    last = m.index + m[0].length;
  }
  re += `${esc(format.slice(last))}$`;
  if (names.length === 0) throw new Error('the format names no $variable');
  const pattern = new RegExp(re);
  return (line) => {
    const m = pattern.exec(line);
    if (!m) return undefined;
    const o: Record<string, string> = {};
    names.forEach((n, i) => (o[n] = unescapeLogField(m[i + 1]!)));
    return parseJsonLine(JSON.stringify(o));
  };
}

/** A parser for one log file: keeps the IIS header state and the format auto-detection. */
export function makeParser(format: LogFormat | string): (line: string) => WebRequest | undefined {
  if (format === 'combined' || format === 'common') return parseClf;
  if (format === 'vhost_combined') return parseVhostCombined;
  if (format === 'json') return parseJsonLine;
  if (format === 'iis') {
    const p = new IisParser();
    return (l) => p.parse(l);
  }
  if (format !== 'auto') return compileLogFormat(format);
  const iis = new IisParser();
  let seenIis = false;
  return (line) => {
    if (line.startsWith('#Software: Microsoft') || line.startsWith('#Fields:')) seenIis = true;
    if (seenIis || line.startsWith('#')) return iis.parse(line);
    if (line.startsWith('{')) return parseJsonLine(line);
    return parseClf(line) ?? parseVhostCombined(line);
  };
}
