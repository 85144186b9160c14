// `canh-agent detect <detector> [--file F|-] [--set key=value]...`: runs a log through a
// detector offline, like fail2ban-regex, and prints JSON lines: first the zone and mode it
// reads the log with, then each line's verdict (recognised lines with what was extracted and
// whether they count, lines of a watched service that no pattern knows) and the events as
// they arise, then a summary. auth_log streams its input line by line (memory does not grow
// with the file). Needs no config file and no collector; the detector's defaults apply
// unless --set says otherwise.
import { closeSync, openSync, readSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CanhError } from '@canh/core/errors';
import authLog from './detectors/auth_log/index.ts';
import { LogReplay } from './detectors/auth_log/replay.ts';
import { hostTimeZone } from './detectors/auth/host-zone.ts';
import type { AuthRecord } from './detectors/auth_log/parse.ts';
import { unrecognisedJson, verdictJson } from './detect-json.ts';
// windows_eventlog and web_access are loaded when asked for (start-up is part of a short run).

export const DETECTABLE = ['auth_log', 'windows_eventlog', 'web_access'] as const;

async function readInput(file: string | undefined, stdin: NodeJS.ReadableStream): Promise<string> {
  if (file && file !== '-') {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new CanhError(
        'CANH_ERR_DETECT_UNREADABLE',
        `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give a readable log file, or "-" for standard input`,
      );
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Longest line kept whole (as the live agent's tail.ts): a longer one is cut there, so memory stays bounded. */
const MAX_LINE_BYTES = 64 * 1024;

/**
 * The input's lines in batches, one per chunk read: split on "\n" with a trailing "\r" taken
 * off, as the live agent's tail.ts splits a followed file (a lone "\r" inside a line does not
 * end it), so `detect` sees the lines the agent would. A chunk is decoded at once (a "\n"
 * byte is never inside a UTF-8 sequence, so this equals decoding line by line) and its lines
 * handed over together: no promise per line.
 */
export async function* lineBatches(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): AsyncGenerator<string[]> {
  let partial: Buffer = Buffer.alloc(0);
  for await (const c of input) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    const last = chunk.lastIndexOf(0x0a);
    if (last < 0) {
      partial = partial.length ? Buffer.concat([partial, chunk]) : Buffer.from(chunk);
      if (partial.length > MAX_LINE_BYTES) {
        yield [trimCr(partial.subarray(0, MAX_LINE_BYTES).toString('utf8'))];
        partial = Buffer.alloc(0);
      }
      continue;
    }
    // The line begun in the previous chunk is joined to its end alone (no copy of the whole chunk).
    let lines: string[];
    if (partial.length) {
      const first = chunk.indexOf(0x0a);
      const head = Buffer.concat([partial, chunk.subarray(0, first)]).toString('utf8');
      lines = first === last ? [head] : [head, ...chunk.toString('utf8', first + 1, last).split('\n')];
    } else lines = chunk.toString('utf8', 0, last).split('\n');
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.length > MAX_LINE_BYTES / 4 && Buffer.byteLength(l) > MAX_LINE_BYTES) lines[i] = Buffer.from(l).subarray(0, MAX_LINE_BYTES).toString('utf8');
      lines[i] = trimCr(lines[i]!);
    }
    partial = Buffer.from(chunk.subarray(last + 1));
    yield lines;
  }
  if (partial.length) yield [trimCr(partial.subarray(0, MAX_LINE_BYTES).toString('utf8'))];
}

const trimCr = (l: string) => (l.charCodeAt(l.length - 1) === 13 ? l.slice(0, -1) : l);

const unreadable = (file: string, err: unknown) =>
  new CanhError(
    'CANH_ERR_DETECT_UNREADABLE',
    `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give a readable log file, or "-" for standard input`,
  );

/**
 * A file's bytes in 64 KiB chunks, read synchronously into one buffer (lineBatches copies what
 * it keeps of a chunk): a batch job has nothing else to do meanwhile, and a stream's thread
 * pool round trips, promises and buffer per chunk cost more than the read itself.
 */
function* fileChunks(file: string, fd: number): Generator<Buffer> {
  const buf = Buffer.allocUnsafeSlow(64 * 1024);
  try {
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, buf, 0, buf.length, null);
      } catch (err) {
        throw unreadable(file, err);
      }
      if (got === 0) return;
      yield buf.subarray(0, got);
    }
  } finally {
    closeSync(fd);
  }
}

