// The connection to one collector: the WebSocket opened with the bearer token (and, over
// wss:, the trusted CAs), the hello that opens the session, and the list of collectors.
// With several collector URLs the transport sticks to one and moves to the next when a
// connection fails or is lost (failOver), so the spool drains into whichever collector answers.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { encode, MAX_COLLECTOR_FRAME_BYTES, PROTOCOL_VERSION } from '@canh/protocol';
import type { Spool } from '@canh/core';
import { collectorCAs } from '../trust.ts';
import type { TransportOptions } from './options.ts';

/** A WebSocket to the collector at `url`, not yet open. */
export function openSocket(url: string, opts: TransportOptions): WebSocket {
  return new WebSocket(url, {
    headers: { authorization: `Bearer ${opts.token}` },
    perMessageDeflate: false, // costs ~10x throughput; batches are the compression
    handshakeTimeout: 10_000,
    // wss: the system store and Node's bundled CAs, with ca_file (read again at each connect) added.
    ca: url.startsWith('wss:') ? collectorCAs(opts.caFile ? readFileSync(opts.caFile, 'utf8') : undefined) : undefined,
    rejectUnauthorized: !opts.insecureSkipVerify,
    // The largest frame a collector legitimately sends (a central config in a welcome);
    // ws's default of 100 MiB let a hostile one balloon the agent's memory.
    maxPayload: MAX_COLLECTOR_FRAME_BYTES,
  });
}

/** The hello frame: who this agent is, what its spool holds, and the central config it runs. */
export function helloFrame(opts: TransportOptions, spool: Spool, configVersion: number | undefined): string {
  const s = spool.stats();
  return encode({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    agent_version: opts.agentVersion,
    hostname: opts.hostname,
    os: `${process.platform}-${process.arch}`,
    spool_batches: s.batches,
    dropped_points: s.droppedPoints,
    ...(configVersion !== undefined ? { config_version: configVersion } : {}),
  });
}

/** The collectors to try; the transport sticks to one until a connection to it fails. */
export class CollectorUrls {
  private readonly urls: readonly string[];
  private current: number;
  /** Changes of collector after a failed or lost connection, since start. */
  failovers = 0;

  constructor(opts: TransportOptions) {
    this.urls = opts.urls?.length ? [...opts.urls] : opts.url ? [opts.url] : [];
    if (!this.urls.length) throw new Error('Transport: no collector URL');
    this.current = Math.abs(Math.trunc(opts.firstUrl ?? Math.random() * this.urls.length)) % this.urls.length;
  }

  /** The collector connected to, or to try next. */
  get url(): string {
    return this.urls[this.current]!;
  }

  /**
   * The connection to `url` failed or was lost: the next attempt goes to the next collector
   * of the list (after the same jittered backoff), and stays there while it serves. What
   * the spool holds goes to whichever collector answers; replay is harmless (points are
   * keyed by their time), so nothing needs to know where a batch went before.
   */
  failOver(url: string, log: Logger): void {
    if (this.urls.length < 2) return;
    this.current = (this.current + 1) % this.urls.length;
    this.failovers++;
    log.info({ from: url, to: this.url, failovers: this.failovers }, 'collector connection failed; trying the next collector');
  }
}
