// detect's hand-written verdict JSON against JSON.stringify of the object detect printed
// before (the reference below): the same text for every record the parser makes from the
// auth_log fixtures in all three modes (the held and committed ones too), for hostile
// strings in every string member, and for numbers JSON has no form for. And every line
// parses back to the record's values.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonString, unrecognisedJson, verdictJson } from './detect-json.ts';
import { ChunkedOut } from './detect-out.ts';
import { LogReplay } from './detectors/auth_log/replay.ts';
import { MODES } from './detectors/auth_log/fields.ts';
import type { AuthRecord } from './detectors/auth_log/parse.ts';
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
    const all = fixtureVerdicts();
    for (const [line, x, time, c] of all) expect(verdictJson(line, x, time, c)).toBe(JSON.stringify(verdictObject(line, x, time, c)));
    expect(all.length).toBeGreaterThan(600);
  });
});

/** Every record (and committed record) the fixtures and hostile lines make in every mode, with its line number and time text. */
function fixtureVerdicts(): [number, AuthRecord, string | undefined, true | undefined][] {
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
  const time = (x: AuthRecord) => (x.time === undefined ? undefined : new Date(x.time).toISOString());
  const out: [number, AuthRecord, string | undefined, true | undefined][] = [];
  for (const mode of MODES) {
    const rp = new LogReplay({ ...cfg, mode }, Date.UTC(2024, 11, 2));
    lines.forEach((text, i) => {
      const r = rp.line(text);
      if (r.record) out.push([i + 1, r.record, time(r.record), undefined]);
      for (const d of r.derived) if (d !== r.record) out.push([i + 1, d, time(d), true]);
    });
  }
  return out;
}

/** A sink that keeps what it is given, and says it is full every third chunk. */
function memorySink() {
  const chunks: Buffer[] = [];
  let drains = 0;
  return {
    chunks,
    write(b: Buffer) {
      chunks.push(Buffer.from(b));
      return chunks.length % 3 !== 0;
    },
    once(_event: 'drain', f: () => void) {
      drains++;
      setImmediate(f);
    },
    get drains() {
      return drains;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

describe('detect chunked output', () => {
  it('writes the bytes of verdictJson for every fixture record and hostile string, whatever the chunk size', async () => {
    const all = fixtureVerdicts();
    const hostile: [number, AuthRecord, string | undefined, true | undefined][] = [];
    for (const s of HOSTILE)
      for (const k of ['program', 'user', 'src', 'service', 'method', 'target', 'detail', 'kind', 'level'] as const)
        hostile.push(
          [9, { ...base, [k]: s } as AuthRecord, s, true],
          [10, { ...base, [k]: s, invalidUser: true, deferred: true, repeat: 4 } as AuthRecord, undefined, undefined],
        );
    for (const n of [NaN, Infinity, -Infinity, -0, 0, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 1e21, 1.5, -1, 5e-324])
      hostile.push([n, { ...base, pid: n, port: n, repeat: n }, undefined, undefined]);
    const expected = [...all, ...hostile].map(([l, x, t, c]) => `${verdictJson(l, x, t, c)}\n`).join('') + '{"summary":1}\n';
    for (const size of [1 << 16, 4096, 700]) {
      const sink = memorySink();
      const out = new ChunkedOut(sink, size);
      for (const [i, [l, x, t, c]] of [...all, ...hostile].entries()) {
        out.verdict(l, x, t, c);
        if (i % 97 === 0) await out.drain();
      }
      out.line('{"summary":1}');
      await out.drain();
      expect(sink.text()).toBe(expected);
      // Chunks stay within their size, except a single verdict longer than a chunk.
      for (const c of sink.chunks) if (c.length > size) expect(c.toString('utf8').trimEnd().includes('\n')).toBe(false);
      expect(sink.drains).toBeGreaterThan(0);
    }
  });

  it('a verdict longer than a chunk goes whole, in order', async () => {
    const sink = memorySink();
    const out = new ChunkedOut(sink, 1024);
    const long = { ...base, detail: `"${'\u0001'.repeat(2000)}` };
    out.line('{"a":1}');
    out.verdict(1, long, undefined);
    out.verdict(2, base, undefined);
    await out.drain();
    expect(sink.text()).toBe(`{"a":1}\n${verdictJson(1, long, undefined)}\n${verdictJson(2, base, undefined)}\n`);
    expect(JSON.parse(sink.text().split('\n')[1]!).detail).toBe(long.detail);
  });
});
