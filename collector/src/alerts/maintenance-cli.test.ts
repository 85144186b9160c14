// Maintenance windows added with `canh-collector maintenance add`: the same unambiguous
// dates as `silence add`, refused mistakes with a code, and the running engine holding
// back firing mails inside a window. Real SMTP, injected clock.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startSmtpServer, type TestSmtpServer } from '../../../test/helpers/smtp.ts';
import { batch, disk, hanoi, harness, hue, MIN, smtpSection, type Harness } from './test-kit.ts';
import { maintenanceCommand } from '../commands/maintenance.ts';
import { createMaintenance, storedOpen } from './maintenance-store.ts';

let smtp: TestSmtpServer;
let h: Harness | undefined;

beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp.stop());
afterEach(async () => {
  await h?.stop();
  h = undefined;
  smtp.mails.length = 0;
});

const TZ = 'Asia/Ho_Chi_Minh';
const subjects = () => smtp.mails.map((m) => m.parsed.subject);

describe('createMaintenance', () => {
  const now = Date.parse('2026-12-07T08:00:00+07:00');
  const base = { name: 'thay UPS', agencies: ['so-tttt'], createdBy: 'an', comment: 'phiếu 12' };
  const known = new Set(['agency', 'host', 'rule', 'severity', 'site']);
  it('reads dd/mm/yyyy day first in the alerting zone, never month first', () => {
    const w = createMaintenance({ ...base, from: '01/12/2027 06:00', until: '2027-12-01 08:00' }, now, known, TZ);
    expect(new Date(w.once!.from).toISOString()).toBe('2027-11-30T23:00:00.000Z');
    expect(new Date(w.once!.until).toISOString()).toBe('2027-12-01T01:00:00.000Z');
    expect(() => createMaintenance({ ...base, from: '12/13/2027 06:00', until: '2027-12-14 08:00' }, now, known, TZ)).toThrow(
      expect.objectContaining({ code: 'CANH_ERR_MAINTENANCE_INVALID' }),
    );
    expect(() => createMaintenance({ ...base, from: 'Dec 1 2027', until: '2027-12-14 08:00' }, now, known, TZ)).toThrow(/day first/);
  });
  it('refuses a window over everything, a typo in a label, both kinds at once, bad times', () => {
    const bad = (input: object) => () => createMaintenance({ ...base, ...input }, now, known, TZ);
    expect(bad({ agencies: [], matchers: [], start: '22:00', end: '02:00' })).toThrow(/every alert/);
    expect(bad({ matchers: ['hots=db01'], start: '22:00', end: '02:00' })).toThrow(/did you mean host\?/);
    expect(bad({ from: '2027-01-01 00:00', until: '2027-01-02 00:00', start: '22:00', end: '02:00' })).toThrow(/either/);
    expect(bad({ start: '25:00', end: '02:00' })).toThrow(/--start/);
    expect(bad({ start: '22:00', end: '02:00', days: 'sun,funday' })).toThrow(/"funday" is not a day/);
    expect(bad({ from: '2026-12-01 00:00', until: '2026-12-02 00:00' })).toThrow(/in the past/);
    expect(bad({ comment: ' ', start: '22:00', end: '02:00' })).toThrow(/--comment/);
  });
  it('a weekly window opens in its own zone across midnight', () => {
    const w = createMaintenance({ ...base, days: 'sun', start: '22:00', end: '02:00' }, now, known, TZ);
    expect(storedOpen(w, Date.parse('2026-12-13T23:30:00+07:00'), TZ)).toBe(true); // Sunday
    expect(storedOpen(w, Date.parse('2026-12-14T01:59:00+07:00'), TZ)).toBe(true); // Monday morning
    expect(storedOpen(w, Date.parse('2026-12-14T02:00:00+07:00'), TZ)).toBe(false);
    expect(storedOpen(w, Date.parse('2026-12-12T23:30:00+07:00'), TZ)).toBe(false); // Saturday
  });
});

describe('canh-collector maintenance add|list|remove with a running engine', () => {
  it('no firing mail inside a one-off window from the CLI; mailed once it is removed', async () => {
    const start = Date.parse('2026-12-07T21:50:00+07:00');
    h = harness(
      {
        recipients: [{ email: 'soc@tinh.gov.vn', language: 'vi', min_severity: 'low' }],
        smtp: smtpSection(smtp),
        grouping: { group_wait: '30s', group_interval: '2m' },
      },
      { start },
    );
    const file = join(h.dir, 'collector.yaml');
    writeFileSync(file, stringify({ state_dir: h.dir, alerting: { timezone: TZ } }));
    const run = (...args: string[]) => {
      const out: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
      try {
        return { code: maintenanceCommand([...args, '--config', file], { now: h!.now }), out: out.join('') };
      } finally {
        process.stdout.write = write;
      }
    };
    const add = run(
      'add',
      '--name',
      'thay UPS',
      '--agency',
      'so-tttt',
      '--from',
      '07/12/2026 22:00',
      '--until',
      '08/12/2026 02:00',
      '--comment',
      'phiếu 12',
      '--author',
      'Trần Thị Bình',
      '--json',
    );
    expect(add.code).toBe(0);
    const w = JSON.parse(add.out) as { id: string; when: string; open: boolean };
    expect(w.when).toBe('2026-12-07 22:00 (Asia/Ho_Chi_Minh) – 2026-12-08 02:00 (Asia/Ho_Chi_Minh)');
    expect(w.open).toBe(false);
    expect(() => run('add', '--name', 'x', 'hots=db01', '--start', '22:00', '--end', '02:00', '--comment', 'c', '--author', 'a')).toThrow(
      expect.objectContaining({ code: 'CANH_ERR_MAINTENANCE_INVALID' }),
    );

    const feed = (t: number) => {
      if (t >= Date.parse('2026-12-07T22:05:00+07:00')) {
        h!.engine.onBatch(hanoi, batch([disk(t, '/data', 96)]));
        h!.engine.onBatch(hue, batch([disk(t, '/data', 96)]));
      }
    };
    await h.advance(60 * MIN, feed); // 22:50
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — ws-ketoan-02 — so-yte']); // so-tttt is in maintenance
    expect(run('list').out).toContain('thay UPS');
    expect(run('list').out).toMatch(new RegExp(`${w.id}\\tyes\\tthay UPS`));
    expect(() => run('remove', 'no-such-window')).toThrow(expect.objectContaining({ code: 'CANH_ERR_MAINTENANCE_NOT_FOUND' }));
    expect(run('remove', w.id.slice(0, 8)).out).toContain(`maintenance window ${w.id} ("thay UPS") removed`);
    await h.advance(3 * MIN, feed);
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — ws-ketoan-02 — so-yte', '[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — mc-portal-01 — so-tttt']);
  });
});