function openLines(file: string | undefined, stdin: NodeJS.ReadableStream): AsyncGenerator<string[]> {
  if (!file || file === '-') return lineBatches(stdin as AsyncIterable<Buffer | string>);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw unreadable(file, err);
  }
  return lineBatches(fileChunks(file, fd));
}

/**
 * Where detect writes: one JSON text per call; `drain` (when given) is awaited now and then so
 * output keeps pace; `verdict` (when given) writes auth_log's verdict without making its string.
 */
export type DetectOut = ((line: string) => void) & {
  drain?: () => Promise<void>;
  verdict?: (line: number, x: AuthRecord, time: string | undefined, committed?: true) => void;
};

/** "--set threshold=3" → { threshold: 3 }; values are YAML so lists and numbers work. */
export async function parseSettings(sets: readonly string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let parseYaml: ((s: string) => unknown) | undefined;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 1) throw new CanhError('CANH_ERR_DETECT_BAD_SETTING', `--set ${s}: write key=value, e.g. --set threshold=3`);
    const v = s.slice(eq + 1);
    const plain = plainScalar(v);
    if (plain !== undefined) out[s.slice(0, eq)] = plain;
    else {
      parseYaml ??= (await import('yaml')).parse as (s: string) => unknown;
      out[s.slice(0, eq)] = parseYaml(v);
    }
  }
  return out;
}

// A word, or a duration as "600s" (digits then letters, no leading 0: "0x1f" is a number to YAML).
const PLAIN_WORD = /^(?:[A-Za-z][\w/+.-]*|[1-9]\d*[a-z]+)$/;
const YAML_KEYWORDS = new Set(['true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'null', 'Null', 'NULL']);

/**
 * The value YAML gives a word or a decimal integer ("UTC", "Europe/Berlin", "600s", "5"), without
 * loading the yaml package (its evaluation was ~5 % of detect's start-up, bench:detect); anything
 * else (lists, quotes, keywords, other numbers) is undefined and goes to YAML. detect.test.ts
 * checks both agree.
 */
export function plainScalar(v: string): string | number | undefined {
  if (PLAIN_WORD.test(v)) return YAML_KEYWORDS.has(v) ? undefined : v;
  if (/^(?:0|[1-9]\d{0,14})$/.test(v)) return Number(v);
  return undefined;
}

function options<T>(
  def: {
    name: string;
    config: {
      strict(): { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } };
    };
  },
  settings: Record<string, unknown>,
): T {
  const r = def.config.strict().safeParse(settings);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new CanhError('CANH_ERR_DETECT_BAD_SETTING', `${def.name}: ${msg}`);
  }
  return r.data;
}

/** ISO text of a time; lines of one second share their time, so its text is made once. */
function isoOfSecond(): (t: number | undefined) => string | undefined {
  let lastT = NaN;
  let lastIso = '';
  return (t) => {
    if (t === undefined) return undefined;
    if (t !== lastT) {
      lastT = t;
      lastIso = new Date(t).toISOString();
    }
    return lastIso;
  };
}

export async function runDetect(
  detector: string,
  opts: { file?: string; set?: readonly string[]; now?: number },
  out: DetectOut,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  const settings = await parseSettings(opts.set ?? []);
  if (detector === 'auth_log') return detectAuthLog(opts.file, settings, opts.now ?? Date.now(), out, stdin);
  if (detector === 'windows_eventlog') return detectWindowsEvents(opts.file, settings, out, stdin);
  if (detector === 'web_access') return detectWebAccess(opts.file, settings, out, stdin);
  throw new CanhError('CANH_ERR_DETECT_UNKNOWN', `unknown detector "${detector}" (detect works with: ${DETECTABLE.join(', ')})`);
}

