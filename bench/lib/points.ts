// The points a typical Linux host sends per cycle (Telegraf-shaped cpu, mem, disk,
// system, net, processes, kernel, ping), produced cheaply for load generators: as the
// JSON of a `batch` in either spelling (`points`, or `series` + `rows` as canh-agent
// sends) and as the line protocol the collector would write for it (what the raw
// InfluxDB writer sends). Values come from a small pool of
// variants so generating load costs the generator little CPU.
import { encodePoint, RowsWriter, type Point } from '@canh/protocol';

interface SeriesTemplate {
  name: string;
  tags: Record<string, string>;
  fields: string[];
  int: string[];
}

const CPU_FIELDS = [
  'usage_user',
  'usage_system',
  'usage_idle',
  'usage_nice',
  'usage_iowait',
  'usage_irq',
  'usage_softirq',
  'usage_steal',
  'usage_guest',
  'usage_guest_nice',
];
const DISK_FIELDS = ['total', 'free', 'used', 'used_percent', 'inodes_total', 'inodes_free', 'inodes_used'];
const NET_FIELDS = ['bytes_sent', 'bytes_recv', 'packets_sent', 'packets_recv', 'err_in', 'err_out', 'drop_in', 'drop_out'];

/** 15 series per host, one point each per cycle. */
export const HOST_SERIES: readonly SeriesTemplate[] = [
  { name: 'cpu', tags: { cpu: 'cpu-total' }, fields: CPU_FIELDS, int: [] },
  { name: 'cpu', tags: { cpu: 'cpu0' }, fields: CPU_FIELDS, int: [] },
  { name: 'cpu', tags: { cpu: 'cpu1' }, fields: CPU_FIELDS, int: [] },
  {
    name: 'mem',
    tags: {},
    fields: ['total', 'available', 'used', 'free', 'cached', 'buffered', 'used_percent', 'available_percent'],
    int: ['total', 'available', 'used', 'free', 'cached', 'buffered'],
  },
  {
    name: 'disk',
    tags: { path: '/', device: 'vda1', fstype: 'ext4', mode: 'rw' },
    fields: DISK_FIELDS,
    int: ['total', 'free', 'used', 'inodes_total', 'inodes_free', 'inodes_used'],
  },
  {
    name: 'disk',
    tags: { path: '/boot', device: 'vda2', fstype: 'ext4', mode: 'rw' },
    fields: DISK_FIELDS,
    int: ['total', 'free', 'used', 'inodes_total', 'inodes_free', 'inodes_used'],
  },
  {
    name: 'disk',
    tags: { path: '/var', device: 'vdb1', fstype: 'xfs', mode: 'rw' },
    fields: DISK_FIELDS,
    int: ['total', 'free', 'used', 'inodes_total', 'inodes_free', 'inodes_used'],
  },
  { name: 'system', tags: {}, fields: ['load1', 'load5', 'load15', 'n_cpus', 'n_users', 'uptime'], int: ['n_cpus', 'n_users', 'uptime'] },
  { name: 'net', tags: { interface: 'eth0' }, fields: NET_FIELDS, int: NET_FIELDS },
  { name: 'net', tags: { interface: 'eth1' }, fields: NET_FIELDS, int: NET_FIELDS },
  {
    name: 'netstat',
    tags: {},
    fields: ['tcp_established', 'tcp_listen', 'tcp_time_wait', 'udp_socket', 'tcp_close_wait'],
    int: ['tcp_established', 'tcp_listen', 'tcp_time_wait', 'udp_socket', 'tcp_close_wait'],
  },
  {
    name: 'processes',
    tags: {},
    fields: ['running', 'sleeping', 'zombies', 'total', 'total_threads'],
    int: ['running', 'sleeping', 'zombies', 'total', 'total_threads'],
  },
  {
    name: 'kernel',
    tags: {},
    fields: ['interrupts', 'context_switches', 'processes_forked', 'boot_time', 'entropy_avail'],
    int: ['interrupts', 'context_switches', 'processes_forked', 'boot_time', 'entropy_avail'],
  },
  {
    name: 'ping',
    tags: { url: '10.0.0.1' },
    fields: ['packets_transmitted', 'packets_received', 'percent_packet_loss', 'average_response_ms', 'result_code'],
    int: ['packets_transmitted', 'packets_received', 'result_code'],
  },
  {
    name: 'ping',
    tags: { url: 'portal.gov.vn' },
    fields: ['packets_transmitted', 'packets_received', 'percent_packet_loss', 'average_response_ms', 'result_code'],
    int: ['packets_transmitted', 'packets_received', 'result_code'],
  },
];

export const SERIES_PER_HOST = HOST_SERIES.length;
const VARIANTS = 16;
export const CYCLE_MS = 10_000;

/** Measurement → one field every point of it has (for count queries). Each measurement has one field set. */
export const COUNT_FIELDS: Record<string, string> = Object.fromEntries(HOST_SERIES.map((s) => [s.name, s.fields[0]!]));

function sampleFields(s: SeriesTemplate, variant: number, seriesIdx: number): Point['fields'] {
  const f: Point['fields'] = {};
  s.fields.forEach((k, i) => {
    const x = ((variant + 1) * 7919 + (i + 1) * 104729 + seriesIdx * 13) % 100_000;
    f[k] = s.int.includes(k) ? x * 1013 : x / 997;
  });
  return f;
}

