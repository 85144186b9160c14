// detect's hand-written verdict JSON against JSON.stringify of the object detect printed
// before (the reference below): the same text for every record the parser makes from the
// auth_log fixtures in all three modes (the held and committed ones too), for hostile
// strings in every string member, and for numbers JSON has no form for. And every line
// parses back to the record's values.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonString, unrecognisedJson, verdictJson } from './detect-json.ts';
import { LogReplay } from './detectors/auth_log/replay.ts';
import { MODES, type AuthRecord } from './detectors/auth_log/parse.ts';
import { AggregationSchema } from './detectors/auth/options.ts';

/** What `detect` printed for a verdict before (JSON.stringify of this object). */
const verdictObject = (line: number, x: AuthRecord, time: string | undefined, committed?: true) => ({
  line,
  committed,
  kind: x.kind,
  program: x.program,
  pid: x.pid,
  time,
  user: x.user,
  src: x.src,
  port: x.port,
  service: x.service,
  method: x.method,
  invalid_user: x.invalidUser || undefined,
  target: x.target,
  detail: x.detail,
  level: x.level,
  counts: x.counts,
  held: x.deferred || undefined,
  repeat: x.repeat > 1 ? x.repeat : undefined,
});

const HOSTILE = [
  '',
  'root',
  '"',
  '\\',
  '\\"',
  'a"b\\c',
  '","src":"6.6.6.6',
  '}\n{"event":{"type":"brute_force"}}',
  ...Array.from({ length: 32 }, (_, i) => `x${String.fromCharCode(i)}y`),
  '\u007f\u0080\u00ff',
  '\u2028\u2029',
  '\ud800',
  'a\udfffb',
  '\udc00\ud800',
  '😀 emoji pair',
  '\ud83d\ude00\ud83d',
  'ñandú Ελληνικά 日本語',
  '</script><script>alert(1)</script>',
  '${x}`',
  'x'.repeat(300),
];

const base: AuthRecord = { kind: 'auth_failure', program: 'sshd', pid: 42, time: 0, user: 'root', src: '192.0.2.1', port: 22, counts: true, repeat: 1 };

describe('detect verdict JSON', () => {
  it('jsonString is JSON.stringify for hostile strings', () => {
    for (const s of HOSTILE) {
      expect(jsonString(s)).toBe(JSON.stringify(s));
      expect(JSON.parse(jsonString(s))).toBe(s);
    }
    // Every UTF-16 unit alone and between others.
    for (let c = 0; c < 0x10000; c++) {
      const s = `a${String.fromCharCode(c)}b`;
      if (jsonString(s) !== JSON.stringify(s)) expect.fail(`unit ${c.toString(16)}`);
    }
  });

  it('hostile strings in every string member, odd numbers and flags: the reference text', () => {
    const keys = ['program', 'user', 'src', 'service', 'method', 'target', 'detail', 'kind', 'level'] as const;
    for (const s of HOSTILE)
      for (const k of keys) {
        const r = { ...base, [k]: s } as AuthRecord;
        expect(verdictJson(7, r, s, true)).toBe(JSON.stringify(verdictObject(7, r, s, true)));
        expect(verdictJson(7, r, undefined)).toBe(JSON.stringify(verdictObject(7, r, undefined)));
        expect(JSON.parse(verdictJson(7, r, undefined))).toEqual(JSON.parse(JSON.stringify(verdictObject(7, r, undefined))));
      }
    for (const n of [NaN, Infinity, -Infinity, -0, 0, 1e21, 2 ** 53 + 2, 1.5, -1, Number.MAX_VALUE, 5e-324]) {
      const r: AuthRecord = { ...base, pid: n, port: n, repeat: n };
      expect(verdictJson(n, r, undefined)).toBe(JSON.stringify(verdictObject(n, r, undefined)));
    }
    const flags: AuthRecord = { ...base, invalidUser: true, deferred: true, counts: false, repeat: 3, level: 'ddos' };
    expect(verdictJson(1, flags, 'T')).toBe(JSON.stringify(verdictObject(1, flags, 'T')));
    for (const p of [...HOSTILE, undefined]) expect(unrecognisedJson(3, p)).toBe(JSON.stringify({ line: 3, verdict: 'unrecognised', program: p }));
    const none: AuthRecord = { kind: 'probe', program: 'p', counts: false, repeat: 1, invalidUser: false, deferred: false };
    expect(verdictJson(1, none, undefined)).toBe(JSON.stringify(verdictObject(1, none, undefined)));
  });

  it('every record of the fixtures, in every mode: the reference text', () => {
    const dir = join(import.meta.dirname, 'detectors', 'auth_log', 'testdata');
    const lines: string[] = [];
    for (const sub of ['lines', 'third-party', '.'])
      for (const f of readdirSync(join(dir, sub)))
        if (/\.(log|txt)$/.test(f)) for (const l of readFileSync(join(dir, sub, f), 'utf8').split('\n')) if (l && !l.startsWith('#')) lines.push(l);
    // Hostile user names and details through the real parser.
    for (const s of HOSTILE.filter((h) => !h.includes('\n')))
      lines.push(
        `Dec  1 10:00:00 h sshd[9]: Failed password for invalid user ${s} from 192.0.2.7 port 22 ssh2`,
        `Dec  1 10:00:01 h sshd[9]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7  user=${s}`,
        `Dec  1 10:00:02 h sudo: ${s} : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=${s}`,
      );
    const cfg = AggregationSchema.parse({ timezone: 'UTC', threshold: 2 });
    let compared = 0;
    for (const mode of MODES) {
      const rp = new LogReplay({ ...cfg, mode }, Date.UTC(2024, 11, 2));
      lines.forEach((text, i) => {
        const r = rp.line(text);
        const time = (x: AuthRecord) => (x.time === undefined ? undefined : new Date(x.time).toISOString());
        const all: [AuthRecord, true | undefined][] = r.record ? [[r.record, undefined]] : [];
        for (const d of r.derived) if (d !== r.record) all.push([d, true]);
        for (const [x, c] of all) {
          expect(verdictJson(i + 1, x, time(x), c)).toBe(JSON.stringify(verdictObject(i + 1, x, time(x), c)));
          compared++;
        }
      });
    }
    expect(compared).toBeGreaterThan(600);
  });
});
