// What one request looks like, before any counting: which probe families its path, query
// and headers match. Pure and linear: the patterns are literal alternations with bounded
// gaps (no nested quantifiers, see `isLinearPattern`), the inputs are cut to a bound and
// decoded at most twice, so a 10 KB hostile path costs microseconds.
import type { WebRequest } from './parse.ts';

export type Family = 'sensitive_file' | 'path_traversal' | 'sqli' | 'xss' | 'admin' | 'scanner_ua' | 'web_shell';

/** Longest part of a request that is inspected (paths beyond it are cut, not skipped). */
export const MAX_INSPECT = 8192;

/** Percent-decode once; a malformed escape leaves the text as it is. */
export function decodeOnce(s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}

/** The text to inspect: raw, decoded once and decoded twice (double encoding), lower-cased. */
export function views(s: string): string[] {
  const raw = s.slice(0, MAX_INSPECT);
  const once = decodeOnce(raw);
  const twice = decodeOnce(once);
  const out = [raw.toLowerCase()];
  if (once !== raw) out.push(once.toLowerCase());
  if (twice !== once) out.push(twice.toLowerCase());
  return out;
}

const SENSITIVE = [
  /(?:^|\/)\.(?:env|git|svn|hg|bzr|ds_store|htpasswd|htaccess|aws|ssh|docker|npmrc|pgpass|my\.cnf|bash_history|vscode|idea)(?:$|[/.~_-])/,
  /(?:^|\/)(?:wp-config|config|configuration|settings|database|db|local|web)\.(?:php|inc|json|ya?ml|xml|ini|config)(?:\.|~)(?:bak|old|orig|save|swp|txt|backup|dist|1|2)?/,
  /(?:^|\/)(?:wp-config\.php|configuration\.php)(?:~|\.bak|\.old|\.orig|\.save|\.swp|\.txt|\.backup)$/,
  /(?:^|\/)[^/]{0,64}\.(?:sql|sql\.gz|sql\.zip|sql\.bz2|bak|backup|old|dump|mdb|sqlite|sqlite3|db)$/,
  /(?:^|\/)(?:backup|backups|dump|db|database|site|www|htdocs|web|wwwroot|public_html|html)\.(?:zip|tar|tar\.gz|tgz|rar|7z|gz)$/,
  /(?:^|\/)(?:phpinfo|info|test|i|php_info|pi)\.php$/,
  /(?:^|\/)(?:server-status|server-info|id_rsa|id_dsa|id_ecdsa|id_ed25519|credentials|web\.config\.bak|etc\/shadow)(?:$|\/)/,
  /(?:^|\/)(?:composer\.(?:json|lock)|package\.json|yarn\.lock|docker-compose\.ya?ml|dockerfile|\.travis\.yml|sftp-config\.json)$/,
  /\/actuator\/(?:env|heapdump|configprops|mappings|trace|httptrace|logfile)/,
];

const TRAVERSAL = [
  /(?:^|[/\\=])\.\.(?:[/\\;]|$)/,
  /\/etc\/(?:passwd|shadow|hosts|group)\b/,
  /(?:win\.ini|boot\.ini|system32\/drivers\/etc)/,
  /\/proc\/self\/(?:environ|cmdline|fd)/,
  /(?:file|php|zip|phar|expect|data):\/\//,
];

