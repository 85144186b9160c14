// windows_eventlog: the XML reader, the event meanings, the wevtutil command line, the
// bookmark, and every way reading can fail (fake ctx.exec: this CI has no Windows).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecResult } from '../../inputs/types.ts';
import { readmeExample, testContext } from '../testing.ts';
import def, { classifyExec, newestArgs, queryArgs } from './index.ts';
import { readEvent } from './parse.ts';
import { replayWindowsEvents } from './replay.ts';
import { parseElement, parseEventStream } from './xml.ts';

const here = dirname(fileURLToPath(import.meta.url));
const td = (f: string) => readFileSync(join(here, 'testdata', f), 'utf8');
const cfg = (over: Record<string, unknown> = {}) => def.config.parse({ timezone: 'Asia/Ho_Chi_Minh', ...over });

describe('XML reader', () => {
  it('reads attributes, namespaces, entities and CDATA', () => {
    const el = parseElement(`<e:Event xmlns:e="x" a='1' b="&lt;&amp;&#65;&#x42;"><e:Data Name="n">t&apos;x<![CDATA[<raw>]]></e:Data><Empty/></e:Event>`);
    expect(el.name).toBe('Event');
    expect(el.attrs).toEqual({ e: 'x', a: '1', b: '<&AB' });
    expect(el.children[0]).toMatchObject({ name: 'Data', attrs: { Name: 'n' }, text: "t'x<raw>" });
    expect(el.children[1]!.name).toBe('Empty');
  });

  it('hostile input: problems reported, nothing expanded, no crash', () => {
    const { events, problems } = parseEventStream(td('hostile.xml'));
    expect(problems.length).toBeGreaterThanOrEqual(4);
    const recs = events.map(readEvent).filter((r) => r);
    // The entity bomb stays a literal reference; only well-formed events with numeric ids survive.
    expect(recs.map((r) => r!.recordId)).toEqual([9001, 9004]);
    expect(recs[0]!.data.TargetUserName).toBe('&lol2;');
    expect(recs[1]!.data.TargetUserName).toBe('\uFFFD\uFFFD\uFFFD&amp;<script>');
    expect(() => parseEventStream('<Event>'.repeat(100_000))).not.toThrow();
    expect(() => parseEventStream(`<Event>${'<a>'.repeat(10_000)}</Event>`)).not.toThrow();
  });
});

describe('events', () => {
  it('RDP brute force then success: brute_force, brute_force_success, off-hours Administrator', () => {
    // 2024-11-30 14:00Z is Saturday 21:00 in Ho Chi Minh City.
    const r = replayWindowsEvents(td('rdp-brute-force.xml'), cfg());
    expect(r.problems).toEqual([]);
    expect(r.records.map((x) => x.eventId)).toEqual([4625, 4625, 4625, 4625, 4625, 4625, 4624, 4624, 4625]);
    const types = r.events.map((e) => `${e.type}/${e.severity}/${e.count}`);
    expect(types).toEqual(['brute_force/high/5', 'brute_force_success/critical/1', 'off_hours_privileged_login/medium/1', 'brute_force/high/1']);
    expect(r.events[0]!.evidence).toMatchObject({ src_ip: '192.0.2.50', users: 'Administrator' });
    expect(r.events[1]!.evidence).toMatchObject({ src_ip: '192.0.2.50', user: 'Administrator', method: 'remote_interactive', failures: 6 });
  });

  it('account, group, audit policy, firewall and log-cleared events', () => {
    const r = replayWindowsEvents(td('account-changes.xml'), cfg());
    expect(r.problems).toEqual([]);
    expect(r.events.map((e) => `${e.type}/${e.severity}/${e.mitre}`)).toEqual([
      'account_created/medium/T1136.001',
      'account_enabled/low/T1098',
      'account_changed/low/T1098',
      'group_changed/high/T1098',
      'group_changed/high/T1098',
      'group_changed/medium/T1098',
      'account_locked/medium/T1110',
      'account_disabled/low/T1531',
      'account_deleted/medium/T1531',
      'audit_policy_changed/high/T1562.002',
      'firewall_rule_added/medium/T1562.004',
      'firewall_rule_modified/medium/T1562.004',
      'firewall_rule_deleted/medium/T1562.004',
      'firewall_reset/medium/T1562.004',
      'firewall_setting_changed/medium/T1562.004',
      'log_cleared/critical/T1070.001',
    ]);
    expect(r.events[0]!.evidence.user).toBe('CONTOSO\\eve');
    expect(r.events[5]!.evidence.group).toBe('Project & Team');
    expect(r.events.at(-1)!.evidence.user).toBe('CONTOSO\\mallory');
    expect(r.events[10]!.message).toContain('Allow 4444 inbound');
  });
});

