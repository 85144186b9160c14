// Acknowledgement through its three doors — the status page's button (a real HTTP server
// with login), the admin API and `canh-collector alert ack` — each stored with who and when
// and recorded by the engine as an `alert` point with state "acknowledged" on the alert's
// own series (what the monthly report counts as handled). Injected clock.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { batch, disk, hanoi, harness, hue, MIN, type Harness } from './test-kit.ts';
import { StatusPage } from '../status/index.ts';
import { SqliteRegistry } from '../registry/sqlite.ts';
import { alertCommand } from '../commands/alert.ts';
import { handleAlertApi } from './http.ts';
import { pino } from 'pino';

let h: Harness | undefined;
let server: Server | undefined;
let registry: SqliteRegistry | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  registry?.close();
  await h?.stop();
  h = undefined;
});

const ADMIN = 'ack-test-admin-token';

describe('acknowledging a firing alert', () => {
  it('by the status page button, the API and the CLI: who and when stored, recorded in InfluxDB', async () => {
    h = harness({ admin_token: { value: ADMIN }, timezone: 'Asia/Ho_Chi_Minh' });
    await h.advance(8 * MIN, (t) => {
      h!.engine.onBatch(hanoi, batch([disk(t, '/data', 96), disk(t, '/var', 97)]));
      h!.engine.onBatch(hue, batch([disk(t, '/data', 96)]));
    });
    const firing = h.engine.statusAlerts();
    expect(firing).toHaveLength(3);
    expect(firing.every((a) => a.ack === undefined)).toBe(true);

    registry = new SqliteRegistry(join(h.dir, 'registry.db'));
    const engine = h.engine;
    const page = new StatusPage(
      { users: [{ name: 'Trần Thị Bình', password: 'mật-khẩu' }], sessionTtlMs: 3_600_000, language: 'vi', timeZone: 'Asia/Ho_Chi_Minh' },
      registry,
      {
        connected: () => new Set(),
        influx: async () => ({ up: true, queued: 0, spooled: 0, lastError: null }),
        alerts: () => engine.statusAlerts(),
        acknowledge: (id, by, comment) => engine.acknowledge(id, by, comment),
      },
    );
    server = createServer((req, res) => {
      void (async () => {
        if (await handleAlertApi(req, res, { engine, adminToken: engine.adminToken, log: pino({ level: 'silent' }), now: () => engine.now() })) return;
        if (!(await page.handle(req, res))) res.writeHead(404).end();
      })();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    // 1. The status page: log in, press the button of the first alert.
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user: 'Trần Thị Bình', password: 'mật-khẩu', next: '/status' }),
    });
    expect(login.status).toBe(303);
    const session = /canh_session=([^;]+)/.exec(String(login.headers.get('set-cookie')))![1]!;
    const cookie = `canh_session=${session}`;
    const html = await (await fetch(`${base}/status`, { headers: { cookie } })).text();
    const forms = [
      ...html.matchAll(
        /<form class="ack" method="post" action="\/status\/ack"><input type="hidden" name="alert" value="(\d+)"><input type="hidden" name="token" value="([^"]+)">/g,
      ),
    ];
    expect(forms).toHaveLength(3);
    expect(html).toContain('<th>Xử lý</th>');
    const [, first, token] = forms[0]!;
    const post = (body: Record<string, string>) =>
      fetch(`${base}/status/ack`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
      });
    // A form without this session's token (another site's page) is refused.
    expect((await post({ alert: first!, token: 'forged', comment: '' })).status).toBe(403);
    // The name comes from the session, not from the form.
    const ok = await post({ alert: first!, token: token!, comment: 'đang thay ổ đĩa', by: 'someone-else' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/status#alerts');
    expect((await post({ alert: '99999', token: token!, comment: '' })).status).toBe(404);
    const after = await (await fetch(`${base}/status`, { headers: { cookie } })).text();
    expect(after).toMatch(/data-acked-by="Trần Thị Bình">Đã nhận xử lý: Trần Thị Bình, /);
    expect(after).toContain('đang thay ổ đĩa');
    expect([...after.matchAll(/<form class="ack"/g)]).toHaveLength(2);

    // 2. The admin API.
    const second = firing.find((a) => String(a.id) !== first)!.id;
    const api = (path: string, body: unknown, auth = ADMIN) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await api(`/api/v1/alerts/${second}/ack`, { by: 'soc' }, 'wrong')).status).toBe(401);
    const bad = await api(`/api/v1/alerts/${second}/ack`, { comment: 'no name' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'CANH_ERR_ACK_INVALID' });
    const res = await api(`/api/v1/alerts/${second}/ack`, { by: 'Nguyễn Văn An', comment: 'đã gọi nhà cung cấp' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ alert_id: second, by: 'Nguyễn Văn An' });
    expect((await api('/api/v1/alerts/424242/ack', { by: 'x' })).status).toBe(404);
    const listed = (await (await fetch(`${base}/api/v1/alerts`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
      alerts: { id: number; acknowledged: { by: string } | null }[];
    };
    expect(listed.alerts.find((a) => a.id === second)!.acknowledged).toMatchObject({ by: 'Nguyễn Văn An' });

    // 3. The command line, on the same collector.db.
    const third = firing.find((a) => String(a.id) !== first && a.id !== second)!.id;
    const file = join(h.dir, 'collector.yaml');
    writeFileSync(file, stringify({ state_dir: h.dir, alerting: { timezone: 'Asia/Ho_Chi_Minh' } }));
    const cli = async (...args: string[]) => {
      const out: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
      try {
        return { code: await alertCommand([...args, '--config', file], { now: h!.now }), out: out.join('') };
      } finally {
        process.stdout.write = write;
      }
    };
    expect((await cli('list')).out).toMatch(new RegExp(`\\n${third}\\tdisk_full\\t`));
    // In the config's language (Vietnamese unless status.language says otherwise), day first.
    expect((await cli('ack', String(third), '--author', 'Lê Văn Cường', '--comment', 'xoá nhật ký cũ')).out).toMatch(
      new RegExp(
        `^Cảnh báo ${third} \\(disk_full trên máy [\\w-]+\\) đã được Lê Văn Cường nhận xử lý lúc \\d\\d/\\d\\d/\\d{4} \\d\\d:\\d\\d \\(Asia/Ho_Chi_Minh\\)`,
      ),
    );
    await expect(cli('ack', '424242', '--author', 'x')).rejects.toThrow(expect.objectContaining({ code: 'CANH_ERR_ALERT_NOT_FOUND' }));
    await expect(cli('ack', 'web-01')).rejects.toThrow(expect.objectContaining({ code: 'CANH_ERR_CLI_USAGE' }));
    const list = JSON.parse((await cli('list', '--json')).out) as { id: number; acknowledged: { by: string } | null }[];
    expect(list.map((a) => a.acknowledged?.by ?? null).sort()).toEqual(['Lê Văn Cường', 'Nguyễn Văn An', 'Trần Thị Bình']);

    // The engine records all three at its next round, each on its alert's own series.
    await h.advance(10_000);
    await new Promise((r) => setTimeout(r, 10));
    const acks = h.lines.filter((l) => l.includes('state="acknowledged"'));
    expect(acks).toHaveLength(3);
    expect(acks.find((l) => l.includes('acknowledged_by="Trần Thị Bình"'))).toMatch(
      /^alert,agency=\S+,host=\S+,path=\/\S+,rule=disk_full,severity=\w+ .*ack_comment="đang thay ổ đĩa"/,
    );
    expect(h.engine.acks.pending()).toEqual([]);
    await h.advance(10_000);
    expect(h.lines.filter((l) => l.includes('state="acknowledged"'))).toHaveLength(3); // once each
  });
});
