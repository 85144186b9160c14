import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeExample, recorder, testContext, until } from '../testing.ts';
import { BUILT_IN_PATTERNS, classify, isLinearPattern } from './classify.ts';
import { DEFAULT_EXPLOITS } from './exploits.ts';
import webAccess from './index.ts';
import { WebAccessOptions, type WebAccessConfig } from './options.ts';
import { compileLogFormat, makeParser, parseClf, parseClfTime, parseJsonLine, splitRequest } from './parse.ts';
import { replayWebLines } from './replay.ts';
import type { WebEvent } from './scenarios.ts';

const data = (f: string) => readFileSync(join(import.meta.dirname, 'testdata', f), 'utf8');
const defaults = (over: Record<string, unknown> = {}): WebAccessConfig => WebAccessOptions.parse(over);

function replay(text: string, over: Record<string, unknown> = {}): { events: WebEvent[]; unparsed: number; recognised: number } {
  const events: WebEvent[] = [];
  const s = replayWebLines(text.split(/\r?\n/), defaults(over), { event: (e) => events.push(e) });
  return { events, unparsed: s.unparsed, recognised: s.recognised };
}

describe('web_access parsers', () => {
  it('reads the combined format as the server wrote it, escapes included', () => {
    const r = parseClf('203.0.113.5 - bob [10/Oct/2026:13:55:36 -0700] "GET /a%20b?x=\\"1\\" HTTP/1.1" 404 153 "http://ref/" "Mozilla \\"quoted\\""')!;
    expect(r).toMatchObject({
      remote: '203.0.113.5',
      user: 'bob',
      method: 'GET',
      path: '/a%20b',
      query: 'x="1"',
      status: 404,
      bytes: 153,
      referer: 'http://ref/',
      userAgent: 'Mozilla "quoted"',
    });
    expect(r.time).toBe(Date.UTC(2026, 9, 10, 20, 55, 36));
  });
  it("reads the common format and nginx's \\x22 escapes", () => {
    expect(parseClf('192.0.2.1 - - [01/Jan/2026:00:00:00 +0000] "GET /x HTTP/1.0" 200 -')).toMatchObject({ status: 200, path: '/x', userAgent: '' });
    expect(parseClf('192.0.2.1 - - [01/Jan/2026:00:00:00 +0000] "GET /\\x22onmouseover HTTP/1.1" 400 0 "-" "-"')!.path).toBe('/"onmouseover');
  });
  it('keeps a request line that is not one (a TLS handshake on port 80) as its raw path', () => {
    expect(splitRequest('\\x16\\x03\\x01')).toEqual({ method: '', path: '\\x16\\x03\\x01', query: '' });
  });
  it('refuses a timestamp that is not one, and lines that are not access lines', () => {
    expect(parseClfTime('32/Foo/2026:00:00:00 +0000')).toBeUndefined();
    expect(parseClf('Nov 23 21:50:37 host sshd[8148]: Failed password for root from 1.2.3.4 port 22 ssh2')).toBeUndefined();
    expect(parseJsonLine('{"remote_addr":"1.2.3.4"}')).toBeUndefined();
    expect(parseJsonLine('[1,2]')).toBeUndefined();
  });
  it('compiles a custom nginx log_format', () => {
    const p = compileLogFormat('$remote_addr [$time_local] $host "$request" $status rt=$request_time ua="$http_user_agent"');
    expect(p('198.51.100.1 [20/Nov/2026:09:00:00 +0700] portal.example.gov.vn "POST /wp-login.php HTTP/2.0" 200 rt=0.120 ua="curl/8"')).toMatchObject({
      remote: '198.51.100.1',
      vhost: 'portal.example.gov.vn',
      method: 'POST',
      path: '/wp-login.php',
      status: 200,
      userAgent: 'curl/8',
      time: Date.UTC(2026, 10, 20, 2, 0, 0),
    });
  });
  it('reads IIS W3C fields from the #Fields header, "+" for spaces', () => {
    const parse = makeParser('auto');
    const lines = data('iis-w3c.log').split(/\r?\n/);
    const reqs = lines.map(parse).filter((r) => r !== undefined);
    expect(reqs).toHaveLength(5);
    expect(reqs[4]).toMatchObject({
      remote: '10.20.1.1',
      method: 'GET',
      path: '/default.aspx',
      status: 200,
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
      time: Date.UTC(2026, 10, 20, 2, 1, 0),
    });
  });
});