describe('attacker-controlled fields never choose the address, user or severity', () => {
  // A 4625 as Windows writes it: everything the client sends (user name, domain, workstation)
  // arrives XML-escaped inside its own <Data>; IpAddress is what the server saw.
  const failed = (i: number, user: string, workstation: string) =>
    `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>4625</EventID><TimeCreated SystemTime="2024-11-27T03:00:0${i}Z" /><EventRecordID>${500 + i}</EventRecordID></System><EventData><Data Name="TargetUserName">${user}</Data><Data Name="TargetDomainName">CONTOSO</Data><Data Name="LogonType">3</Data><Data Name="WorkstationName">${workstation}</Data><Data Name="IpAddress">203.0.113.9</Data><Data Name="IpPort">4444</Data></EventData></Event>`;
  const run = (user: string, workstation = 'PC') => replayWindowsEvents([0, 1, 2, 3, 4].map((i) => failed(i, user, workstation)).join('\r\n'), cfg());

  it('shape: user name holding an escaped <Data Name="IpAddress"> element', () => {
    const r = run('x&lt;/Data&gt;&lt;Data Name=&quot;IpAddress&quot;&gt;6.6.6.6');
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({
      type: 'brute_force',
      severity: 'high',
      evidence: { src_ip: '203.0.113.9', users: 'x</Data><Data Name="IpAddress">6.6.6.6' },
    });
  });

  it('shape: workstation name holding an address', () => {
    const r = run('admin', '6.6.6.6');
    expect(r.records.map((x) => x.src)).toEqual(Array(5).fill('203.0.113.9'));
    expect(r.events[0]!.evidence.src_ip).toBe('203.0.113.9');
  });

  it('shape: user name holding a severity word or an event type', () => {
    const r = run('critical brute_force_success');
    expect(r.events.map((e) => `${e.type}/${e.severity}`)).toEqual(['brute_force/high']);
  });
});

describe('gather with wevtutil', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'canh-wevt-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const ok = (stdout: string): ExecResult => ({ code: 0, signal: null, stdout, stderr: '', timedOut: false });

  it('command lines', () => {
    expect(queryArgs('Security', 1234, 500)).toEqual(['qe', 'Security', '/q:*[System[(EventRecordID>1234)]]', '/f:xml', '/rd:false', '/c:500']);
    expect(newestArgs('Security')).toEqual(['qe', 'Security', '/rd:true', '/f:xml', '/c:1']);
  });

  it('first run places the bookmark at the newest event; later runs read after it, never twice', async () => {
    const calls: string[][] = [];
    const brute = td('rdp-brute-force.xml');
    const all = parseEventStream(brute).events.length;
    const ctx = testContext(dir, {
      exec: async (_cmd, args) => {
        calls.push([...args]);
        if (args.includes('/rd:true')) return ok(brute.split('\r\n')[0]!.replace('<EventRecordID>1000<', '<EventRecordID>999<'));
        const after = Number(/EventRecordID>(\d+)/.exec(args[2]!)![1]);
        return ok(
          brute
            .split('\r\n')
            .filter((l) => Number(/<EventRecordID>(\d+)</.exec(l)?.[1]) > after)
            .slice(0, 4)
            .join('\r\n'),
        );
      },
    });
    const points: unknown[] = [];
    const events: string[] = [];
    const acc = { addPoint: (_n: string, _t: object, f: object) => points.push(f), addEvent: (e: { type: string }) => events.push(e.type) };
    const input = def.create(cfg({ batch: 4 }), ctx);
    await input.gather!(acc);
    expect(events).toEqual([]);
    expect(points.at(-1)).toMatchObject({ result: 'ok', records_read: 0, last_record_id: 999 });
    await input.gather!(acc);
    expect(calls.slice(1).map((a) => a[2])).toEqual([
      '/q:*[System[(EventRecordID>999)]]',
      '/q:*[System[(EventRecordID>1003)]]',
      '/q:*[System[(EventRecordID>1007)]]',
    ]);
    expect(points.at(-1)).toMatchObject({ result: 'ok', records_read: all, last_record_id: 1008 });
    expect(events.slice(0, 2)).toEqual(['brute_force', 'brute_force_success']);
    // A new agent instance resumes from the saved bookmark.
    calls.length = 0;
    await def.create(cfg({ batch: 4 }), ctx).gather!(acc);
    expect(calls.map((a) => a[2])).toEqual(['/q:*[System[(EventRecordID>1008)]]']);
  });

  it('wevtutil missing, access denied, timeout, failure and garbage are results, not throws', async () => {
    const cases: [ExecResult, string][] = [
      [{ code: null, signal: null, stdout: '', stderr: 'spawn wevtutil ENOENT', timedOut: false }, 'wevtutil_missing'],
      [{ code: 5, signal: null, stdout: '', stderr: 'Failed to read events. Access is denied.', timedOut: false }, 'access_denied'],
      [{ code: null, signal: 'SIGKILL', stdout: '', stderr: '', timedOut: true }, 'timeout'],
      [{ code: 15007, signal: null, stdout: '', stderr: 'Failed to query log. The specified channel could not be found.', timedOut: false }, 'wevtutil_failed'],
      [ok('\u0000\u0001 not xml at all <<<'), 'bad_output'],
    ];
    for (const [res, want] of cases) {
      const points: Record<string, unknown>[] = [];
      const ctx = testContext(dir, { exec: async () => res });
      const input = def.create(cfg({ from_beginning: true }), ctx);
      await expect(input.gather!({ addPoint: (_n, _t, f) => points.push(f), addEvent: () => {} })).resolves.toBeUndefined();
      expect(points[0]!.result, want).toBe(want);
    }
    expect(classifyExec(ok(''))).toBe('ok');
  });
});

it('README example parses with the detector schema', () => {
  expect(readmeExample(here, def)).toBeTruthy();
});
