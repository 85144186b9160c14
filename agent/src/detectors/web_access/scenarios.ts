// Per-source leaky buckets over classified requests, in the spirit of CrowdSec's HTTP
// scenarios: a bucket per (source address, scenario) fills by one for each new distinct
// path (or each request, for login attempts), leaks one every `leak`, and overflows when
// it holds more than `capacity`: that makes one event. After an event the pair rests for
// `cooldown`; hits meanwhile are counted into the next event, so a long attack is a few
// events with counts, not a flood. Time is the request's own (from the log line), so a
// backlog read late is judged by when it happened. Pure: the live detector, `canh-agent
// detect` and the tests share it; memory is bounded by `maxSources`.
import { BlockList, isIP } from 'node:net';
import type { Severity } from '@canh/protocol';
import { bounded } from '../group-findings.ts';
import { countsForScan, RequestText } from './classify.ts';
import type { ExploitField, ExploitPattern } from './exploits.ts';
import type { WebRequest } from './parse.ts';

export type ScenarioName = 'scan' | 'sensitive_file' | 'path_traversal' | 'sqli' | 'xss' | 'admin' | 'login';

export interface Bucket {
  capacity: number;
  leakMs: number;
}

export interface LoginUrl {
  path: string;
  method: string;
  failStatus: readonly number[];
}

export interface ScenarioOptions {
  buckets: Record<ScenarioName, Bucket>;
  cooldownMs: number;
  loginUrls: readonly LoginUrl[];
  exploits: readonly ExploitPattern[];
  trustedProxies: readonly string[];
  ignoreSources: readonly string[];
  /** Site name for requests whose log line names no virtual host. */
  site?: string;
  /** When the script a successful request ran was added under a web root: the file and
   *  its creation time (ms), or undefined (not a script, not under a root, older). */
  newScript?: (r: WebRequest) => { file: string; addedAt: number } | undefined;
  maxSources: number;
}

export interface WebEvent {
  time: number;
  type: string;
  severity: Severity;
  message: string;
  evidence: Record<string, string | number | boolean>;
  count: number;
  mitre: string;
}

interface Kind {
  type: string;
  severity: Severity;
  mitre: string;
  what: string;
}

const KINDS: Record<ScenarioName | 'scanner_ua' | 'exploit' | 'web_shell' | 'new_script', Kind> = {
  scan: { type: 'web_scan', severity: 'medium', mitre: 'T1595.003', what: 'scanning: many distinct paths answered with an error' },
  sensitive_file: {
    type: 'web_sensitive_file_probe',
    severity: 'medium',
    mitre: 'T1595.003',
    what: 'probing for sensitive files (.env, .git, backups, configs)',
  },
  path_traversal: { type: 'web_path_traversal', severity: 'high', mitre: 'T1190', what: 'path traversal attempts' },
  sqli: { type: 'web_sqli_probe', severity: 'high', mitre: 'T1190', what: 'SQL injection attempts' },
  xss: { type: 'web_xss_probe', severity: 'medium', mitre: 'T1190', what: 'cross-site scripting attempts' },
  admin: { type: 'web_admin_probe', severity: 'medium', mitre: 'T1595.003', what: 'probing for administration interfaces' },
  login: { type: 'web_login_brute_force', severity: 'high', mitre: 'T1110.001', what: 'failed logins on a login URL' },
  scanner_ua: { type: 'web_scanner', severity: 'low', mitre: 'T1595.002', what: 'requests from a vulnerability scanner' },
  exploit: { type: 'web_exploit_attempt', severity: 'high', mitre: 'T1190', what: 'an exploit of a known vulnerability' },
  web_shell: { type: 'web_shell_access', severity: 'high', mitre: 'T1505.003', what: 'a request answered by a file named like a known web shell' },
  new_script: { type: 'web_shell_access', severity: 'critical', mitre: 'T1505.003', what: 'a request ran a script added to the web root shortly before' },
};

/** Every event type the detector emits, with severity and MITRE id (README and rule tests). */
export const WEB_EVENT_TYPES = Object.values(KINDS).map(({ type, severity, mitre }) => ({ type, severity, mitre }));

const SUCCESS = (status: number) => status >= 200 && status < 300;

interface Pair {
  level: number;
  last: number;
  distinct: Set<string>;
  /** Hits since the last event (what the next event's count says). */
  hits: number;
  samples: string[];
  statuses: Map<number, number>;
  restUntil: number;
}

