// Pure parsing of what a system `ping` prints (Linux iputils, BusyBox, Windows) into
// Telegraf's `ping` fields. No I/O here: the input execs, this file reads the text, so the
// captured outputs in testdata/ drive the same code as the real binary.
import type { FieldValue } from '@canh/protocol';

/** Telegraf's result_code: 0 at least one reply, 1 name not resolved, 2 no reply / ping error. */
export const RESULT = { success: 0, noSuchHost: 1, pingError: 2 } as const;

export interface PingOutput {
  format: 'iputils' | 'busybox' | 'windows' | 'unknown';
  transmitted?: number;
  /** As the summary line counts them (Windows counts "Destination host unreachable" replies). */
  received?: number;
  /** Echo replies with a round-trip time, in the order they arrived (duplicates left out). */
  rtts: number[];
  ttl?: number;
  min?: number;
  avg?: number;
  max?: number;
  stddev?: number;
  /** The name did not resolve. */
  dnsError: boolean;
  /** The first line that looks like an error, for the log. */
  error?: string;
}

const num = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const n = Number(s);
  // Bounded so a device answering nonsense cannot overflow InfluxDB's int64.
  return Number.isFinite(n) && n >= 0 && n <= Number.MAX_SAFE_INTEGER ? n : undefined;
};

// Name-resolution failures as iputils, BusyBox, Windows and glibc word them.
const DNS_ERRORS = [
  /Name or service not known/i,
  /Temporary failure in name resolution/i,
  /No address associated with hostname/i,
  /unknown host/i,
  /bad address '/i,
  /could not find host/i,
  /nodename nor servname provided/i,
  /Address family for hostname not supported/i,
];

function errorLine(lines: readonly string[]): string | undefined {
  return lines.find((l) => /^ping: |unreachable|could not find host|bad address|timed out|failure/i.test(l) && !/^---/.test(l));
}

/** Parse stdout and stderr of one ping run (order does not matter). */
export function parsePing(text: string): PingOutput {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const out: PingOutput = { format: 'unknown', rtts: [], dnsError: DNS_ERRORS.some((re) => re.test(text)) };
  out.error = errorLine(lines);
  const windows = /^Pinging .* with \d+ bytes of data:|^Packets: Sent = /m.test(lines.join('\n'));
  for (const line of lines) {
    if (windows) {
      out.format = 'windows';
      // "Reply from 192.0.2.10: bytes=32 time=12ms TTL=117" / "time<1ms": a real echo reply.
      const reply = /bytes=\d+ time([=<])(\d+(?:\.\d+)?)ms TTL=(\d+)/i.exec(line);
      if (reply) {
        out.rtts.push(reply[1] === '<' ? 0 : Number(reply[2]));
        out.ttl ??= num(reply[3]);
        continue;
      }
      const sum = /Sent = (\d+), Received = (\d+)/i.exec(line);
      if (sum) {
        out.transmitted = num(sum[1]);
        out.received = num(sum[2]);
        continue;
      }
      const rt = /Minimum = (\d+)ms, Maximum = (\d+)ms, Average = (\d+)ms/i.exec(line);
      if (rt) {
        out.min = num(rt[1]);
        out.max = num(rt[2]);
        out.avg = num(rt[3]);
      }
      continue;
    }
    // iputils "icmp_seq=1 ttl=64 time=0.036 ms", BusyBox "seq=0 ttl=64 time=0.043 ms".
    const reply = /(?:icmp_)?seq=\d+ (?:ttl|hlim)=(\d+) time=(\d+(?:\.\d+)?) ms(.*)$/.exec(line);
    if (reply) {
      if (reply[3]?.includes('DUP!')) continue;
      const rtt = num(reply[2]);
      if (rtt !== undefined) out.rtts.push(rtt);
      out.ttl ??= num(reply[1]);
      continue;
    }
    // iputils "4 packets transmitted, 4 received, +6 errors, 0% packet loss, time 610ms";
    // BusyBox "3 packets transmitted, 3 packets received, 0% packet loss".
    const sum = /^(\d+) packets transmitted, (\d+) (packets )?received/.exec(line);
    if (sum) {
      out.format = sum[3] ? 'busybox' : 'iputils';
      out.transmitted = num(sum[1]);
      out.received = num(sum[2]);
      continue;
    }
    // iputils "rtt min/avg/max/mdev = a/b/c/d ms"; BusyBox "round-trip min/avg/max = a/b/c ms".
    const rt = /min\/avg\/max(?:\/(?:mdev|stddev))? = ([\d.]+)\/([\d.]+)\/([\d.]+)(?:\/([\d.]+))? ms/.exec(line);
    if (rt) {
      out.min = num(rt[1]);
      out.avg = num(rt[2]);
      out.max = num(rt[3]);
      out.stddev = num(rt[4]);
    }
  }
  if (out.format === 'unknown' && /^PING .*: \d+ data bytes$/m.test(text)) out.format = 'busybox';
  else if (out.format === 'unknown' && /^PING /m.test(text)) out.format = 'iputils';
  return out;
}