/** The Point an agent would send for series `i`, variant `v`, at `time`. */
export function samplePoint(i: number, v: number, time: number): Point {
  const s = HOST_SERIES[i]!;
  return { name: s.name, time, tags: { ...s.tags }, fields: sampleFields(s, v % VARIANTS, i), ...(s.int.length ? { int: s.int } : {}) };
}

// Precomputed pieces: JSON of a point before and after its time, per series and variant.
const jsonParts: { pre: string; post: string }[][] = HOST_SERIES.map((_, i) =>
  Array.from({ length: VARIANTS }, (_, v) => {
    const p = samplePoint(i, v, 1234567890123);
    const [pre, post] = JSON.stringify(p).split('1234567890123') as [string, string];
    return { pre, post };
  }),
);

// The same in the `rows` spelling: the series table of a host (what RowsWriter writes
// for one cycle) and each row's JSON before and after its time.
const seriesJson = (() => {
  const w = new RowsWriter();
  HOST_SERIES.forEach((_, i) => w.add(samplePoint(i, 0, 0)));
  return w.json().split(',"rows":[')[0]!;
})();
const rowParts: { pre: string; post: string }[][] = HOST_SERIES.map((s, i) =>
  Array.from({ length: VARIANTS }, (_, v) => {
    const f = samplePoint(i, v, 0).fields;
    return { pre: `[${i},`, post: `,${s.fields.map((k) => String(f[k])).join(',')}]` };
  }),
);

export type BatchForm = 'rows' | 'points';

export interface Identity {
  host: string;
  agency: string;
  site: string;
}

/** Line protocol pieces per host: "<measurement,tags> <fields> " + time. */
function lineParts(id: Identity): { pre: string }[][] {
  return HOST_SERIES.map((_, i) =>
    Array.from({ length: VARIANTS }, (_, v) => {
      const line = encodePoint(samplePoint(i, v, 1234567890123), { ...id })!;
      return { pre: line.slice(0, line.length - '1234567890123'.length) };
    }),
  );
}

/**
 * One simulated host's measurements: cycle k holds one point per series, all stamped
 * base + k × 10 s (a host measures every 10 s). Successive calls continue the timeline,
 * so no point is ever produced twice.
 */
export class HostSource {
  cycle = 0;
  readonly base: number;
  private lines: { pre: string }[][] | undefined;
  readonly id: Identity;

  constructor(id: Identity, base: number) {
    this.id = id;
    this.base = base;
  }

  /** JSON array body (without brackets) of the next `cycles` cycles' points. */
  nextJson(cycles: number, time?: number): string {
    return this.assemble(jsonParts, cycles, time);
  }

  /**
   * The points part of a batch for the next `cycles` cycles: `"points":[...]`, or
   * `"series":[...],"rows":[...]` as canh-agent writes it.
   */
  nextBody(form: BatchForm, cycles: number, time?: number): string {
    if (form === 'points') return `"points":[${this.nextJson(cycles, time)}]`;
    return `${seriesJson},"rows":[${this.assemble(rowParts, cycles, time)}]`;
  }

  /** The next `cycles` cycles, one piece per series, each its `pre` + time + `post`, comma-separated. */
  private assemble(parts: { pre: string; post: string }[][], cycles: number, time?: number): string {
    let s = '';
    for (let c = 0; c < cycles; c++) {
      const t = time ?? this.base + this.cycle * CYCLE_MS;
      const v = this.cycle % VARIANTS;
      for (let i = 0; i < SERIES_PER_HOST; i++) {
        const p = parts[i]![(v + i) % VARIANTS]!;
        s += (s ? ',' : '') + p.pre + t + p.post;
      }
      this.cycle++;
    }
    return s;
  }

  /** Line protocol (as the collector writes it for this host) of the next `cycles` cycles, appended to `out`. */
  nextLines(cycles: number, out: string[]): void {
    this.lines ??= lineParts(this.id);
    for (let c = 0; c < cycles; c++) {
      const t = this.base + this.cycle * CYCLE_MS;
      const v = this.cycle % VARIANTS;
      for (let i = 0; i < SERIES_PER_HOST; i++) out.push(this.lines[i]![(v + i) % VARIANTS]!.pre + t);
      this.cycle++;
    }
  }
}

/** Proof that both forms describe the same points: JSON decoded and encoded by the collector's rules equals the raw line. */
export function checkSameShape(id: Identity): void {
  const a = new HostSource(id, 1_700_000_000_000);
  const b = new HostSource(id, 1_700_000_000_000);
  const points = JSON.parse(`[${a.nextJson(3)}]`) as Point[];
  const lines: string[] = [];
  b.nextLines(3, lines);
  const viaCollector = points.map((p) => encodePoint(p, { host: id.host, agency: id.agency, site: id.site }));
  if (viaCollector.join('\n') !== lines.join('\n')) throw new Error(`bench: raw lines differ from the collector's encoding:\n${viaCollector[0]}\n${lines[0]}`);
  // The rows the generators send are what canh-agent's RowsWriter writes for the same points.
  const w = new RowsWriter();
  for (const p of points) w.add(p);
  const rows = new HostSource(id, 1_700_000_000_000).nextBody('rows', 3);
  if (rows !== w.json()) throw new Error(`bench: generated rows differ from RowsWriter's:\n${rows.slice(0, 400)}\n${w.json().slice(0, 400)}`);
}