interface Source {
  pairs: Map<string, Pair>;
}

const MAX_SAMPLES = 5;
const MAX_DISTINCT = 256;

/** A request as a bounded, printable sample line: control characters escaped. */
export function sampleOf(r: WebRequest): string {
  const target = r.query ? `${r.path}?${r.query}` : r.path;
  const text = `${r.method || '-'} ${target} ${r.status}`;
  return bounded(
    text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`),
    200,
  );
}

function blockList(entries: readonly string[]): BlockList {
  const b = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const family = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (!addr || !isIP(addr)) continue;
    if (bits === undefined) b.addAddress(addr, family);
    else b.addSubnet(addr, Number(bits), family);
  }
  return b;
}

function inList(list: BlockList, addr: string): boolean {
  const v = isIP(addr);
  return v !== 0 && list.check(addr, v === 6 ? 'ipv6' : 'ipv4');
}

/** The client: the TCP peer, unless the peer is a trusted proxy; then the right-most
 *  X-Forwarded-For address that is not itself a trusted proxy. An attacker's own header,
 *  sent straight to the server, never decides the source. */
export function clientAddress(r: WebRequest, trusted: BlockList): string {
  let addr = r.remote.startsWith('::ffff:') && isIP(r.remote.slice(7)) === 4 ? r.remote.slice(7) : r.remote;
  if (!r.forwardedFor || !inList(trusted, addr)) return addr;
  const hops = r.forwardedFor.split(',').map((s) => s.trim());
  for (let i = hops.length - 1; i >= 0; i--) {
    const h = hops[i]!;
    if (!isIP(h)) return addr;
    addr = h;
    if (!inList(trusted, h)) return h;
  }
  return addr;
}

function fieldText(t: RequestText, f: ExploitField): string[] {
  switch (f) {
    case 'path':
      return t.path;
    case 'query':
      return t.query;
    case 'target':
      return t.target;
    case 'user_agent':
      return t.userAgent;
    case 'referer':
      return t.referer;
    case 'method':
      return [t.r.method.toLowerCase()];
  }
}

interface CompiledExploit {
  p: ExploitPattern;
  match: [ExploitField, string][][];
  regex: [ExploitField, RegExp][];
}

function compileExploits(list: readonly ExploitPattern[]): CompiledExploit[] {
  return list.map((p) => ({
    p,
    match: (p.match ?? []).map((alt) => Object.entries(alt).map(([f, s]) => [f as ExploitField, (s as string).toLowerCase()])),
    regex: (p.regex ?? []).map((x) => [x.field, new RegExp(x.pattern, 'i')]),
  }));
}

export function matchExploit(t: RequestText, list: readonly CompiledExploit[]): ExploitPattern | undefined {
  for (const e of list) {
    for (const alt of e.match) if (alt.length && alt.every(([f, s]) => fieldText(t, f).some((x) => x.includes(s)))) return e.p;
    for (const [f, re] of e.regex) if (fieldText(t, f).some((x) => re.test(x))) return e.p;
  }
  return undefined;
}

export class WebScenarios {
  private readonly o: ScenarioOptions;
  private readonly sources = new Map<string, Source>();
  private readonly trusted: BlockList;
  private readonly ignored: BlockList;
  private readonly exploits: CompiledExploit[];
  /** Requests seen, and events made (for the summary and self-metrics). */
  requests = 0;

  constructor(o: ScenarioOptions) {
    this.o = o;
    this.trusted = blockList(o.trustedProxies);
    this.ignored = blockList(o.ignoreSources);
    this.exploits = compileExploits(o.exploits);
  }

  /** `text`: the request's decoded views when the caller has them already (replay prints its families). */
  observe(r: WebRequest, now: number, text = new RequestText(r)): WebEvent[] {
    this.requests++;
    const t = r.time ?? now;
    const src = clientAddress(r, this.trusted);
    if (inList(this.ignored, src)) return [];
    const site = bounded((r.vhost ?? this.o.site ?? '').replace(/[^\x21-\x7e]/g, '?'), 253);
    const fam = text.families;
    const out: WebEvent[] = [];
    const trigger = (kind: Kind, key: string, extra: Record<string, string | number | boolean>, severity = kind.severity) => {
      const pair = this.pair(src, key, t);
      this.record(pair, r);
      if (t < pair.restUntil) return;
      out.push(this.event(kind, src, site, pair, t, extra, severity));
    };
    const exploit = matchExploit(text, this.exploits);
    if (exploit)
      trigger(
        KINDS.exploit,
        `exploit:${exploit.id}`,
        { exploit: exploit.id, ...(exploit.cve ? { cve: exploit.cve } : {}), title: exploit.title },
        exploit.severity ?? 'high',
      );
    if (fam.has('scanner_ua')) trigger(KINDS.scanner_ua, 'scanner_ua', { user_agent: bounded(r.userAgent, 200) });
    const added = SUCCESS(r.status) ? this.o.newScript?.(r) : undefined;
    if (added)
      trigger(KINDS.new_script, `new_script:${added.file}`, {
        path: bounded(r.path, 256),
        file: bounded(added.file, 512),
        file_age_s: Math.max(0, Math.round((t - added.addedAt) / 1000)),
      });
    else if (fam.has('web_shell')) trigger(KINDS.web_shell, `web_shell:${r.path.slice(0, 256)}`, { path: bounded(r.path, 256) });
    const pour = (name: ScenarioName, distinctKey: string | undefined, extra: Record<string, string | number | boolean> = {}) => {
      const pair = this.pair(src, name, t);
      this.record(pair, r);
      const b = this.o.buckets[name];
      pair.level = Math.max(0, pair.level - (t - pair.last) / b.leakMs);
      pair.last = Math.max(pair.last, t);
      if (pair.level === 0) pair.distinct.clear();
      if (distinctKey !== undefined) {
        if (pair.distinct.has(distinctKey)) return;
        if (pair.distinct.size < MAX_DISTINCT) pair.distinct.add(distinctKey);
      }
      pair.level += 1;
      if (pair.level > b.capacity && t >= pair.restUntil) {
        out.push(this.event(KINDS[name], src, site, pair, t, { ...extra, distinct_paths: pair.distinct.size }, KINDS[name].severity));
        pair.level = 0;
        pair.distinct.clear();
      }
    };
    const pathKey = r.path.slice(0, 512);
    if (fam.has('sensitive_file')) pour('sensitive_file', pathKey);
    if (fam.has('path_traversal')) pour('path_traversal', `${pathKey}?${r.query.slice(0, 512)}`);
    if (fam.has('sqli')) pour('sqli', `${pathKey}?${r.query.slice(0, 512)}`);
    if (fam.has('xss')) pour('xss', `${pathKey}?${r.query.slice(0, 512)}`);
    if (fam.has('admin')) pour('admin', pathKey);
    if (countsForScan(r) && !fam.has('sensitive_file') && !fam.has('admin')) pour('scan', pathKey);
    const login = this.o.loginUrls.find((u) => u.method === r.method && u.path === r.path);
    if (login && login.failStatus.includes(r.status)) pour('login', undefined, { login_url: login.path });
    return out;
  }

  private pair(src: string, key: string, t: number): Pair {
    let s = this.sources.get(src);
    if (s) {
      this.sources.delete(src);
      this.sources.set(src, s);
    } else {
      if (this.sources.size >= this.o.maxSources) this.sources.delete(this.sources.keys().next().value!);
      s = { pairs: new Map() };
      this.sources.set(src, s);
    }
    let p = s.pairs.get(key);
    if (!p) {
      p = { level: 0, last: t, distinct: new Set(), hits: 0, samples: [], statuses: new Map(), restUntil: 0 };
      s.pairs.set(key, p);
    }
    return p;
  }

  private record(p: Pair, r: WebRequest): void {
    p.hits++;
    if (p.samples.length < MAX_SAMPLES) p.samples.push(sampleOf(r));
    if (p.statuses.size < 16 || p.statuses.has(r.status)) p.statuses.set(r.status, (p.statuses.get(r.status) ?? 0) + 1);
  }

  private event(kind: Kind, src: string, site: string, p: Pair, t: number, extra: Record<string, string | number | boolean>, severity: Severity): WebEvent {
    const statuses = [...p.statuses]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    const count = p.hits;
    const ev: WebEvent = {
      time: t,
      type: kind.type,
      severity,
      message: `${kind.what} from ${src}${site ? ` on ${site}` : ''} (${count} request${count === 1 ? '' : 's'})`,
      evidence: { src_ip: src, ...(site ? { site } : {}), samples: p.samples.join('\n'), statuses, ...extra },
      count,
      mitre: kind.mitre,
    };
    p.hits = 0;
    p.samples = [];
    p.statuses.clear();
    p.restUntil = t + this.o.cooldownMs;
    return ev;
  }
}
