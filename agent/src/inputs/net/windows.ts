// The `net` input on Windows: each network adapter of the "Network Interface" object,
// named as Windows shows it there (the adapter's description, "(" and ")" printed as "["
// and "]": "Intel[R] Ethernet Connection I219-LM"), from the shared typeperf
// (../perf-counters), with Telegraf's Linux fields. Errors and discards are counts since
// the adapter started, as on Linux; bytes and packets are per-second rates there, so their
// counts are summed from the rates times the seconds each sample covers, from the agent's
// start (an agent restart is a counter reset to the rate queries). The *_rate fields are
// computed from those counts between gathers by the same code as on Linux.
import type { Input, InputContext } from '../types.ts';
import type { CounterRequest } from '../perf-counters/names.ts';
import { Totals, counterSource, newSamples, whole } from '../perf-counters/gather.ts';
import { sampleValue, type Sample } from '../perf-counters/source.ts';
import { COUNTERS, netRates, type Counters } from './parse.ts';

const N = 'Network Interface';
const RATES: Record<string, string> = {
  'Bytes Received/sec': 'bytes_recv',
  'Bytes Sent/sec': 'bytes_sent',
  'Packets Received/sec': 'packets_recv',
  'Packets Sent/sec': 'packets_sent',
};
const COUNTS: Record<string, string> = {
  'Packets Received Errors': 'err_in',
  'Packets Outbound Errors': 'err_out',
  'Packets Received Discarded': 'drop_in',
  'Packets Outbound Discarded': 'drop_out',
};
export const NET_COUNTERS: readonly CounterRequest[] = [...Object.keys(RATES), ...Object.keys(COUNTS), 'Current Bandwidth'].map((counter) => ({
  object: N,
  counter,
  instance: '*',
}));

/**
 * Adapters that carry no traffic of their own or only tunnel another's, left out by
 * default as Linux leaves out loopback: IPv6 transition pseudo-interfaces (ISATAP, Teredo,
 * 6to4), the Hyper-V host's virtual switch ports, kernel-debug and Wi-Fi Direct virtual
 * adapters, RAS/VPN miniports and common VPN clients' adapters. The guest NIC of a virtual
 * machine ("Microsoft Hyper-V Network Adapter", "vmxnet3 Ethernet Adapter") is real
 * traffic and stays.
 */
export const WINDOWS_VIRTUAL_ADAPTERS: readonly string[] = [
  'isatap*',
  'Microsoft ISATAP Adapter*',
  'Teredo Tunneling Pseudo-Interface*',
  'Microsoft Teredo Tunneling Adapter*',
  '6TO4 Adapter*',
  'Microsoft 6to4 Adapter*',
  '*Loopback*',
  'Hyper-V Virtual Ethernet Adapter*',
  'Microsoft Kernel Debug Network Adapter*',
  'Microsoft Wi-Fi Direct Virtual Adapter*',
  'WAN Miniport*',
  'TAP-Windows Adapter*',
  'TAP-NordVPN*',
  'WireGuard Tunnel*',
  'Wintun*',
  'Fortinet*',
  'PANGP Virtual Ethernet Adapter*',
  'Cisco AnyConnect*',
  'Juniper Network Connect*',
  'SonicWALL*',
  'ZeroTier*',
  'Tailscale*',
];

/** Adds one sample of one adapter to its byte and packet totals. */
export function addNetSample(t: Totals, s: Sample, adapter: string): void {
  for (const [counter, field] of Object.entries(RATES)) {
    const v = sampleValue(s, N, adapter, counter);
    if (v !== undefined) t.add(adapter, field, v * s.dt);
  }
  // The adapter's own clock: seconds of samples it was in, for the rates between gathers
  // (the host's wall clock may step; the samples' durations do not).
  t.add(adapter, CLOCK, s.dt);
}

const CLOCK = 'clock_s';

/** The counters of one adapter now: summed totals and the newest sample's counts. */
export function windowsNetCounters(t: Totals, s: Sample, adapter: string): Counters | undefined {
  const out: Partial<Counters> = {};
  for (const field of Object.values(RATES)) out[field as keyof Counters] = whole(t.get(adapter, field));
  for (const [counter, field] of Object.entries(COUNTS)) {
    const v = sampleValue(s, N, adapter, counter);
    if (v === undefined) return undefined;
    out[field as keyof Counters] = Math.round(v);
  }
  return out as Counters;
}

export function windowsNet(keep: (name: string) => boolean, ctx: InputContext): Input {
  const src = counterSource(ctx, NET_COUNTERS);
  const cursor = { seq: src.latestSeq };
  const totals = new Totals();
  let prev = new Map<string, { counters: Counters; at: number }>();
  return {
    async gather(acc) {
      const samples = await newSamples(ctx, src, cursor);
      const seen = new Map<string, Sample>();
      for (const s of samples) {
        for (const adapter of s.instances.get(N) ?? []) {
          if (!keep(adapter)) continue;
          addNetSample(totals, s, adapter);
          seen.set(adapter, s);
        }
      }
      const next = new Map<string, { counters: Counters; at: number }>();
      for (const [adapter, s] of seen) {
        const counters = windowsNetCounters(totals, s, adapter);
        if (!counters) continue;
        const at = (totals.get(adapter, CLOCK) ?? 0) * 1000;
        const last = prev.get(adapter);
        const rates = last ? netRates(last.counters, counters, at - last.at) : {};
        const bandwidth = sampleValue(s, N, adapter, 'Current Bandwidth');
        const speed = bandwidth !== undefined && bandwidth > 0 ? Math.round(bandwidth / 1e6) : -1;
        acc.addPoint('net', { interface: adapter }, { ...counters, ...rates, speed }, { int: [...COUNTERS, 'speed'] });
        next.set(adapter, { counters, at });
      }
      // An adapter absent from this gather (unplugged) is forgotten: its next rates start afresh.
      prev = next;
    },
  };
}
