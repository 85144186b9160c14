// A month (November 2026, Asia/Ho_Chi_Minh) of report input for two agencies, generated
// deterministically with known outages, peaks, events and alerts. The report test
// computes its expected figures from these points with its own plain loops.
export interface GenPoint {
  m: string;
  tags: Record<string, string>;
  fields: Record<string, number | string | boolean>;
  /** int fields (written with the i suffix) */
  ints?: string[];
  t: number;
}

const H7 = 7 * 3_600_000;
/** Local (UTC+7) wall time in November 2026 (day may be 31 = Dec 1 etc.). */
export const L = (day: number, h = 0, m = 0): number => Date.UTC(2026, 10, day, h, m) - H7;
export const MONTH_START = L(1);
export const MONTH_END = L(31); // = Dec 1 00:00 local
const MIN = 60_000;

export const A = 'so-tttt';
export const B = 'ubnd-tinh';

function escTag(s: string): string {
  return s.replace(/[ ,=]/g, (c) => `\\${c}`);
}

export function toLine(p: GenPoint): string {
  const tags = Object.entries(p.tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${escTag(v)}`)
    .join(',');
  const fields = Object.entries(p.fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : p.ints?.includes(k) ? `${v}i` : String(v)}`)
    .join(',');
  return `${p.m},${tags} ${fields} ${p.t}`;
}

function every(from: number, to: number, stepMs: number, f: (t: number, i: number) => GenPoint | null, out: GenPoint[]): void {
  let i = 0;
  for (let t = from; t < to; t += stepMs, i++) {
    const p = f(t, i);
    if (p) out.push(p);
  }
}

const inRange = (t: number, a: number, b: number): boolean => t >= a && t < b;

