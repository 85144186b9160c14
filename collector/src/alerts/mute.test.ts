// What keeps a firing alert from being mailed: inhibition by a root cause, silences
// (HTTP API and CLI) and recurring maintenance windows. Real SMTP, injected clock.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startSmtpServer, type TestSmtpServer } from '../../../test/helpers/smtp.ts';
import { batch, disk, hanoi, harness, hue, MIN, ping, SEC, smtpSection, T0, type Harness } from './test-kit.ts';
import { silenceCommand } from './cli.ts';
import { handleAlertApi } from './http.ts';
import { pino } from 'pino';

const quiet = pino({ level: 'silent' });

let smtp: TestSmtpServer;
let h: Harness | undefined;
let api: Server | undefined;

beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp.stop());
afterEach(async () => {
  await new Promise((r) => (api ? api.close(r) : r(undefined)));
  api = undefined;
  await h?.stop();
  h = undefined;
  smtp.mails.length = 0;
});

const ADMIN = 'admin-token-0123456789abcdef';

function start(extra: Record<string, unknown> = {}, at = T0): Harness {
  h = harness(
    {
      admin_token: { value: ADMIN },
      recipients: [{ email: 'soc@tinh.gov.vn', language: 'vi', min_severity: 'low' }],
      smtp: smtpSection(smtp),
      grouping: { group_wait: '30s', group_interval: '2m' },
      ...extra,
    },
    { start: at },
  );
  return h;
}

const subjects = () => smtp.mails.map((m) => m.parsed.subject);

describe('inhibition', () => {
  it('an agency agent offline holds back the host alerts behind it; only the root cause is mailed', async () => {
    const h = start(); // default rules: agent_offline (2m) and host_unreachable (2m)
    h.engine.onAgentState(hue, true, T0 - 10 * MIN);
    // The agency's agent sees its LAN printer and NAS stop answering, then drops off itself.
    h.engine.onBatch(hue, batch([ping(T0, '192.168.1.20', 100), ping(T0, '192.168.1.30', 100)]));
    await h.advance(30 * SEC, (t) => h.engine.onBatch(hue, batch([ping(t, '192.168.1.20', 100), ping(t, '192.168.1.30', 100)])));
    h.engine.onAgentState(hue, false, h.now());
    await h.advance(4 * MIN);
    const firing = [...h.engine.tracker.alerts.values()]
      .filter((a) => a.state === 'firing')
      .map((a) => a.rule)
      .sort();
    expect(firing).toEqual(['agent_offline', 'host_unreachable', 'host_unreachable']);
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Mất kết nối với tác tử — ws-ketoan-02 — so-yte']);
    expect(smtp.mails[0]!.parsed.text).toContain('Máy chủ: ws-ketoan-02');

    // Back online: the root cause resolves, the LAN answers again within the grace.
    h.engine.onAgentState(hue, true, h.now());
    await h.advance(30 * SEC, (t) => h.engine.onBatch(hue, batch([ping(t, '192.168.1.20', 0), ping(t, '192.168.1.30', 0)])));
    await h.advance(5 * MIN, (t) => h.engine.onBatch(hue, batch([ping(t, '192.168.1.20', 0), ping(t, '192.168.1.30', 0)])));
    expect(subjects()).toEqual([
      '[FIRING:1] Cảnh báo: Mất kết nối với tác tử — ws-ketoan-02 — so-yte',
      '[RESOLVED] Đã khắc phục: Mất kết nối với tác tử — ws-ketoan-02 — so-yte',
    ]);
  });

  it("an agency's uplink down (probed from the data center) is the one alert for that agency", async () => {
    const h = start({ agencies: { 'so-yte': 'Sở Y tế' } });
    const probe = { host: 'dc-probe-01', agency: 'trung-tam-du-lieu', site: 'dc' };
    const uplink = (t: number) => ({
      name: 'ping',
      time: t,
      tags: { url: '203.0.113.1', role: 'uplink', target_agency: 'so-yte' },
      fields: { percent_packet_loss: 100 },
    });
    h.engine.onAgentState(hue, true, T0 - 10 * MIN);
    h.engine.onBatch(probe, batch([uplink(T0)]));
    h.engine.onAgentState(hue, false, T0 + 20 * SEC);
    await h.advance(5 * MIN, (t) => h.engine.onBatch(probe, batch([uplink(t)])));
    const firing = [...h.engine.tracker.alerts.values()]
      .filter((a) => a.state === 'firing')
      .map((a) => `${a.rule}@${a.labels.agency}`)
      .sort();
    // The probe's ping also trips host_unreachable; it and agent_offline are held back.
    expect(firing).toEqual(['agent_offline@so-yte', 'host_unreachable@so-yte', 'uplink_down@so-yte']);
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Mất đường truyền của cơ quan — Sở Y tế']);
    const text = smtp.mails[0]!.parsed.text!;
    expect(text).toContain('Không ping được 203.0.113.1 (mất 100 % gói tin)');
    expect(text).toContain('Đo từ: dc-probe-01 (trung-tam-du-lieu)');
  });
});