describe('web_access scenarios on labelled logs', () => {
  it('raises exactly the expected events on the attack log', () => {
    const { events, unparsed } = replay(data('attacks-combined.log'));
    expect(unparsed).toBe(0);
    const expected = JSON.parse(data('attacks-combined.expected.json')) as { type: string; src_ip: string; cve?: string }[];
    const got = events.map((e) => ({ type: e.type, src_ip: e.evidence.src_ip, ...(e.evidence.cve ? { cve: e.evidence.cve } : {}) }));
    expect(got).toEqual(expect.arrayContaining(expected));
    expect(got).toHaveLength(expected.length);
    for (const e of events) {
      expect(String(e.evidence.samples).split('\n').length).toBeLessThanOrEqual(5);
      expect(e.count).toBeGreaterThanOrEqual(1);
      expect(e.mitre).toMatch(/^T\d{4}/);
    }
  });
  for (const f of ['benign-wordpress.log', 'benign-nextcloud.log', 'benign-apps.log']) {
    it(`raises nothing on ordinary traffic: ${f}`, () => {
      const { events, recognised } = replay(data(f));
      expect(recognised).toBeGreaterThan(100);
      expect(events.map((e) => `${e.type} ${String(e.evidence.src_ip)} ${String(e.evidence.samples)}`)).toEqual([]);
    });
  }
  it('names the site from the JSON log and the vhost_combined log', () => {
    const j = replay(data('nginx-json.log')).events;
    expect(j.map((e) => [e.type, e.evidence.site, e.evidence.src_ip])).toEqual([['web_sensitive_file_probe', 'dichvucong.example.gov.vn', '203.0.113.150']]);
    const v = replay(data('apache-vhost.log')).events;
    expect(v.map((e) => [e.type, e.evidence.site])).toEqual([['web_admin_probe', 'congthongtin.example.gov.vn']]);
  });
  it('finds SQL injection in IIS query strings', () => {
    expect(replay(data('iis-w3c.log')).events.map((e) => [e.type, e.evidence.src_ip])).toEqual([['web_sqli_probe', '203.0.113.170']]);
  });
  it('a long attack is a few events with counts, not a flood (cooldown)', () => {
    const lines: string[] = [];
    for (let i = 0; i < 600; i++)
      lines.push(
        `203.0.113.9 - - [20/Nov/2026:09:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} +0700] "GET /p${i} HTTP/1.1" 404 0 "-" "x"`,
      );
    const { events } = replay(lines.join('\n'));
    // 10 minutes of scanning with a 5-minute cooldown: the first overflow, then one update
    // after each cooldown; every request is in some event's count or still pending.
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.length).toBeLessThanOrEqual(3);
    expect(events.every((e) => e.type === 'web_scan')).toBe(true);
    expect(events.reduce((n, e) => n + e.count, 0)).toBeGreaterThan(300);
  });
  it('judges a backlog by when requests happened: 5 probes spread over 5 hours are no scan', () => {
    const lines = [0, 1, 2, 3, 4].map((h) => `203.0.113.9 - - [20/Nov/2026:1${h}:00:00 +0700] "GET /.env${h} HTTP/1.1" 404 0 "-" "x"`);
    lines.push(...[0, 1, 2, 3, 4].map((h) => `203.0.113.8 - - [20/Nov/2026:1${h}:00:00 +0700] "GET /.git/config${h} HTTP/1.1" 404 0 "-" "x"`));
    expect(replay(lines.join('\n')).events).toEqual([]);
  });
});

