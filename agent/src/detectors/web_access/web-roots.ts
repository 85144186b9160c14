// Which file a request ran, and whether it was added under a web root shortly before the
// request: the mark of a web shell being used (an upload or an exploit writes the file,
// then the attacker calls it). The request path is the attacker's: it is decoded once,
// normalised, and refused when it leaves the root, a dot-segment or a NUL is in it; the
// file is only stat'ed, never read. Creation time is the file's birth time where the
// filesystem keeps one, else its ctime (changed also by chmod/rename: a conservative
// "appeared or changed").
import { statSync } from 'node:fs';
import { posix, join, sep } from 'node:path';
import type { WebRequest } from './parse.ts';

export interface WebRoot {
  /** Folder the site is served from. */
  path: string;
  /** URL prefix the folder is served under ("/" for the whole site). */
  url_prefix: string;
  /** Only requests of this virtual host (when the log names one). */
  site?: string;
}

/** Extensions a web server runs rather than sends. */
export const SCRIPT_EXT = /\.(?:php\d?|phtml|phar|jsp|jspx|asp|aspx|ashx|asmx|cgi|pl|py|sh|cfm)$/i;

export function scriptFile(roots: readonly WebRoot[], r: WebRequest): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(r.path);
  } catch {
    return undefined;
  }
  if (path.includes('\0') || !path.startsWith('/') || !SCRIPT_EXT.test(path)) return undefined;
  const norm = posix.normalize(path);
  if (norm !== path.replace(/\/{2,}/g, '/') || norm.split('/').includes('..')) return undefined;
  for (const root of roots) {
    if (root.site && r.vhost && root.site !== r.vhost) continue;
    const prefix = root.url_prefix.endsWith('/') ? root.url_prefix : `${root.url_prefix}/`;
    if (!norm.startsWith(prefix)) continue;
    const file = join(root.path, norm.slice(prefix.length));
    const base = root.path.endsWith(sep) ? root.path : `${root.path}${sep}`;
    if (file.startsWith(base)) return file;
  }
  return undefined;
}

/** The creation time of a file, cached briefly per path (a busy portal calls the same
 *  scripts thousands of times a minute). */
export function makeNewScriptCheck(roots: readonly WebRoot[], windowMs: number, now: () => number) {
  const cache = new Map<string, { at: number; addedAt: number | undefined }>();
  const TTL = 10_000;
  return (r: WebRequest): { file: string; addedAt: number } | undefined => {
    if (roots.length === 0) return undefined;
    const file = scriptFile(roots, r);
    if (!file) return undefined;
    const wall = now();
    let c = cache.get(file);
    if (!c || wall - c.at > TTL) {
      const st = statSync(file, { throwIfNoEntry: false, bigint: false });
      const born = st && st.isFile() ? (st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs) : undefined;
      c = { at: wall, addedAt: born };
      if (cache.size >= 10_000) cache.clear();
      cache.set(file, c);
    }
    const t = r.time ?? wall;
    if (c.addedAt === undefined || t - c.addedAt > windowMs || t < c.addedAt - 60_000) return undefined;
    return { file, addedAt: c.addedAt };
  };
}