async function call(method: string, path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: Record<string, unknown> }> {
  const port = (api!.address() as { port: number }).port;
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('silences', () => {
  it('HTTP API: bearer admin token, validation, add/list/expire; a silence holds back firing mail until it ends', async () => {
    const h = start();
    api = createServer(
      (req, res) =>
        void Promise.resolve(handleAlertApi(req, res, { engine: h.engine, adminToken: h.engine.adminToken, log: quiet, now: () => h.engine.now() })).then(
          (done) => done || res.writeHead(404).end(),
        ),
    );
    await new Promise<void>((r) => api!.listen(0, '127.0.0.1', r));

    expect((await call('GET', '/api/v1/silences', undefined, 'wrong-token')).status).toBe(401);
    const bad = await call('POST', '/api/v1/silences', { matchers: ['host=~.*'], created_by: 'an', comment: 'x', duration: '1h' });
    expect(bad).toMatchObject({ status: 400, json: { code: 'CANH_ERR_SILENCE_INVALID' } });
    expect(String(bad.json.error)).toContain('every alert');
    expect((await call('POST', '/api/v1/silences', { matchers: ['host=mc-portal-01'], created_by: 'an', duration: '1h' })).json.error).toContain('comment');

    const created = await call('POST', '/api/v1/silences', {
      matchers: ['host=mc-portal-01', 'rule=~"disk_.*"'],
      created_by: 'Nguyễn Văn An',
      comment: 'Thay ổ cứng',
      duration: '1h',
    });
    expect(created).toMatchObject({ status: 201, json: { matchers: ['host=mc-portal-01', 'rule=~"disk_.*"'], created_by: 'Nguyễn Văn An', state: 'active' } });
    expect((await call('GET', '/api/v1/silences')).json.silences).toHaveLength(1);

    await h.advance(6 * MIN, (t) => h.engine.onBatch(hanoi, batch([disk(t, '/var', 97)])));
    expect(smtp.mails).toHaveLength(0);
    const alerts = (await call('GET', '/api/v1/alerts')).json.alerts as { rule: string; muted: { kind: string } | null }[];
    expect(alerts).toMatchObject([{ rule: 'disk_full', muted: { kind: 'silence', by: created.json.id } }]);

    expect((await call('DELETE', `/api/v1/silences/${String(created.json.id)}`)).json.state).toBe('expired');
    expect((await call('DELETE', '/api/v1/silences/nope')).status).toBe(404);
    expect((await call('GET', '/api/v1/silences')).json.silences).toHaveLength(0);
    expect((await call('GET', '/api/v1/silences?state=all')).json.silences).toHaveLength(1);
    await h.advance(2 * MIN, (t) => h.engine.onBatch(hanoi, batch([disk(t, '/var', 97)])));
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — mc-portal-01 — so-tttt']);
  });

  it('the API is off without an admin token', async () => {
    const h = start({ admin_token: undefined });
    api = createServer(
      (req, res) =>
        void Promise.resolve(handleAlertApi(req, res, { engine: h.engine, adminToken: h.engine.adminToken, log: quiet, now: () => h.engine.now() })).then(
          (done) => done || res.writeHead(404).end(),
        ),
    );
    await new Promise<void>((r) => api!.listen(0, '127.0.0.1', r));
    expect(await call('GET', '/api/v1/silences')).toMatchObject({ status: 403, json: { code: 'CANH_ERR_API_DISABLED' } });
  });

  it('CLI: canh-collector silence add|list|expire, seen by the running engine', async () => {
    const h = start();
    const file = join(h.dir, 'collector.yaml');
    writeFileSync(file, stringify({ state_dir: h.dir }));
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
      try {
        const code = await silenceCommand([...args, '--config', file], { now: h.now });
        return { code, out: out.join('') };
      } finally {
        process.stdout.write = write;
      }
    };
    const add = await run('add', 'agency=so-yte', '--duration', '2h', '--comment', 'Bảo trì mạng LAN', '--author', 'Trần Thị Bình', '--json');
    expect(add.code).toBe(0);
    const s = JSON.parse(add.out) as { id: string; matchers: string[]; state: string };
    expect(s).toMatchObject({ matchers: ['agency=so-yte'], state: 'active' });
    await expect(run('add', 'agency=so-yte', '--duration', '2h')).rejects.toMatchObject({
      code: 'CANH_ERR_SILENCE_INVALID',
      message: expect.stringContaining('comment'),
    });
    // A typo in a label silences nothing: refused with the label meant; --force takes it anyway.
    await expect(run('add', 'hots=vm', '--duration', '2h', '--comment', 'x', '--author', 'y')).rejects.toMatchObject({
      code: 'CANH_ERR_SILENCE_INVALID',
      message: expect.stringContaining('did you mean host?'),
    });
    expect((await run('add', 'hots=vm', '--duration', '2h', '--comment', 'x', '--author', 'y', '--force')).code).toBe(0);

    await h.advance(6 * MIN, (t) => {
      h.engine.onBatch(hue, batch([disk(t, '/', 99)]));
      h.engine.onBatch(hanoi, batch([disk(t, '/', 99)]));
    });
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — mc-portal-01 — so-tttt']); // so-yte silenced
    const list = await run('list');
    expect(list.out).toContain(s.id);
    expect(list.out).toContain('Bảo trì mạng LAN');
    expect((await run('expire', s.id.slice(0, 8), '--lang', 'en')).out).toContain(`silence ${s.id} expired`);
    await h.advance(2 * MIN, (t) => h.engine.onBatch(hue, batch([disk(t, '/', 99)])));
    expect(subjects()).toContain('[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — ws-ketoan-02 — so-yte');
  });
});

