// The golden loop over testdata/lines: every labelled line (kind, user, address, service and
// whether it counts, in each mode) and every sshd connection scenario. A test is named after
// the form it covers ("# form:", where the form comes from) or the attack shape it defends
// against ("# shape:"), so a failure says which line form or which injection broke.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import authLog from './index.ts';
import { MODES, type Mode } from './fields.ts';
import { parseVerdict } from './parse.ts';
import { replayAuthLog } from './replay.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'lines');
const NOW = Date.UTC(2024, 11, 1);
const LONG = 'x'.repeat(20_000);

interface Case {
  name: string;
  file: string;
  lineNo: number;
  line: string;
  want: Record<string, unknown>;
}

function cases(file: string): Case[] {
  const out: Case[] = [];
  let name = '';
  let want: Record<string, unknown> | undefined;
  readFileSync(join(dir, file), 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const form = /^# (?:form|shape): (.*)$/.exec(raw);
      if (form) name = form[1]!;
      else if (raw.startsWith('#>')) want = JSON.parse(raw.slice(2)) as Record<string, unknown>;
      else if (raw && !raw.startsWith('#')) {
        // Every log line carries its label: an unlabelled line is a mistake in the fixture.
        expect(want, `${file}:${i + 1} has no "#>" label`).toBeDefined();
        out.push({ name, file, lineNo: i + 1, line: raw.replace('{REPEAT}', LONG), want: want! });
        want = undefined;
      }
    });
  return out;
}

const countsIn = (label: unknown, mode: Mode): boolean =>
  label === 'yes' || (label === 'ddos' && mode !== 'normal') || (label === 'aggressive' && mode === 'aggressive');

const files = readdirSync(dir).filter((f) => f.endsWith('.log'));

describe('labelled lines (testdata/lines/*.log)', () => {
  it('the fixture set covers headers, sshd, PAM, mail, FTP and injection shapes', () => {
    expect(files.sort()).toEqual(['ftp.log', 'headers.log', 'injection.log', 'mail.log', 'pam.log', 'sshd.log']);
  });
  for (const file of files) {
    describe(file, () => {
      for (const c of cases(file)) {
        it(`${c.name} (line ${c.lineNo})`, () => {
          for (const mode of MODES) {
            const v = parseVerdict(c.line, { tz: 'UTC', now: NOW, mode });
            const r = v.record;
            const where = `${file}:${c.lineNo} [${mode}]\n${c.line.slice(0, 300)}\n→ ${JSON.stringify(r)}`;
            if (c.want.kind === null) {
              expect(r, where).toBeUndefined();
              continue;
            }
            expect(r?.kind, where).toBe(c.want.kind);
            for (const k of ['user', 'src', 'port', 'service', 'method', 'host', 'pid', 'level'] as const)
              if (k in c.want) expect(r![k], `${k}: ${where}`).toEqual(c.want[k]);
            if ('target' in c.want) expect(r!.target, where).toBe(c.want.target);
            if ('invalid_user' in c.want) expect(!!r!.invalidUser, where).toBe(c.want.invalid_user);
            if ('time' in c.want) expect(new Date(r!.time!).toISOString(), where).toBe(c.want.time);
            if (c.want.counts === 'held') {
              expect([r!.counts, r!.deferred], where).toEqual([false, true]);
            } else {
              expect(r!.counts, where).toBe(countsIn(c.want.counts, mode));
              expect(!!r!.deferred, where).toBe(false);
            }
          }
        });
      }
    });
  }
});

interface Scenario {
  name: string;
  lines: string[];
  want: Partial<Record<Mode, Record<string, number>>>;
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  let cur: Scenario | undefined;
  for (const raw of readFileSync(join(dir, 'sessions.txt'), 'utf8').split('\n')) {
    const s = /^## scenario: (.*)$/.exec(raw);
    if (s) out.push((cur = { name: s[1]!, lines: [], want: {} }));
    const w = /^#= (?:(normal|ddos|aggressive) )?(\{.*\})$/.exec(raw);
    if (w && cur) cur.want[(w[1] ?? 'normal') as Mode] = JSON.parse(w[2]!) as Record<string, number>;
    if (raw && !raw.startsWith('#') && cur) cur.lines.push(raw);
  }
  return out;
}

describe('sshd connection scenarios (testdata/lines/sessions.txt)', () => {
  for (const sc of scenarios()) {
    it(sc.name, () => {
      expect(Object.keys(sc.want).length).toBeGreaterThan(0);
      for (const [mode, want] of Object.entries(sc.want)) {
        // threshold 1: every counted attempt shows in a brute_force event's count.
        const r = replayAuthLog(sc.lines.join('\n'), authLog.config.parse({ timezone: 'UTC', threshold: 1, mode }), NOW);
        const got: Record<string, number> = {};
        for (const e of r.events.filter((x) => x.type === 'brute_force')) got[e.evidence.src_ip as string] = (got[e.evidence.src_ip as string] ?? 0) + e.count;
        expect(got, `${sc.name} [${mode}]`).toEqual(want);
      }
    });
  }
});

describe('unrecognised lines of watched services (counted in unparsed_lines)', () => {
  const unparsed = (l: string) => parseVerdict(l, { tz: 'UTC', now: NOW }).unparsed;
  it('an unknown failure form of sshd, PAM or a mail/FTP daemon is counted', () => {
    expect(unparsed('Dec  1 10:00:00 h sshd[1]: Failed telepathy for root (a future form)')).toBe(true);
    expect(unparsed('Dec  1 10:00:00 mx postfix/smtpd[1]: warning: unknown[192.0.2.1]: SASL LOGIN authentication failed (a future form)')).toBe(true);
    expect(unparsed('Dec  1 10:00:00 ftp vsftpd[1]: [pid 2] [u] FAIL LOGIN (a future form)')).toBe(true);
  });
  it('recognised lines, other programs, and a mail server refusing relay are not', () => {
    expect(unparsed('Dec  1 10:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2')).toBe(false);
    expect(unparsed('Dec  1 10:00:00 h CRON[1]: (root) CMD (failed job)')).toBe(false);
    expect(unparsed('Dec  1 10:00:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 <x@y>: Relay access denied')).toBe(false);
    expect(unparsed('Dec  1 10:00:00 h sshd[1]: Server listening on 0.0.0.0 port 22.')).toBe(false);
  });
});