export function generate(): GenPoint[] {
  const out: GenPoint[] = [];
  const tagsA = (host: string, extra: Record<string, string> = {}): Record<string, string> => ({ agency: A, host, site: 'dc', ...extra });
  const tagsB = (host: string, extra: Record<string, string> = {}): Record<string, string> => ({ agency: B, host, site: 'hq', ...extra });

  // Agency A: ping of the gateway with two outages and a blip, one margin sample each side.
  every(
    MONTH_START - 5 * MIN,
    MONTH_END + 5 * MIN,
    5 * MIN,
    (t) => {
      let code = 0;
      let loss = 0;
      if (inRange(t, L(3, 10), L(3, 11, 30))) [code, loss] = [2, 100];
      else if (inRange(t, L(15, 2), L(15, 2, 20)))
        [code, loss] = [0, 100]; // loss alone makes it down
      else if (t === L(22, 12)) [code, loss] = [1, 100];
      else if (t === L(8, 9))
        [code, loss] = [0, 50]; // partial loss is up
      else if (t < MONTH_START || t >= MONTH_END) [code, loss] = [2, 100]; // outside: must not count
      return {
        m: 'ping',
        tags: tagsA('gw-tttt', { url: '10.1.0.1' }),
        fields: { result_code: code, percent_packet_loss: loss, average_response_ms: 3.2 },
        ints: ['result_code'],
        t,
      };
    },
    out,
  );
  every(
    MONTH_START,
    MONTH_END,
    5 * MIN,
    (t) => ({
      m: 'ping',
      tags: tagsA('gw-tttt', { url: '8.8.8.8' }),
      fields: { result_code: 0, percent_packet_loss: 0, average_response_ms: 30 },
      ints: ['result_code'],
      t,
    }),
    out,
  );
  // HTTP every 2 min: one hour of timeouts, five single status mismatches.
  const mismatch = new Set([5, 10, 15, 25, 28].map((d) => L(d, 14)));
  every(
    MONTH_START,
    MONTH_END,
    2 * MIN,
    (t) => {
      const code = inRange(t, L(20, 8), L(20, 9)) ? 4 : mismatch.has(t) ? 6 : 0;
      const tags = tagsA('web-tttt', {
        server: 'https://portal.tttt.gov.vn',
        method: 'GET',
        result: code === 0 ? 'success' : code === 4 ? 'timeout' : 'response_status_code_mismatch',
        status_code: code === 4 ? '' : code === 6 ? '503' : '200',
      });
      if (!tags.status_code) delete tags.status_code;
      return {
        m: 'http_response',
        tags,
        fields: { result_code: code, response_time: 0.2, ...(code === 4 ? {} : { http_response_code: code === 6 ? 503 : 200 }) },
        ints: ['result_code', 'http_response_code'],
        t,
      };
    },
    out,
  );
  // SNMP uplink with a known peak in and out; host net rates, lo must be ignored.
  every(
    MONTH_START,
    MONTH_END,
    5 * MIN,
    (t, i) => {
      const inBps = t === L(18, 14, 35) ? 950e6 : 100e6 + 50e6 * ((i * 7) % 11);
      const outBps = t === L(7, 9, 10) ? 77e6 : 20e6 + 1e6 * (i % 13);
      return {
        m: 'interface',
        tags: tagsA('gw-tttt', { agent_host: '10.1.0.1', ifName: 'ge-0/0/0', ifIndex: '1' }),
        fields: { in_bps: inBps, out_bps: outBps, ifAlias: 'Uplink WAN' },
        t,
      };
    },
    out,
  );
  every(
    MONTH_START,
    MONTH_END,
    5 * MIN,
    (t, i) => ({
      m: 'net',
      tags: tagsA('gw-tttt', { interface: 'eth0' }),
      fields: { bytes_recv_rate: 1e6 + (i % 17) * 1e4, bytes_sent_rate: 5e5 + (i % 5) * 1e3 },
      t,
    }),
    out,
  );
  every(
    MONTH_START,
    MONTH_END,
    5 * MIN,
    (t) => ({ m: 'net', tags: tagsA('gw-tttt', { interface: 'lo' }), fields: { bytes_recv_rate: 9e9, bytes_sent_rate: 9e9 }, t }),
    out,
  );
  // Agents, with the collector's own points: online=0 when the connection ends, online=1
  // when the agent connects. gw-tttt silent for one local day (disconnected from 00:00:30
  // on the 10th to 00:00 on the 11th); web-tttt first connects on the 5th and is
  // disconnected two hours on the 12th.
  const state = (host: string, tags: (h: string) => Record<string, string>, online: 0 | 1, t: number): GenPoint => ({
    m: 'agent',
    tags: tags(host),
    fields: { online, version: '0.1.0' },
    ints: ['online'],
    t,
  });
  every(
    MONTH_START,
    MONTH_END,
    5 * MIN,
    (t) =>
      inRange(t, L(10), L(11))
        ? null
        : { m: 'agent', tags: tagsA('gw-tttt'), fields: { spool_batches: 0, dropped_points: 0 }, ints: ['spool_batches', 'dropped_points'], t },
    out,
  );
  out.push(state('gw-tttt', tagsA, 1, MONTH_START - 86_400_000), state('gw-tttt', tagsA, 0, L(10) + 30_000), state('gw-tttt', tagsA, 1, L(11)));
  every(
    L(5),
    MONTH_END,
    5 * MIN,
    (t) =>
      inRange(t, L(12, 10), L(12, 12))
        ? null
        : { m: 'agent', tags: tagsA('web-tttt'), fields: { spool_batches: 1, dropped_points: 0 }, ints: ['spool_batches', 'dropped_points'], t },
    out,
  );
  out.push(state('web-tttt', tagsA, 1, L(5)), state('web-tttt', tagsA, 0, L(12, 10)), state('web-tttt', tagsA, 1, L(12, 12)));
  // Security events.
  const ev = (tags: Record<string, string>, t: number, fields: GenPoint['fields']): GenPoint => ({ m: 'security_event', tags, fields, ints: ['count'], t });
  for (let d = 1; d <= 30; d++) {
    out.push(
      ev(tagsA('gw-tttt', { type: 'brute_force', severity: 'high', detector: 'auth_log', mitre: 'T1110.001' }), L(d, 3), {
        message: 'SSH brute force',
        count: (d % 5) + 1,
        src_ip: '203.0.113.7',
        user: 'root',
      }),
    );
    out.push(
      ev(tagsA('gw-tttt', { type: 'off_hours_privileged_login', severity: 'medium', detector: 'auth_log', mitre: 'T1078' }), L(d, 13), {
        message: 'Privileged login out of hours',
        count: 1,
        src_ip: `198.51.100.${(d % 3) + 1}`,
      }),
    );
    if (d % 3 === 0)
      out.push(
        ev(tagsA('web-tttt', { type: 'web_scan', severity: 'medium', detector: 'web_access', mitre: 'T1595.003' }), L(d, 15), {
          message: 'Web scan',
          count: 11,
          src_ip: `192.0.2.${200 + (d % 2)}`,
          site: 'congthongtin.example.gov.vn',
        }),
      );
    if (d === 17)
      out.push(
        ev(tagsA('web-tttt', { type: 'web_exploit_attempt', severity: 'critical', detector: 'web_access', mitre: 'T1190' }), L(d, 16), {
          message: 'Log4Shell',
          count: 1,
          src_ip: '192.0.2.210',
          site: 'dichvucong.example.gov.vn',
          cve: 'CVE-2021-44228',
        }),
      );
    if (d % 7 === 0)
      out.push(
        ev(tagsA('web-tttt', { type: 'new_lan_device', severity: 'low', detector: 'lan_devices' }), L(d, 9), {
          message: 'New device on the LAN',
          count: 1,
          mac: '00:11:22:33:44:55',
        }),
      );
  }
  out.push(
    ev(tagsA('web-tttt', { type: 'possible_defacement', severity: 'critical', detector: 'http_response' }), L(25, 10), {
      message: 'Trang chủ bị thay đổi',
      count: 1,
    }),
  );
  out.push(
    ev(tagsA('gw-tttt', { type: 'brute_force', severity: 'high', detector: 'auth_log' }), MONTH_START - MIN, {
      message: 'before the month',
      count: 1000,
      src_ip: '192.0.2.99',
    }),
  );
  // Alerts: three resolved episodes (90, 60, 20 min) and one still firing.
  const al = (rule: string, host: string, severity: string, t: number, state: string): GenPoint => ({
    m: 'alert',
    tags: { agency: A, rule, host, severity },
    fields: { state, summary: rule, value: 1 },
    t,
  });
  out.push(al('packet_loss', 'gw-tttt', 'high', L(3, 10, 5), 'firing'), al('packet_loss', 'gw-tttt', 'high', L(3, 11, 35), 'resolved'));
  out.push(al('portal_down', 'web-tttt', 'critical', L(20, 8, 2), 'firing'), al('portal_down', 'web-tttt', 'critical', L(20, 9, 2), 'resolved'));
  out.push(al('packet_loss', 'gw-tttt', 'high', L(15, 2, 5), 'firing'), al('packet_loss', 'gw-tttt', 'high', L(15, 2, 25), 'resolved'));
  out.push(al('certificate_expiring', 'web-tttt', 'medium', L(28, 6), 'firing'));
  // Someone acknowledged the 90-minute episode before it ended (status page, API or CLI):
  // handled; the other two ended with nobody's word: resolved by themselves.
  out.push({
    m: 'alert',
    tags: { agency: A, rule: 'packet_loss', host: 'gw-tttt', severity: 'high' },
    fields: { state: 'acknowledged', summary: 'packet_loss', acknowledged_by: 'Trần Thị Bình' },
    t: L(3, 10, 20),
  });
  // Certificates: one expiring 19.5 days after the month's end, one far away.
  const soon = L(50, 12); // Dec 20 12:00 local
  const later = L(200);
  every(
    MONTH_START,
    MONTH_END,
    6 * 60 * MIN,
    (t) => ({
      m: 'x509_cert',
      tags: tagsA('web-tttt', { source: 'https://portal.tttt.gov.vn', common_name: 'portal.tttt.gov.vn' }),
      fields: { expiry: Math.round((soon - t) / 1000) },
      ints: ['expiry'],
      t,
    }),
    out,
  );
  every(
    MONTH_START,
    MONTH_END,
    6 * 60 * MIN,
    (t) => ({
      m: 'x509_cert',
      tags: tagsA('web-tttt', { source: 'tcp://mail.tttt.gov.vn:465', common_name: 'mail.tttt.gov.vn' }),
      fields: { expiry: Math.round((later - t) / 1000) },
      ints: ['expiry'],
      t,
    }),
    out,
  );

  // Agency B: ping every minute with three down samples; a healthy portal; five scans.
  every(
    MONTH_START,
    MONTH_END,
    MIN,
    (t) => {
      const down = inRange(t, L(9, 23, 58), L(10, 0, 1)); // crosses local midnight
      return {
        m: 'ping',
        tags: tagsB('gw-ubnd', { url: '10.2.0.1' }),
        fields: { result_code: down ? 2 : 0, percent_packet_loss: down ? 100 : 0 },
        ints: ['result_code'],
        t,
      };
    },
    out,
  );
  every(
    MONTH_START,
    MONTH_END,
    5 * MIN,
    (t) => ({
      m: 'http_response',
      tags: tagsB('gw-ubnd', { server: 'https://ubnd.gov.vn', method: 'GET', result: 'success', status_code: '200' }),
      fields: { result_code: 0, response_time: 0.1, tls_expiry_days: (L(200) - t) / 86_400_000 },
      ints: ['result_code'],
      t,
    }),
    out,
  );
  // gw-ubnd: two disconnections (30 and 90 minutes) whose data came later from its spool,
  // so it has points in every 5 minutes: the report must not call it 100 % online.
  every(MONTH_START, MONTH_END, 5 * MIN, (t) => ({ m: 'agent', tags: tagsB('gw-ubnd'), fields: { spool_batches: 0 }, ints: ['spool_batches'], t }), out);
  out.push(
    state('gw-ubnd', tagsB, 1, MONTH_START + 60_000),
    state('gw-ubnd', tagsB, 0, L(6, 9)),
    state('gw-ubnd', tagsB, 1, L(6, 9, 30)),
    state('gw-ubnd', tagsB, 0, L(21, 22)),
    state('gw-ubnd', tagsB, 1, L(21, 23, 30)),
  );
  for (let k = 0; k < 5; k++)
    out.push(
      ev(tagsB('gw-ubnd', { type: 'off_hours_privileged_login', severity: 'medium', detector: 'auth_log' }), L(2 + k * 5, 16), {
        message: 'Privileged login out of hours',
        count: 2,
        src_ip: '198.51.100.50',
      }),
    );
  return out;
}
