// Proves the integration-test helpers against the real binaries: two influxd side by
// side, snmpd over v2c and v3 authPriv, and the SMTP server in each of its modes.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { startInfluxd, seriesRows, type Influxd } from './influxd.ts';
import { startSnmpd, snmpCli, SYS_UPTIME_OID, type Snmpd } from './snmpd.ts';
import { startSmtpServer, smtpDialog, type TestSmtpServer } from './smtp.ts';
import { freePort } from './ports.ts';
import { spawnManaged } from './process.ts';
import { startPostgres } from './postgres.ts';

describe('process', () => {
  it('captures output, waits for a line, and stops with SIGTERM then SIGKILL', async () => {
    // A shell that ignores SIGTERM, so stop() has to escalate.
    const p = spawnManaged('/bin/sh', ['-c', 'trap "" TERM; echo ready; echo oops >&2; while :; do sleep 0.05; done'], { name: 'stubborn' });
    await expect(p.waitForLine(/^ready$/)).resolves.toBe('ready');
    await p.waitForLine(/oops/);
    expect(p.tail()).toEqual(expect.arrayContaining(['ready', 'oops']));
    const exit = await p.stop(300);
    expect(exit.signal).toBe('SIGKILL');
    expect(await p.stop()).toEqual(exit); // idempotent
    await expect(p.waitForLine(/never/, 100)).rejects.toThrow(/exited before printing.*stubborn/s);
  });

  it('freePort hands out distinct ports', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort('udp')]);
    expect(new Set(ports).size).toBe(3);
  });
});

