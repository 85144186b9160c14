// `canh-agent detect <detector> [--file F|-] [--set key=value]...`: runs a log through a
// detector offline, like fail2ban-regex, and prints JSON lines: each recognised line with its
// line number and what was extracted, then the events the log would produce, then a summary.
// Needs no config file and no collector; the detector's defaults apply unless --set says otherwise.
import { open, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { CanhError } from '@canh/core';
import authLog from './detectors/auth_log/index.ts';
import { replayAuthLog } from './detectors/auth_log/replay.ts';
import windowsEventlog from './detectors/windows_eventlog/index.ts';
import { replayWindowsEvents } from './detectors/windows_eventlog/replay.ts';
import webAccess from './detectors/web_access/index.ts';
import { replayWebStream } from './detectors/web_access/replay.ts';

export const DETECTABLE = ['auth_log', 'windows_eventlog', 'web_access'] as const;

async function readInput(file: string | undefined, stdin: NodeJS.ReadableStream): Promise<string> {
  if (file && file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new CanhError('CANH_ERR_DETECT_UNREADABLE', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give a readable log file, or "-" for standard input`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** "--set threshold=3" → { threshold: 3 }; values are YAML so lists and numbers work. */
export function parseSettings(sets: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 1) throw new CanhError('CANH_ERR_DETECT_BAD_SETTING', `--set ${s}: write key=value, e.g. --set threshold=3`);
    out[s.slice(0, eq)] = parseYaml(s.slice(eq + 1)) as unknown;
  }
  return out;
}

function options<T>(def: { name: string; config: { strict(): { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } } } }, settings: Record<string, unknown>): T {
  const r = def.config.strict().safeParse(settings);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new CanhError('CANH_ERR_DETECT_BAD_SETTING', `${def.name}: ${msg}`);
  }
  return r.data;
}

export async function runDetect(
  detector: string,
  opts: { file?: string; set?: readonly string[]; now?: number },
  out: (line: string) => void,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const settings = parseSettings(opts.set ?? []);
  const now = opts.now ?? Date.now();
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  if (detector === 'auth_log') {
    const cfg = options(authLog, settings);
    const text = await readInput(opts.file, stdin);
    const r = replayAuthLog(text, cfg, now);
    for (const { line, record: x } of r.records) {
      out(JSON.stringify({ line, kind: x.kind, program: x.program, pid: x.pid, time: iso(x.time), user: x.user, src: x.src, port: x.port, method: x.method, invalid_user: x.invalidUser || undefined, target: x.target, detail: x.detail, counts: x.counts, repeat: x.repeat > 1 ? x.repeat : undefined }));
    }
    for (const e of r.events) out(JSON.stringify({ event: { ...e, time: iso(e.time) } }));
    out(JSON.stringify({ summary: { lines: r.lines, recognised: r.records.length, events: r.events.length } }));
    return 0;
  }
  if (detector === 'windows_eventlog') {
    const cfg = options(windowsEventlog, settings);
    const text = await readInput(opts.file, stdin);
    const r = replayWindowsEvents(text, cfg);
    for (const x of r.records) out(JSON.stringify({ record_id: x.recordId, event_id: x.eventId, time: iso(x.time), kind: x.kind, user: x.user, src: x.src, logon_type: x.logonType, detail: x.detail }));
    for (const p of r.problems) out(JSON.stringify({ problem: p }));
    for (const e of r.events) out(JSON.stringify({ event: { ...e, time: iso(e.time) } }));
    out(JSON.stringify({ summary: { events_read: r.read, recognised: r.records.length, events: r.events.length } }));
    return 0;
  }
  if (detector === 'web_access') return detectWebAccess(opts.file, settings, out, stdin);
  throw new CanhError('CANH_ERR_DETECT_UNKNOWN', `unknown detector "${detector}" (detect works with: ${DETECTABLE.join(', ')})`);
}

/** web_access streams its input: an access log of a busy portal is large. */
async function detectWebAccess(file: string | undefined, settings: Record<string, unknown>, out: (line: string) => void, stdin: NodeJS.ReadableStream): Promise<number> {
  const cfg = options(webAccess, settings);
  let input: Readable;
  if (file && file !== '-') {
    try {
      const fh = await open(file, 'r');
      input = fh.createReadStream({ encoding: 'utf8' });
    } catch (err) {
      throw new CanhError('CANH_ERR_DETECT_UNREADABLE', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give a readable log file, or "-" for standard input`);
    }
  } else input = stdin as Readable;
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  out(JSON.stringify({ settings: { format: cfg.format, trusted_proxies: cfg.trusted_proxies } }));
  const s = await replayWebStream(input, cfg, {
    request(line, r, families) {
      if (families.length) out(JSON.stringify({ line, time: iso(r.time), src: r.remote, method: r.method, path: r.path.slice(0, 512), status: r.status, families }));
    },
    event(e) {
      out(JSON.stringify({ event: { ...e, time: iso(e.time) } }));
    },
  });
  out(JSON.stringify({ summary: s }));
  return 0;
}