/** Mean absolute difference of successive round-trip times (RFC 3550's idea, unsmoothed). */
export function jitter(rtts: readonly number[]): number | undefined {
  if (rtts.length < 2) return undefined;
  let sum = 0;
  for (let i = 1; i < rtts.length; i++) sum += Math.abs(rtts[i]! - rtts[i - 1]!);
  return sum / (rtts.length - 1);
}

export interface PingPoint {
  fields: Record<string, FieldValue>;
  int: string[];
  resultCode: number;
}

const INT_FIELDS = ['packets_transmitted', 'packets_received', 'ttl', 'result_code', 'reply_received'];

/**
 * Turn one run into Telegraf's fields. Every outcome has packets_transmitted,
 * packets_received, percent_packet_loss and result_code; round-trip fields only when
 * there were replies, so a dead host never writes 0 ms (or NaN) as its latency.
 */
export function pingFields(o: PingOutput, exitCode: number | null): PingPoint {
  const replies = o.rtts.length;
  const transmitted = o.transmitted ?? 0;
  // Windows's summary counts "Destination host unreachable" messages as received; only an
  // echo reply with a time is an answer, so Canh counts those (reply_received keeps Telegraf's).
  const received = Math.min(o.format === 'windows' ? replies : (o.received ?? replies), transmitted);
  let resultCode: number = RESULT.success;
  if (o.dnsError) resultCode = RESULT.noSuchHost;
  else if (received === 0) resultCode = RESULT.pingError;
  // iputils exits 1 on partial loss and 2 on errors; replies decide, as Telegraf lets exit 1 pass.
  else if (exitCode !== 0 && exitCode !== 1 && replies === 0) resultCode = RESULT.pingError;

  const loss = transmitted > 0 ? ((transmitted - received) / transmitted) * 100 : 100;
  const fields: Record<string, FieldValue> = {
    packets_transmitted: transmitted,
    packets_received: received,
    percent_packet_loss: loss,
    result_code: resultCode,
  };
  if (o.format === 'windows') {
    fields.reply_received = received;
    fields.percent_reply_loss = loss;
  }
  if (resultCode === RESULT.success) {
    const min = o.min ?? (replies ? Math.min(...o.rtts) : undefined);
    const max = o.max ?? (replies ? Math.max(...o.rtts) : undefined);
    const avg = o.avg ?? (replies ? o.rtts.reduce((a, b) => a + b, 0) / replies : undefined);
    if (o.ttl !== undefined) fields.ttl = o.ttl;
    if (min !== undefined) fields.minimum_response_ms = min;
    if (avg !== undefined) fields.average_response_ms = avg;
    if (max !== undefined) fields.maximum_response_ms = max;
    if (o.stddev !== undefined) fields.standard_deviation_ms = o.stddev;
    const j = jitter(o.rtts);
    if (j !== undefined) fields.jitter_ms = round(j);
  }
  return { fields, int: INT_FIELDS.filter((f) => f in fields), resultCode };
}

// Jitter from three-decimal RTTs needs no more precision than the RTTs themselves.
const round = (n: number) => Math.round(n * 1e6) / 1e6;