describe('web_access against hostile input', () => {
  const probe = (ip: string, i: number, extra: string) => `${ip} - - [20/Nov/2026:09:00:0${i} +0700] "GET /.env.${i} HTTP/1.1" 404 0 "-" "x"${extra}`;
  it('X-Forwarded-For from a client that is not a trusted proxy never chooses the source', () => {
    const lines = [0, 1, 2, 3, 4].map((i) => probe('192.0.2.66', i, ' "198.51.100.1"'));
    expect(replay(lines.join('\n')).events.map((e) => e.evidence.src_ip)).toEqual(['192.0.2.66']);
  });
  it('X-Forwarded-For from a trusted proxy names the client: the right-most untrusted hop, not a forged left-most one', () => {
    const lines = [0, 1, 2, 3, 4].map((i) => probe('10.0.0.2', i, ' "6.6.6.6, 203.0.113.77"'));
    const ev = replay(lines.join('\n'), { trusted_proxies: ['10.0.0.0/24'] }).events;
    expect(ev.map((e) => e.evidence.src_ip)).toEqual(['203.0.113.77']);
  });
  it('a forwarded value that is not an address leaves the proxy as the source', () => {
    const lines = [0, 1, 2, 3, 4].map((i) => probe('10.0.0.2', i, ' "evil.example, <script>"'));
    expect(replay(lines.join('\n'), { trusted_proxies: ['10.0.0.2'] }).events.map((e) => e.evidence.src_ip)).toEqual(['10.0.0.2']);
  });
  it('a user agent that names a severity or an address changes neither', () => {
    const line = '192.0.2.7 - - [20/Nov/2026:09:00:00 +0700] "GET / HTTP/1.1" 200 0 "-" "sqlmap severity=critical src_ip=1.1.1.1"';
    const [e] = replay(line).events;
    expect(e).toMatchObject({ type: 'web_scanner', severity: 'low' });
    expect(e!.evidence.src_ip).toBe('192.0.2.7');
  });
  it('control characters in a request path are escaped in samples (no forged log lines in mails)', () => {
    const lines = [0, 1, 2, 3, 4].map((i) => `192.0.2.8 - - [20/Nov/2026:09:00:0${i} +0700] "GET /.env.${i}\\x0a\\x1b[31mFAKE HTTP/1.1" 404 0 "-" "x"`);
    const [e] = replay(lines.join('\n')).events;
    expect(String(e!.evidence.samples)).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
    expect(String(e!.evidence.samples)).toContain('\\x0a');
  });
  it('a 10 KB hostile path is parsed and classified (cut to a bound), and a malformed escape does not throw', () => {
    const big = `/${'%2e%2e/'.repeat(1500)}%zz${'a'.repeat(100)}`;
    const line = `192.0.2.9 - - [20/Nov/2026:09:00:00 +0700] "GET ${big}?${"'or'".repeat(500)} HTTP/1.1" 400 0 "-" "x"`;
    const r = parseClf(line)!;
    expect(r.path.length).toBeGreaterThan(10_000);
    expect([...classify(r)]).toContain('path_traversal');
  });
  it('sources are bounded: a distributed scan from 50,000 addresses keeps at most max_sources', () => {
    const lines: string[] = [];
    for (let i = 0; i < 50_000; i++)
      lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} - - [20/Nov/2026:09:00:00 +0700] "GET /.env HTTP/1.1" 404 0 "-" "x"`);
    const cfg = defaults({ max_sources: 100 });
    const events: WebEvent[] = [];
    const s = replayWebLines(lines, cfg, { event: (e) => events.push(e) });
    expect(s.recognised).toBe(50_000);
    expect(events).toEqual([]);
  });
});

describe('web_access patterns are linear', () => {
  it('the linearity check refuses the shapes of catastrophic backtracking', () => {
    for (const evil of ['(a+)+$', '(a|aa)*b', '(.*a){12}', '(\\w+\\s?)*$', '(x+x+)+y', '(a)\\1']) expect(isLinearPattern(evil), evil).toBe(false);
    for (const ok of ['^/foo(?:bar)?$', 'union[\\s+]{0,10}select', '(?:ab|cd)?x', '[a-z]+\\.php$']) expect(isLinearPattern(ok), ok).toBe(true);
  });
  it('every built-in classification pattern has a linear shape', () => {
    for (const re of BUILT_IN_PATTERNS) expect(isLinearPattern(re.source), re.source).toBe(true);
  });
  it('every shipped exploit entry parses with the option schema, and a super-linear regex is refused', () => {
    expect(WebAccessOptions.parse({}).exploits).toHaveLength(DEFAULT_EXPLOITS.length);
    const ids = DEFAULT_EXPLOITS.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    const bad = WebAccessOptions.safeParse({ exploits: [{ id: 'x', title: 'x', regex: [{ field: 'path', pattern: '(a+)+$' }] }] });
    expect(bad.success).toBe(false);
    const good = WebAccessOptions.safeParse({ exploits: [{ id: 'x', title: 'x', regex: [{ field: 'path', pattern: '/evil/[a-z]{1,20}\\.php$' }] }] });
    expect(good.success).toBe(true);
  });
  it('every shipped exploit entry matches a request built from itself (no dead entry)', () => {
    for (const e of DEFAULT_EXPLOITS) {
      const alt = e.match![0]!;
      const path = alt.path ?? (alt.target && !alt.target.includes('?') ? `/${alt.target}` : '/');
      const line = JSON.stringify({
        remote_addr: '192.0.2.1',
        status: 404,
        request_method: alt.method ?? 'GET',
        request_uri: `${path}${alt.query ? `?${alt.query}` : alt.target ? `?${alt.target}` : ''}`,
        http_user_agent: alt.user_agent ?? 'x',
        http_referer: alt.referer ?? '',
      });
      const { events } = replay(line);
      expect(
        events.map((x) => x.evidence.exploit),
        e.id,
      ).toContain(e.id);
    }
  });
});

describe('web_access: a script added under a web root and then called', () => {
  const dir = mkdtempSync(join(tmpdir(), 'canh-webroot-'));
  mkdirSync(join(dir, 'www', 'uploads'), { recursive: true });
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'www', 'uploads', 'x.php'), '<?php system($_GET["c"]); ?>\n');
  writeFileSync(join(dir, 'www', 'page.html'), '<p>hi</p>\n');
  writeFileSync(join(dir, 'outside', 'y.php'), '<?php ?>\n');
  const clf = (t: number, path: string, status = 200) => {
    const d = new Date(t).toUTCString().replace(/^\w+, (\d+) (\w+) (\d+) ([\d:]+) GMT$/, '$1/$2/$3:$4 +0000');
    return `198.51.100.61 - - [${d}] "GET ${path} HTTP/1.1" ${status} 12 "-" "curl/8"`;
  };
  const cfg = { web_roots: [{ path: join(dir, 'www'), url_prefix: '/' }] };
  it('a 200 for a script created minutes before is web_shell_access, critical, naming the file', () => {
    const ev = replay(clf(Date.now(), '/uploads/x.php?c=id'), cfg).events;
    expect(ev.map((e) => [e.type, e.severity, e.evidence.file])).toEqual([['web_shell_access', 'critical', join(dir, 'www', 'uploads', 'x.php')]]);
  });
  it('the same script called two days after it appeared, a 404, a page that is not a script: nothing', () => {
    expect(replay(clf(Date.now() + 2 * 86_400_000, '/uploads/x.php'), cfg).events).toEqual([]);
    expect(replay(clf(Date.now(), '/uploads/x.php', 404), cfg).events).toEqual([]);
    expect(replay(clf(Date.now(), '/page.html'), cfg).events).toEqual([]);
  });
  it('a path that climbs out of the web root (plain or encoded) is never stat-ed outside it', () => {
    for (const p of ['/../outside/y.php', '/%2e%2e/outside/y.php', '/uploads/..%2f..%2foutside/y.php', '/uploads/x.php%00.jpg']) {
      expect(
        replay(clf(Date.now(), p), cfg).events.filter((e) => e.type === 'web_shell_access'),
        p,
      ).toEqual([]);
    }
  });
});

describe('web_access live', () => {
  it('the README example parses with the schema', () => {
    expect(readmeExample(import.meta.dirname, webAccess)).toBeDefined();
  });
  it('a log read from the start waits while the spool is backlogged, then reads on: every attack once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-web-'));
    const log = join(dir, 'access.log');
    const attack = data('attacks-combined.log')
      .split('\n')
      .filter((l) => l.startsWith('198.51.100.20 '));
    writeFileSync(log, `${attack.join('\n')}\n`);
    const c = webAccess.config.parse({ paths: [log], poll_interval: 50, from_beginning: true });
    const { acc, events } = recorder('web_access');
    let backlogged = true;
    let asked = 0;
    const inst = webAccess.create(c, testContext(join(dir, 'state')));
    await inst.start!({
      ...acc,
      backlogged: () => {
        asked++;
        return backlogged;
      },
    });
    try {
      // The reader asks and waits: nothing read, nothing reported, while the spool is full.
      expect(await until(() => asked > 2, 10_000)).toBe(true);
      expect(events).toEqual([]);
      backlogged = false;
      expect(await until(() => events.length > 0, 10_000)).toBe(true);
      expect(events[0]).toMatchObject({ type: 'web_sensitive_file_probe' });
      expect(events[0]!.evidence!.src_ip).toBe('198.51.100.20');
    } finally {
      await inst.stop!();
    }
  });

  it('follows a real log file as it grows and through a rotation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canh-web-'));
    const log = join(dir, 'access.log');
    writeFileSync(log, '');
    const c = webAccess.config.parse({ paths: [log], poll_interval: 50 });
    const { acc, events } = recorder('web_access');
    const inst = webAccess.create(c, testContext(join(dir, 'state')));
    await inst.start!(acc);
    try {
      const attack = data('attacks-combined.log')
        .split('\n')
        .filter((l) => l.startsWith('198.51.100.20 '));
      appendFileSync(log, `${attack.slice(0, 3).join('\n')}\n`);
      const { renameSync } = await import('node:fs');
      renameSync(log, `${log}.1`);
      writeFileSync(log, `${attack.slice(3).join('\n')}\n`);
      expect(await until(() => events.length > 0, 10_000)).toBe(true);
      expect(events[0]).toMatchObject({ type: 'web_sensitive_file_probe', severity: 'medium' });
      expect(events[0]!.evidence!.src_ip).toBe('198.51.100.20');
    } finally {
      await inst.stop!();
    }
  });
});