/** auth_log streams its input and prints every line's verdict. */
async function detectAuthLog(
  file: string | undefined,
  settings: Record<string, unknown>,
  now: number,
  out: DetectOut,
  stdin: NodeJS.ReadableStream,
): Promise<number> {
  const iso = isoOfSecond();
  const cfg = options(authLog, settings);
  const rp = new LogReplay(cfg, now);
  const zoneFrom = cfg.timezone !== undefined ? 'config' : hostTimeZone().from;
  out(JSON.stringify({ detector: 'auth_log', timezone: rp.pipeline.zone, timezone_from: zoneFrom, mode: rp.pipeline.mode }));
  const write = out.verdict ?? ((line: number, x: AuthRecord, time: string | undefined, committed?: true) => out(verdictJson(line, x, time, committed)));
  const ev = (e: { time: number }) => JSON.stringify({ event: { ...e, time: iso(e.time) } });
  let n = 0;
  let recognised = 0;
  let events = 0;
  // Lines from..to of a batch, in a plain loop (no await inside: it stays optimised).
  const verdicts = (batch: string[], from: number, to: number) => {
    for (let i = from; i < to; i++) {
      n++;
      const r = rp.line(batch[i]!);
      if (r.record) {
        recognised++;
        write(n, r.record, iso(r.record.time));
      } else if (r.unparsed) out(unrecognisedJson(n, r.header?.program));
      // Held sshd PAM failures that this line made count (no "Failed" line came for them).
      const { derived, events: evs } = r;
      for (let j = 0; j < derived.length; j++) if (derived[j]!.counts && derived[j] !== r.record) write(n, derived[j]!, iso(derived[j]!.time), true);
      for (let j = 0; j < evs.length; j++) out(ev(evs[j]!));
      events += evs.length;
    }
  };
  for await (const batch of openLines(file, stdin)) {
    for (let i = 0; i < batch.length; i += 2000) {
      verdicts(batch, i, Math.min(i + 2000, batch.length));
      await out.drain?.();
    }
  }
  const last = rp.finish();
  for (const e of last) out(ev(e));
  events += last.length;
  out(JSON.stringify({ summary: { lines: n, recognised, unrecognised: rp.pipeline.unparsed, events } }));
  await out.drain?.();
  return 0;
}

async function detectWindowsEvents(file: string | undefined, settings: Record<string, unknown>, out: DetectOut, stdin: NodeJS.ReadableStream): Promise<number> {
  const iso = isoOfSecond();
  const { default: windowsEventlog } = await import('./detectors/windows_eventlog/index.ts');
  const { replayWindowsEvents } = await import('./detectors/windows_eventlog/replay.ts');
  const cfg = options(windowsEventlog, settings);
  const text = await readInput(file, stdin);
  const r = replayWindowsEvents(text, cfg);
  for (const x of r.records)
    out(
      JSON.stringify({
        record_id: x.recordId,
        event_id: x.eventId,
        time: iso(x.time),
        kind: x.kind,
        user: x.user,
        src: x.src,
        logon_type: x.logonType,
        detail: x.detail,
      }),
    );
  for (const p of r.problems) out(JSON.stringify({ problem: p }));
  for (const e of r.events) out(JSON.stringify({ event: { ...e, time: iso(e.time) } }));
  out(JSON.stringify({ summary: { events_read: r.read, recognised: r.records.length, events: r.events.length } }));
  return 0;
}

/** web_access streams its input: an access log of a busy portal is large. */
async function detectWebAccess(
  file: string | undefined,
  settings: Record<string, unknown>,
  out: (line: string) => void,
  stdin: NodeJS.ReadableStream,
): Promise<number> {
  const { default: webAccess } = await import('./detectors/web_access/index.ts');
  const { replayWebStream } = await import('./detectors/web_access/replay.ts');
  const cfg = options(webAccess, settings);
  let input: Readable;
  if (file && file !== '-') {
    try {
      const fh = await open(file, 'r');
      input = fh.createReadStream({ encoding: 'utf8' });
    } catch (err) {
      throw new CanhError(
        'CANH_ERR_DETECT_UNREADABLE',
        `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}): give a readable log file, or "-" for standard input`,
      );
    }
  } else input = stdin as Readable;
  const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
  out(JSON.stringify({ settings: { format: cfg.format, trusted_proxies: cfg.trusted_proxies } }));
  const s = await replayWebStream(input, cfg, {
    request(line, r, families) {
      if (families.length)
        out(JSON.stringify({ line, time: iso(r.time), src: r.remote, method: r.method, path: r.path.slice(0, 512), status: r.status, families }));
    },
    event(e) {
      out(JSON.stringify({ event: { ...e, time: iso(e.time) } }));
    },
  });
  out(JSON.stringify({ summary: s }));
  return 0;
}