describe('maintenance windows', () => {
  it('every Sunday 22:00–02:00 Asia/Ho_Chi_Minh for one agency: no firing mail inside, mailed once it closes', async () => {
    const sunday2150 = Date.parse('2026-05-03T21:50:00+07:00');
    const h = start(
      {
        maintenance: [{ name: 'bảo trì tuần', agencies: ['so-tttt'], days: ['sun'], start: '22:00', end: '02:00', timezone: 'Asia/Ho_Chi_Minh' }],
        grouping: { group_wait: '30s', group_interval: '5m' },
      },
      sunday2150,
    );
    const feed = (t: number) => {
      if (t >= Date.parse('2026-05-03T22:05:00+07:00')) {
        h.engine.onBatch(hanoi, batch([disk(t, '/data', 96)]));
        h.engine.onBatch(hue, batch([disk(t, '/data', 96)]));
      }
    };
    await h.advance(3 * 60 * MIN, feed); // until 00:50 Monday
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — ws-ketoan-02 — so-yte']); // not covered by the window
    await h.advance(60 * MIN + 9 * MIN, feed); // 01:59
    expect(subjects()).toHaveLength(1);
    await h.advance(6 * MIN, feed); // window closed at 02:00; next group flush mails it
    expect(subjects()).toEqual(['[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — ws-ketoan-02 — so-yte', '[FIRING:1] Cảnh báo: Ổ đĩa sắp đầy — mc-portal-01 — so-tttt']);
    const text = smtp.mails[1]!.parsed.text!;
    expect(text).toContain('Bắt đầu lúc: 22:05:00 ngày 03/05/2026 (GMT+7)');
  });
});
