// The `net_response` input: can a TCP (or UDP) service be reached, how fast, and does it
// answer what it should (SMTP "220", SSH "SSH-2.0")? Telegraf's net_response names.
import { z } from 'zod';
import { duration } from '@canh/core';
import { defineInput } from '../types.ts';
import { netPoint, splitAddress } from './parse.ts';
import { probeTcp, probeUdp } from './probe.ts';
import { keyedOffset, waitUntil } from '../spread.ts';
import { performance } from 'node:perf_hooks';

const regex = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

export const config = z
  .object({
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
    /** "host:port" or "[v6addr]:port". */
    address: z.string().refine((a) => splitAddress(a) !== undefined, 'not "host:port"'),
    /** Connect timeout (TCP). */
    timeout: duration({ min: 1 }).default(1000),
    /** How long to wait for the answer when `expect` is set (and for UDP). */
    read_timeout: duration({ min: 1 }).default(1000),
    /** Sent once connected (TCP) or as the request datagram (UDP). */
    send: z.string().optional(),
    /** Regular expression the first line of the answer must match, e.g. "^220" for SMTP. */
    expect: regex.optional(),
  })
  .strict()
  .refine((c) => c.protocol === 'tcp' || c.send !== undefined, { message: 'udp needs "send" (a request the service answers)', path: ['send'] });

export default defineInput({
  name: 'net_response',
  description: 'TCP/UDP service reachability, connect/answer time and banner check (Telegraf net_response)',
  enabledByDefault: false,
  config,
  create(c, ctx) {
    const { host, port } = splitAddress(c.address)!;
    const expect = c.expect !== undefined ? new RegExp(c.expect) : undefined;
    return {
      async gather(acc) {
        // Not in the tick's millisecond, and not with the other net_response inputs (spread.ts).
        await waitUntil(performance.now(), keyedOffset(`${c.protocol} ${c.address}`, ctx.intervalMs, c.timeout + c.read_timeout), () => performance.now());
        const o = { host, port, timeoutMs: c.timeout, readTimeoutMs: c.read_timeout, send: c.send, expect };
        const probe = c.protocol === 'tcp' ? await probeTcp(o) : await probeUdp(o);
        if (probe.result !== 'success') ctx.log.debug({ address: c.address, result: probe.result }, 'net_response check failed');
        const p = netPoint(host, port, c.protocol, probe, expect !== undefined);
        acc.addPoint('net_response', p.tags, p.fields, { int: p.int });
      },
    };
  },
});
