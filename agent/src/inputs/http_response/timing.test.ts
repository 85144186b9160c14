// The phase timings of http_response (DNS, connect, TLS, first byte, total), measured at
// the socket, against curl -w on the same local server (its own process, so the agent's
// event loop and the server's do not share a core's attention). Many samples of each,
// interleaved; the medians are printed and compared with a bound wide enough for a
// loaded machine (the goal, 2 ms on an idle one, is what the printed figures show).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import input, { config } from './index.ts';
import { checkRecorder, realContext } from '../check-testing.ts';
import { CertFactory } from '../tls-testing.ts';

const run = promisify(execFile);
const SAMPLES = 25;
const servers: ChildProcess[] = [];
let httpPort = 0;
let httpsPort = 0;
let ca = '';

async function startServer(args: string[]): Promise<number> {
  const child = spawn('python3', [join(import.meta.dirname, 'testdata', 'timing-server.py'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`timing server exited (${code})`)));
  });
}

beforeAll(async () => {
  const certs = new CertFactory();
  const authority = certs.ca();
  const leaf = certs.leaf({ days: 30, ca: authority });
  ca = authority.certFile;
  [httpPort, httpsPort] = await Promise.all([startServer([]), startServer([leaf.certFile, leaf.keyFile])]);
}, 30_000);
afterAll(() => {
  for (const s of servers) s.kill();
});

type Phases = Record<'dns' | 'connect' | 'tls' | 'ttfb' | 'total', number>;

async function curl(url: string): Promise<Phases> {
  const { stdout } = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '--cacert',
    ca,
    '-w',
    '%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}',
    url,
  ]);
  const [dns, connect, tls, ttfb, total] = stdout.trim().split(' ').map(Number) as [number, number, number, number, number];
  return { dns, connect, tls, ttfb, total };
}

async function ours(url: string): Promise<{ fields: Record<string, unknown>; phases: Phases }> {
  const acc = checkRecorder();
  await input.create(config.parse({ urls: [url], tls_ca: ca }), realContext()).gather!(acc);
  const f = acc.one({ server: url }).fields;
  return {
    fields: f,
    phases: { dns: Number(f.dns_time), connect: Number(f.connect_time), tls: Number(f.tls_time ?? 0), ttfb: Number(f.ttfb), total: Number(f.total_time) },
  };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const ms = (s: number) => `${(s * 1000).toFixed(2)} ms`;

describe('http_response timings against curl -w', () => {
  for (const scheme of ['http', 'https'] as const) {
    it(`${scheme}: every phase is measured, in order, and the medians are near curl's`, async () => {
      const url = `${scheme}://localhost:${scheme === 'http' ? httpPort : httpsPort}/`;
      // Warm both up (first-call costs: module loading, TLS context).
      await ours(url);
      await curl(url);
      const a: Phases[] = [];
      const b: Phases[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const o = await ours(url);
        expect(o.fields).toMatchObject({ result_code: 0 });
        for (const k of ['dns_time', 'connect_time', 'ttfb', 'total_time', ...(scheme === 'https' ? ['tls_time'] : [])]) expect(o.fields, k).toHaveProperty(k);
        if (scheme === 'http') expect(o.fields).not.toHaveProperty('tls_time');
        const p = o.phases;
        expect(p.dns).toBeLessThanOrEqual(p.connect);
        expect(p.connect).toBeLessThanOrEqual(scheme === 'https' ? p.tls : p.ttfb);
        if (scheme === 'https') expect(p.tls).toBeLessThanOrEqual(p.ttfb);
        expect(p.ttfb).toBeLessThanOrEqual(p.total);
        // response_time (Telegraf's: to the headers) lies between the first byte and the end.
        expect(Number(o.fields.response_time)).toBeGreaterThanOrEqual(p.ttfb - 1e-6);
        a.push(p);
        b.push(await curl(url));
      }
      const keys = (scheme === 'https' ? ['dns', 'connect', 'tls', 'ttfb', 'total'] : ['dns', 'connect', 'ttfb', 'total']) as (keyof Phases)[];
      const line = keys.map((k) => `${k} canh ${ms(median(a.map((x) => x[k])))} curl ${ms(median(b.map((x) => x[k])))}`).join(', ');
      console.log(`http_response ${scheme} medians over ${SAMPLES}: ${line}`);
      for (const k of ['ttfb', 'total'] as const) {
        const ourMedian = median(a.map((x) => x[k]));
        const curlMedian = median(b.map((x) => x[k]));
        // 2 ms on an idle machine; a loaded one (tests in parallel) gets the larger of 10 ms
        // and curl's own median as slack. The agent's old figures (60 ms against 3.5 ms) fail it.
        expect(Math.abs(ourMedian - curlMedian), `${k}: canh ${ms(ourMedian)}, curl ${ms(curlMedian)}`).toBeLessThanOrEqual(Math.max(0.01, curlMedian));
      }
    }, 120_000);
  }
});