describe('influxd', () => {
  const started: Influxd[] = [];
  afterAll(async () => {
    await Promise.all(started.map((i) => i.stop()));
  });

  it('runs two instances at once on different ports, each with its own data', async () => {
    const [a, b] = await Promise.all([startInfluxd(), startInfluxd()]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    expect(a.rpcPort).not.toBe(b.rpcPort);

    for (const i of [a, b]) await i.createDatabase('x');
    const t = 1_700_000_000_123;
    const res = await fetch(`${a.url}/write?db=x&precision=ms`, { method: 'POST', body: `probe,host=a value=42i,ok=true ${t}` });
    expect(res.status).toBe(204);
    await b.write('x', [`probe,host=b value=7i ${t}`, `probe,host=b value=8i ${t + 1}`]);

    const rowsA = seriesRows(await a.query('SELECT * FROM probe', 'x'));
    expect(rowsA).toEqual([{ _measurement: 'probe', time: t, host: 'a', value: 42, ok: true }]);
    const rowsB = seriesRows(await b.query('SELECT value FROM probe GROUP BY host', 'x'));
    expect(rowsB).toEqual([
      { _measurement: 'probe', host: 'b', time: t, value: 7 },
      { _measurement: 'probe', host: 'b', time: t + 1, value: 8 },
    ]);
  });

  it('keeps data across kill -9 and restart, reports statement errors, and stop() is idempotent', async () => {
    const i = await startInfluxd();
    started.push(i);
    await i.createDatabase('y');
    await i.write('y', 'm v=1 1700000000000');
    await i.kill9();
    expect(i.process.running).toBe(false);
    await i.restart();
    expect(seriesRows(await i.query('SELECT v FROM m', 'y'))).toEqual([{ _measurement: 'm', time: 1_700_000_000_000, v: 1 }]);
    expect(() => seriesRows({ results: [{ statement_id: 0, error: 'database not found: nope' }] })).toThrow(/database not found/);
    await expect(i.query('SELECT nonsense FROM', 'y').then(seriesRows)).rejects.toThrow(/error/i);

    const dir = i.dir;
    await Promise.all([i.stop(), i.stop()]);
    expect(i.process.running).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await expect(fetch(`${i.url}/ping`)).rejects.toThrow();
  });

  it('fails with the process output when influxd cannot start', async () => {
    await expect(startInfluxd({ extraConfig: '[http]\nnot valid toml [[[' })).rejects.toThrow(/influxd .*(exited|code)/s);
  });
});

describe('snmpd', () => {
  let snmpd: Snmpd | undefined;
  afterAll(async () => {
    await snmpd?.stop();
  });

  it('answers a v2c get and a v3 authPriv get of sysUpTime, and refuses a wrong community', async () => {
    snmpd = await startSnmpd({ community: 'canh-secret' });
    const v2 = await snmpCli('snmpget', snmpd.target, { version: '2c', community: snmpd.community }, [SYS_UPTIME_OID]);
    expect(v2).toMatch(/^\.1\.3\.6\.1\.2\.1\.1\.3\.0 = Timeticks: \(\d+\)/);

    // Spelled out as the brief's reference command, not through snmpAuthArgs.
    const v3 = await snmpCli('snmpget', `127.0.0.1:${snmpd.port}`, { version: '3', ...snmpd.v3 }, [SYS_UPTIME_OID, '1.3.6.1.2.1.1.6.0']);
    expect(v3).toMatch(/^\.1\.3\.6\.1\.2\.1\.1\.3\.0 = Timeticks: \(\d+\)/m);
    expect(v3).toContain('STRING: "canh-test-lab"');

    await expect(
      snmpCli('snmpget', snmpd.target, { version: '3', ...snmpd.v3, privKey: 'wrong-priv-pass' }, [SYS_UPTIME_OID], { timeoutSec: 0.5, retries: 0 }),
    ).rejects.toThrow(/failed/);
    await expect(snmpCli('snmpget', snmpd.target, { version: '2c', community: 'public' }, [SYS_UPTIME_OID], { timeoutSec: 0.5, retries: 0 })).rejects.toThrow(
      /Timeout/,
    );

    const dir = snmpd.dir;
    await snmpd.stop();
    await snmpd.stop();
    expect(snmpd.process.exit?.signal ?? snmpd.process.exit?.code).toBeDefined();
    expect(existsSync(dir)).toBe(false);
  });
});

describe('smtp', () => {
  const servers: TestSmtpServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  const dialog = [
    'EHLO canh.test',
    'MAIL FROM:<alerts@canh.test>',
    'RCPT TO:<soc@agency.example>',
    'DATA',
    [
      'From: Canh <alerts@canh.test>',
      'To: soc@agency.example',
      'Subject: =?UTF-8?B?Q+G6o25oIGLDoW8=?=',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'host web-1 is down',
      '.',
    ].join('\r\n'),
    'QUIT',
  ];

  it('receives and parses a mail sent over a raw SMTP dialog', async () => {
    const smtp = await startSmtpServer();
    servers.push(smtp);
    const replies = await smtpDialog(smtp.port, dialog);
    expect(replies.map((r) => r.slice(0, 3))).toEqual(['220', '250', '250', '250', '354', '250', '221']);
    expect(replies[1]).not.toMatch(/STARTTLS/);
    const mail = await smtp.waitForMail((m) => m.envelope.to.includes('soc@agency.example'), 2_000);
    expect(mail.parsed.subject).toBe('Cảnh báo');
    expect(mail.parsed.text?.trim()).toBe('host web-1 is down');
    expect(mail.envelope.from).toBe('alerts@canh.test');
    expect(mail.secure).toBe(false);
    await expect(smtp.waitForMail((m) => m.parsed.subject === 'never', 100)).rejects.toThrow(/no matching mail.*received 1/s);
  });

  it('simulates outages: 421 on connect, 451 on MAIL FROM, 550 on RCPT TO, then recovers', async () => {
    const smtp = await startSmtpServer({ mode: 'refuse' });
    servers.push(smtp);
    const refused = await smtpDialog(smtp.port, dialog);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/^421 /);

    smtp.setMode('tempfail');
    const temp = await smtpDialog(smtp.port, ['EHLO canh.test', 'MAIL FROM:<alerts@canh.test>', 'QUIT']);
    expect(temp[2]).toMatch(/^451 /);

    smtp.mode = 'reject';
    const rej = await smtpDialog(smtp.port, ['EHLO canh.test', 'MAIL FROM:<alerts@canh.test>', 'RCPT TO:<soc@agency.example>', 'QUIT']);
    expect(rej[3]).toMatch(/^550 /);
    expect(smtp.failures).toBe(3);
    expect(smtp.mails).toHaveLength(0);

    smtp.setMode('accept');
    await smtpDialog(smtp.port, dialog);
    expect(smtp.mails).toHaveLength(1);
  });

  it('offers STARTTLS with a self-signed certificate and checks AUTH', async () => {
    const nodemailer = await import('nodemailer');
    const smtp = await startSmtpServer({ starttls: true, auth: { user: 'canh', pass: 's3cret' } });
    servers.push(smtp);
    const transport = (pass: string) =>
      nodemailer.createTransport({
        host: '127.0.0.1',
        port: smtp.port,
        secure: false,
        requireTLS: true,
        auth: { user: 'canh', pass },
        tls: { ca: smtp.certPem, servername: 'localhost' },
      });
    await transport('s3cret').sendMail({ from: 'alerts@canh.test', to: 'soc@agency.example', subject: 'tls', text: 'over tls' });
    const mail = await smtp.waitForMail((m) => m.parsed.subject === 'tls');
    expect(mail.secure).toBe(true);
    expect(mail.user).toBe('canh');
    await expect(transport('wrong').sendMail({ from: 'a@canh.test', to: 'b@canh.test', subject: 'x', text: 'x' })).rejects.toThrow(/535|Invalid login/i);
  });
});

describe('postgres', () => {
  it('runs a private cluster with a password, keeps data across a restart, and cleans up', async () => {
    const pg = await startPostgres();
    try {
      expect(pg.url).toMatch(/^postgres:\/\/canh@127\.0\.0\.1:\d+\/postgres$/);
      await pg.createDatabase('helper_check');
      await pg.query('CREATE TABLE t (v TEXT)', [], 'helper_check');
      await pg.query('INSERT INTO t VALUES ($1)', ['xin chào'], 'helper_check');
      // Our own cluster, in its temp dir (not a system one on the same machine).
      const [who] = await pg.query<{ u: string }>('SELECT current_setting($1) AS u', ['data_directory']);
      expect(who!.u.startsWith(pg.dir)).toBe(true);
      await pg.restart();
      expect(await pg.query('SELECT v FROM t', [], 'helper_check')).toEqual([{ v: 'xin chào' }]);
    } finally {
      await pg.stop();
    }
    expect(existsSync(pg.dir)).toBe(false);
  }, 90_000);
});
