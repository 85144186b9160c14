// What the status page is told, from a real alert engine (temp SQLite, hand-driven
// clock) and real batches: which firing alert a silence or an open maintenance window
// mutes, in words of both languages; and the portals, services and certificates board.
import { afterEach, describe, expect, it } from 'vitest';
import { batch, hanoi, hue, disk, harness, MIN, type Harness } from '../alerts/test-kit.ts';
import { alertingView } from './alerting.ts';
import { ServiceBoard } from './services.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('status page: alerting view', () => {
  it('marks an alert muted by a silence or an open maintenance window, with titles and summaries in both languages', async () => {
    const sunday2230 = Date.parse('2026-05-03T22:30:00+07:00');
    h = harness({ maintenance: [{ name: 'bảo trì tuần', agencies: ['so-tttt'], days: ['sun'], start: '22:00', end: '02:00' }] }, { start: sunday2230 });
    h.engine.store.addSilence({
      id: 's1',
      matchers: [{ name: 'host', op: '=', value: 'ws-ketoan-02' }],
      createdBy: 'An',
      comment: 'thay ổ đĩa',
      startsAt: sunday2230,
      endsAt: sunday2230 + 3_600_000,
      createdAt: sunday2230,
    });
    await h.advance(8 * MIN, (t) => {
      h!.engine.onBatch(hanoi, batch([disk(t, '/data', 96)]));
      h!.engine.onBatch(hue, batch([disk(t, '/data', 96)]));
    });
    const view = alertingView(h.engine, h.now());
    const byHost = new Map(view.alerts.map((a) => [a.host, a]));
    expect(byHost.get('mc-portal-01')).toMatchObject({
      rule: 'disk_full',
      title: { vi: 'Ổ đĩa sắp đầy', en: 'Disk almost full' },
      muted: { by: 'maintenance', note: 'bảo trì tuần' },
    });
    expect(byHost.get('mc-portal-01')!.summary.vi).toBe('/data đã dùng 96 % (ngưỡng > 90 %)');
    expect(byHost.get('ws-ketoan-02')).toMatchObject({ muted: { by: 'silence', note: 'thay ổ đĩa' } });
    expect(view.maintenance).toEqual([expect.objectContaining({ name: 'bảo trì tuần', open: true, timezone: 'Asia/Ho_Chi_Minh', agencies: ['so-tttt'] })]);
    // Monday 03:00: the window has closed, the alert is no longer muted by it.
    await h.advance(4 * 60 * MIN + 30 * MIN, (t) => h!.engine.onBatch(hanoi, batch([disk(t, '/data', 96)])));
    const later = alertingView(h.engine, h.now());
    expect(later.alerts.find((a) => a.host === 'mc-portal-01')!.muted).toBeUndefined();
    expect(later.maintenance[0]!.open).toBe(false);
  });
});

describe('status page: portals, services and certificates', () => {
  it('keeps the latest point of each target, up or down, and the chain certificate that expires first', () => {
    const board = new ServiceBoard();
    const t = Date.parse('2026-05-04T08:00:00+07:00');
    board.observe(
      hanoi,
      batch([
        {
          name: 'http_response',
          time: t,
          tags: { server: 'https://congthongtin.tinh.gov.vn/', status_code: '200', result: 'success' },
          fields: { result_code: 0, response_time: 0.125 },
          int: ['result_code'],
        },
        {
          name: 'net_response',
          time: t,
          tags: { server: 'mail.tinh.gov.vn', port: '25', protocol: 'tcp', result: 'connection_failed' },
          fields: { result_code: 2 },
          int: ['result_code'],
        },
        { name: 'x509_cert', time: t, tags: { source: 'https://congthongtin.tinh.gov.vn:443', common_name: 'leaf' }, fields: { expiry: 5 * 86_400 } },
        { name: 'x509_cert', time: t, tags: { source: 'https://congthongtin.tinh.gov.vn:443', common_name: 'root' }, fields: { expiry: 900 * 86_400 } },
      ]),
    );
    // A later check of the portal that fails replaces the first.
    board.observe(
      hanoi,
      batch([
        {
          name: 'http_response',
          time: t + 60_000,
          tags: { server: 'https://congthongtin.tinh.gov.vn/', result: 'connection_failed' },
          fields: { result_code: 3 },
          int: ['result_code'],
        },
      ]),
    );
    const rows = board.list();
    expect(rows.map((r) => [r.kind, r.target, r.up])).toEqual([
      ['portal', 'https://congthongtin.tinh.gov.vn/', false],
      ['service', 'mail.tinh.gov.vn:25', false],
      ['certificate', 'https://congthongtin.tinh.gov.vn:443', false],
    ]);
    expect(rows[0]).toMatchObject({ detail: 'connection_failed', host: 'mc-portal-01', agency: 'so-tttt', time: t + 60_000 });
    expect(rows[2]!.expirySeconds).toBe(5 * 86_400);
  });
});
