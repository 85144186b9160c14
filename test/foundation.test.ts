// Foundation end to end: real influxd, the collector, agents with real host inputs.
// What reaches InfluxDB carries the registry's identity; bad clients are refused
// without disturbing good ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { encode, CloseCode, PROTOCOL_VERSION, RowsWriter, type Point } from '@canh/protocol';
import { startPipeline, type Pipeline } from './helpers/pipeline.ts';

const HOST_INPUTS = ['cpu', 'mem', 'swap', 'disk', 'diskio', 'kernel', 'processes', 'system', 'net'];

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
}, 60_000);
afterAll(async () => {
  await p?.stop();
});

/** Open a raw protocol connection; resolves with the socket once welcomed, or the refusal. */
function connect(url: string, token: string | undefined): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.once('open', () =>
      ws.send(encode({ type: 'hello', protocol: PROTOCOL_VERSION, agent_version: 'raw', hostname: 'raw', os: 'test', spool_batches: 0, dropped_points: 0 })),
    );
    ws.once('message', () => resolve({ ws }));
    ws.once('error', (err) => reject(err));
  });
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe('agents → collector → InfluxDB', () => {
  it('stores every host input of two agents with the registry tags, not the claimed ones', async () => {
    const inputs = HOST_INPUTS.map((type) => (type === 'net' ? { type, interfaces: ['*'] } : { type }));
    // The second agent claims another identity in its tags; the registry must win.
    await p.addAgent({ name: 'mc-portal-01', agency: 'so-tttt', site: 'dc-tinh', inputs });
    await p.addAgent({
      name: 'ubnd-fs-02',
      agency: 'ubnd-tinh',
      site: 'tru-so',
      inputs: inputs.map((i) => ({ ...i, tags: { host: 'mc-portal-01', agency: 'so-tttt', site: 'forged' } })),
    });
    const rows = await p.waitFor(
      'SELECT count(*) FROM cpu, mem, swap, disk, diskio, kernel, processes, system, net GROUP BY host, agency, site',
      (r) => {
        const seen = new Set(r.map((x) => `${String(x._measurement)}|${String(x.host)}`));
        return HOST_INPUTS.every((m) => seen.has(`${m}|mc-portal-01`) && seen.has(`${m}|ubnd-fs-02`));
      },
      30_000,
    );
    const combos = new Set(rows.map((r) => `${String(r.host)}|${String(r.agency)}|${String(r.site)}`));
    expect([...combos].sort()).toEqual(['mc-portal-01|so-tttt|dc-tinh', 'ubnd-fs-02|ubnd-tinh|tru-so']);
    const forged = await p.query(`SELECT count(*) FROM cpu WHERE site = 'forged'`);
    expect(forged).toEqual([]);
    const online = await p.waitFor(`SELECT last(online) FROM agent GROUP BY host`, (r) => r.length === 2);
    expect(online.map((r) => r.last)).toEqual([1, 1]);
  });

  it("reports an empty spool while the collector acks: the agent's own point comes after the tick has read the last ack", async () => {
    // The agents read acks at their ticks (readAtTicks); a point taken before that read
    // would say 1 batch waiting at every tick.
    const rows = await p.waitFor(
      `SELECT count(spool_batches) AS n FROM agent WHERE host = 'mc-portal-01' AND rss_bytes > 0 AND spool_batches = 0`,
      (r) => Number(r[0]?.n ?? 0) >= 5,
      20_000,
    );
    const all = await p.query(`SELECT count(spool_batches) AS n FROM agent WHERE host = 'mc-portal-01' AND rss_bytes > 0`);
    expect(Number(rows[0]!.n)).toBeGreaterThan(Number(all[0]!.n) / 2);
  }, 30_000);

  it('refuses a wrong, a revoked and a missing token with HTTP 401', async () => {
    const { token } = p.collector.registry.add({ name: 'to-revoke', agency: 'a', site: 's' });
    expect((await connect(p.url, 'canh_wrong')).status).toBe(401);
    expect((await connect(p.url, undefined)).status).toBe(401);
    const ok = await connect(p.url, token);
    expect(ok.ws).toBeDefined();
    const gone = closed(ok.ws!);
    p.collector.registry.revoke('to-revoke');
    expect((await connect(p.url, token)).status).toBe(401);
    // The live connection of a revoked agent is cut with UNAUTHORIZED.
    expect((await gone).code).toBe(CloseCode.UNAUTHORIZED);
  }, 20_000);

  it('a malformed or oversized message closes only that connection; the others keep flowing', async () => {
    const { token: t1 } = p.collector.registry.add({ name: 'bad-json', agency: 'a', site: 's' });
    const { token: t2 } = p.collector.registry.add({ name: 'too-big', agency: 'a', site: 's' });
    const { token: t3 } = p.collector.registry.add({ name: 'bad-shape', agency: 'a', site: 's' });
    const a = (await connect(p.url, t1)).ws!;
    const b = (await connect(p.url, t2)).ws!;
    const c = (await connect(p.url, t3)).ws!;
    const [ca, cb, cc] = [closed(a), closed(b), closed(c)];
    a.send('{"type":"batch", not json');
    b.send('x'.repeat(p.config.limits.max_message_bytes + 10));
    c.send(encode({ type: 'batch', seq: 1, points: [{ name: 'cpu', time: 1, tags: {}, fields: {} }], events: [] }));
    expect(await ca).toEqual({ code: CloseCode.INVALID_MESSAGE, reason: 'frame is not valid JSON' });
    expect((await cb).code).toBe(CloseCode.MESSAGE_TOO_LARGE);
    expect(await cc).toEqual({ code: CloseCode.INVALID_MESSAGE, reason: 'points[0].fields: a point needs at least one field' });
    // The agents from the first test are still writing.
    const since = Date.now();
    await p.waitFor(`SELECT count(*) FROM agent WHERE time > ${since}ms GROUP BY host`, (r) => r.length >= 2, 15_000);
  }, 30_000);

  it('escapes hostile values: nothing injected, stored exactly as sent', async () => {
    const { token } = p.collector.registry.add({ name: 'hostile', agency: 'a', site: 's' });
    const ws = (await connect(p.url, token)).ws!;
    const nasty = 'root" injected=1i\nmem,host=x used_percent=99 1\\ ,=';
    const acked = new Promise((r) => ws.once('message', r));
    ws.send(encode({ type: 'batch', seq: 7, points: [{ name: 'probe', time: Date.now(), tags: { user: nasty }, fields: { msg: nasty, n: 1 } }], events: [] }));
    expect(JSON.parse(String(await acked))).toEqual({ type: 'ack', seq: 7 });
    const rows = await p.query(`SELECT * FROM probe`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.msg).toBe(nasty);
    // Newlines become spaces in tags; the backslash before " ," has no faithful tag form.
    expect(rows[0]!.user).toBe('root" injected=1i mem,host=x used_percent=99 1 ,=');
    expect(await p.query(`SELECT * FROM mem WHERE host = 'x'`)).toEqual([]);
    ws.close();
  });

  it('a batch in the rows spelling is stored exactly as the same points spelled as objects', async () => {
    const { token } = p.collector.registry.add({ name: 'rows-agent', agency: 'a', site: 's' });
    const ws = (await connect(p.url, token)).ws!;
    const t0 = Date.now() - 60_000;
    const nasty = 'say "hi"\\ x=1i\nnext';
    const sample = (m: string, k: number): Point[] => [
      { name: m, time: t0 + k, tags: { iface: 'eth 0,a=b' }, fields: { rx: 1000 + k, rate: k / 3, up: k % 2 === 0, note: nasty }, int: ['rx'] },
      { name: m, time: t0 + k, tags: { iface: 'lo' }, fields: { rx: k, rate: 0.5 }, int: ['rx'] },
    ];
    const asPoints = Array.from({ length: 5 }, (_, k) => sample('spell_points', k)).flat();
    const w = new RowsWriter();
    for (let k = 0; k < 5; k++) for (const pt of sample('spell_rows', k)) w.add(pt);
    const acks: unknown[] = [];
    const both = new Promise<void>((resolve) =>
      ws.on('message', (m) => {
        acks.push(JSON.parse(String(m)));
        if (acks.length === 2) resolve();
      }),
    );
    ws.send(encode({ type: 'batch', seq: 1, points: asPoints, events: [] }));
    ws.send(`{"type":"batch","seq":2,${w.json()},"events":[]}`);
    await both;
    expect(acks).toEqual([
      { type: 'ack', seq: 1 },
      { type: 'ack', seq: 2 },
    ]);
    const viaPoints = await p.query('SELECT * FROM spell_points GROUP BY *');
    const viaRows = await p.query('SELECT * FROM spell_rows GROUP BY *');
    expect(viaPoints).toHaveLength(10);
    expect(viaRows.map(({ _measurement, ...r }) => r)).toEqual(viaPoints.map(({ _measurement, ...r }) => r));
    expect(viaRows.find((r) => r.iface === 'eth 0,a=b')!.note).toBe(nasty);
    // A row that does not fit its series closes the connection with the row named.
    const gone = closed(ws);
    ws.send('{"type":"batch","seq":3,"series":[{"name":"m","fields":["a"]}],"rows":[[0,1,1],[1,1,1]]}');
    expect(await gone).toEqual({ code: CloseCode.INVALID_MESSAGE, reason: 'rows[1]: series 1 does not exist (the batch has 1)' });
  });

  it('a second connection of the same agent replaces the first', async () => {
    const { token } = p.collector.registry.add({ name: 'twice', agency: 'a', site: 's' });
    const first = (await connect(p.url, token)).ws!;
    const gone = closed(first);
    const second = (await connect(p.url, token)).ws!;
    expect((await gone).code).toBe(CloseCode.REPLACED);
    expect(second.readyState).toBe(WebSocket.OPEN);
    second.close();
  });

  it('acks only after InfluxDB accepted the batch; measures throughput', async () => {
    const { token } = p.collector.registry.add({ name: 'load', agency: 'a', site: 's' });
    const ws = (await connect(p.url, token)).ws!;
    const batches = 20;
    const per = 1000;
    const t0 = Date.now();
    let acks = 0;
    const done = new Promise<void>((resolve) =>
      ws.on('message', () => {
        if (++acks === batches) resolve();
      }),
    );
    for (let s = 0; s < batches; s++) {
      const points = Array.from({ length: per }, (_, i) => ({
        name: 'loadtest',
        time: t0 - 100_000 + s * per + i,
        tags: { shard: String(i % 10) },
        fields: { v: i, s },
        int: ['s'],
      }));
      ws.send(encode({ type: 'batch', seq: s, points, events: [] }));
    }
    await done;
    const secs = (Date.now() - t0) / 1000;
    const rows = await p.query('SELECT count(v) FROM loadtest');
    expect(rows[0]!.count).toBe(batches * per);
    console.log(
      `[foundation] ${batches * per} points acked and stored in ${secs.toFixed(2)} s = ${Math.round((batches * per) / secs)} points/s (one connection)`,
    );
    ws.close();
  }, 60_000);
});