const SQLI = [
  /\bunion[\s+]{0,10}(?:\/\*\*\/)?[\s+]{0,10}(?:all[\s+]{1,10})?(?:distinct[\s+]{1,10})?select\b/,
  /\b(?:sleep|benchmark|pg_sleep|load_file|extractvalue|updatexml|dbms_pipe\.receive_message)\s*\(/,
  /\bwaitfor\s+delay\s+'/,
  /\binformation_schema\b/,
  /'\s*(?:or|and|\|\||&&)\s+['"(]?\w{1,20}['")]?\s*(?:=|like|>|<)/,
  /'\s*(?:or|and)\s+\d{1,10}\s*=\s*\d{1,10}/,
  /\b(?:or|and)\s+\d{1,10}\s*=\s*\d{1,10}\s*(?:--|#|\/\*)/,
  /\bselect\b[^&;]{1,200}?\bfrom\b[^&;]{1,100}?\bwhere\b/,
  /;\s*(?:drop|truncate|delete|insert|update|shutdown|exec|declare)\s/,
  /\b(?:concat|group_concat|char|chr|cast|convert)\s*\(\s*(?:0x|char\(|@@|version\(|user\(|database\()/,
  /@@version\b/,
];

const XSS = [
  /<\s*(?:script|iframe|svg|img|body|object|embed|details|marquee)\b[^>]{0,200}?(?:>|on\w{1,20}\s*=|src\s*=)/,
  /<\s*script\b/,
  /\bjavascript\s*:/,
  /\bon(?:error|load|mouseover|focus|toggle|animationstart)\s*=/,
  /\b(?:alert|prompt|confirm)\s*\(\s*(?:\d|document|['"`])/,
  /document\.(?:cookie|domain|location)/,
];

const ADMIN = [
  /(?:^|\/)(?:phpmyadmin|pma|myadmin|mysqladmin|phpmy|sqladmin|dbadmin|adminer)(?:$|[/._-])/,
  /(?:^|\/)adminer(?:-[\d.]+)?\.php$/,
  /(?:^|\/)(?:manager\/html|host-manager\/html|admin-console|jmx-console|web-console|solr\/admin|axis2-admin|webadmin|cpanel|whm|plesk|directadmin)(?:$|\/)/,
  /(?:^|\/)(?:admin|administrator|admin\.php|admin\.asp|admin\.aspx|admin\.html|login\.php|wp-login\.php|user\/login|backend|controlpanel|cms)(?:$|\/)/,
];

const SCANNER_UA =
  /\b(?:sqlmap|nikto|nmap|masscan|zgrab|nuclei|wpscan|dirbuster|gobuster|ffuf|feroxbuster|acunetix|nessus|openvas|w3af|wfuzz|whatweb|jaeles|commix|hydra|netsparker|arachni|skipfish|dirb|havij|appscan|webinspect|burp ?suite|zmeu|morfeus|fimap|joomscan|droopescan|xsstrike|l9explore|httpx - open-source)\b/;

const WEB_SHELL =
  /(?:^|\/)(?:c99|r57|c100|wso|wso2\.5|b374k|alfa|alfashell|alfa-rex|indoxploit|shell|cmd|webshell|priv8|madspot|marijuana)\.(?:php\d?|phtml|asp|aspx|jsp|jspx|cgi)$/;

/** Every built-in pattern, for the test that proves each is of a linear shape. */
export const BUILT_IN_PATTERNS: readonly RegExp[] = [...SENSITIVE, ...TRAVERSAL, ...SQLI, ...XSS, ...ADMIN, SCANNER_UA, WEB_SHELL];

const anyMatch = (patterns: readonly RegExp[], texts: readonly string[]) => texts.some((t) => patterns.some((p) => p.test(t)));

/**
 * The texts of one request that patterns look at, each decoded and lower-cased once, on
 * first use: classification and every exploit entry read the same views, so a request is
 * decoded a handful of times, not once per pattern.
 */
export class RequestText {
  readonly r: WebRequest;
  private cache: Partial<Record<'path' | 'query' | 'target' | 'referer' | 'ua', string[]>> = {};
  private fams: Set<Family> | undefined;

  constructor(r: WebRequest) {
    this.r = r;
  }

  private get_(k: 'path' | 'query' | 'target' | 'referer' | 'ua', make: () => string[]): string[] {
    return (this.cache[k] ??= make());
  }

  get path(): string[] {
    return this.get_('path', () => views(this.r.path));
  }
  get query(): string[] {
    return this.get_('query', () => (this.r.query ? views(this.r.query) : []));
  }
  get target(): string[] {
    return this.get_('target', () => (this.r.query ? views(`${this.r.path}?${this.r.query}`) : this.path));
  }
  get referer(): string[] {
    return this.get_('referer', () => (this.r.referer ? views(this.r.referer) : []));
  }
  get userAgent(): string[] {
    return this.get_('ua', () => (this.r.userAgent ? [this.r.userAgent.slice(0, 2048).toLowerCase()] : []));
  }

  /** The probe families the request belongs to (empty for an ordinary request). */
  get families(): Set<Family> {
    return (this.fams ??= families(this));
  }
}

function families(t: RequestText): Set<Family> {
  const r = t.r;
  const out = new Set<Family>();
  const path = t.path;
  const query = t.query;
  const both = query.length ? [...path, ...query] : path;
  if (anyMatch(SENSITIVE, path)) out.add('sensitive_file');
  if (anyMatch(TRAVERSAL, both)) out.add('path_traversal');
  if (query.length && anyMatch(SQLI, query)) out.add('sqli');
  else if (anyMatch(SQLI, path)) out.add('sqli');
  if (anyMatch(XSS, both)) out.add('xss');
  if (r.status >= 400 && r.status < 500 && anyMatch(ADMIN, path)) out.add('admin');
  if (r.userAgent && SCANNER_UA.test(r.userAgent.slice(0, 1024).toLowerCase())) out.add('scanner_ua');
  if (r.status >= 200 && r.status < 300 && path.some((p) => WEB_SHELL.test(p))) out.add('web_shell');
  return out;
}

/** The probe families a request belongs to (empty for an ordinary request). */
export function classify(r: WebRequest): Set<Family> {
  return new RequestText(r).families;
}

const STATIC = /\.(?:css|js|mjs|map|png|jpe?g|gif|webp|avif|svg|ico|woff2?|ttf|eot|otf|mp4|webm|mp3|ogg|pdf)$/i;
/** Requests a browser makes on its own that are often 404 and prove nothing. */
const BROWSER_NOISE =
  /^\/(?:favicon\.ico|robots\.txt|sitemap\.xml|apple-touch-icon[\w.-]*\.png|\.well-known\/[\w./-]*|ads\.txt|browserconfig\.xml|manifest\.json)$/i;

/** Whether a failed request counts toward the scan scenario: a GET/HEAD/POST of something
 *  that is not a static asset or browser noise (WebDAV and API verbs do not count). */
export function countsForScan(r: WebRequest): boolean {
  if (r.status < 400 || r.status >= 500 || r.status === 401 || r.status === 429) return false;
  if (r.method !== 'GET' && r.method !== 'HEAD' && r.method !== 'POST') return false;
  return !STATIC.test(r.path) && !BROWSER_NOISE.test(r.path);
}

/**
 * Whether a regular expression's source is safe to run on attacker text in linear time:
 * no quantified group that itself contains a quantifier or an alternation (the shapes of
 * catastrophic backtracking: (a+)+, (a|a)*, (.*a){n}), and no back-references.
 */
export function isLinearPattern(source: string): boolean {
  if (/\\[1-9]/.test(source)) return false;
  const stack: { quantified: boolean; alternation: boolean }[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ quantified: false, alternation: false });
    else if (c === '|' && stack.length) stack.at(-1)!.alternation = true;
    else if (c === ')') {
      const g = stack.pop();
      const next = source[i + 1];
      const quantifiedGroup = next === '*' || next === '+' || next === '{';
      if (g && quantifiedGroup && (g.quantified || g.alternation)) return false;
      if (g && stack.length && (g.quantified || quantifiedGroup)) stack.at(-1)!.quantified = true;
    } else if ((c === '*' || c === '+' || c === '{') && stack.length) stack.at(-1)!.quantified = true;
  }
  return true;
}
