// Pure parsing of /proc/net/{tcp,tcp6,udp,udp6}: which sockets are listening (TCP state
// 0A) or bound and unconnected (UDP state 07 with no remote address), with their inode so
// the owning process can be found through /proc/<pid>/fd.
import { closeSync, openSync, readSync } from 'node:fs';

export type Proto = 'tcp' | 'tcp6' | 'udp' | 'udp6';

export interface Listener {
  proto: Proto;
  address: string;
  port: number;
  inode: number;
  uid: number;
}

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07'; // TCP_CLOSE: bound, not connected

/** Kernel hex address (host byte order per 32-bit word) to text. */
export function decodeAddress(hex: string): string | undefined {
  if (hex.length === 8) {
    const n = Number.parseInt(hex, 16);
    if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
  }
  if (hex.length === 32 && /^[0-9A-Fa-f]{32}$/.test(hex)) {
    const bytes: number[] = [];
    for (let w = 0; w < 4; w++) {
      const word = hex.slice(w * 8, w * 8 + 8);
      for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16));
    }
    // IPv4-mapped (::ffff:a.b.c.d) reads better as the IPv4 address people know.
    if (bytes.slice(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
      return `::ffff:${bytes.slice(12).join('.')}`;
    }
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return compressV6(groups);
  }
  return undefined;
}

function compressV6(groups: string[]): string {
  // RFC 5952: the longest run (≥2) of zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

/** Listening/bound sockets of one /proc/net file. Malformed lines are skipped and counted. */
export function parseProcNet(text: string, proto: Proto): { listeners: Listener[]; malformed: number } {
  const listeners: Listener[] = [];
  let malformed = 0;
  const udp = proto.startsWith('udp');
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !f[0]!.endsWith(':')) {
      if (line.trim()) malformed++;
      continue;
    }
    const [local, remote, st] = [f[1]!, f[2]!, f[3]!];
    if (st !== (udp ? UDP_UNCONNECTED : TCP_LISTEN)) continue;
    const [lh, lp] = local.split(':');
    const [, rp] = remote.split(':');
    if (udp && rp !== '0000') continue;
    const address = lh ? decodeAddress(lh) : undefined;
    const port = lp && /^[0-9A-Fa-f]{4}$/.test(lp) ? Number.parseInt(lp, 16) : NaN;
    const uid = Number(f[7]);
    const inode = Number(f[9]);
    if (!address || !Number.isInteger(port) || !Number.isInteger(inode) || !Number.isInteger(uid)) {
      malformed++;
      continue;
    }
    listeners.push({ proto, address, port, inode, uid });
  }
  return { listeners, malformed };
}

/** Whether an address only accepts connections from this host. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

// The kernel makes as many lines as a read asks room for: a small read stops its walk of the
// connection table soon after the listeners (measured with ~120 sockets: 0.09 CPU ms per read
// of the listening part with 4 KiB reads, 0.20 with 64 KiB).
const chunk = Buffer.alloc(4 * 1024);
// Longer than any line of /proc/net/tcp (150 bytes) or tcp6 (~180).
const MAX_LINE = 512;

/**
 * The state field of the /proc/net line text[start, end): "  sl: local remote st ...", the
 * kernel's one space between the fields (found without a regular expression: the agent's
 * V8 interprets those, and this runs for every listener every gather). Undefined when the
 * line is not of that shape.
 */
function stateOf(text: string, start: number, end: number): string | undefined {
  const colon = text.indexOf(': ', start);
  if (colon < 0 || colon >= end) return undefined;
  const local = text.indexOf(' ', colon + 2);
  const remote = local < 0 ? -1 : text.indexOf(' ', local + 1);
  if (remote < 0 || remote + 3 > end) return undefined;
  return text.slice(remote + 1, remote + 3);
}

/**
 * The head of /proc/net/tcp or tcp6 that holds every listening socket. The kernel writes
 * the listening table first (state 0A; kernels before 4.4 put each listener's pending
 * SYN_RECV requests, state 03, right after it), then the table of every other connection,
 * and producing that second part walks the whole connection hash: about half a millisecond
 * per file per read on a host with much memory, whatever the number of connections. Reading
 * stops at the first line of another state, so that walk is cut short when connections fill
 * a read; when no such line comes (no connections at all) the file is read to its end, and
 * a short read is taken as that end (the kernel's buffer was not filled), not asked again.
 * Returns the text up to that line; '' when the file cannot be read.
 */
export function readTcpListeners(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    let text = '';
    let checked = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return text;
      // The kernel fills a read up to its page-sized buffer unless the table ended: a read
      // shorter by more than a line was the last, and asking again (to be told 0) would walk
      // the connection table a second time.
      const last = n < chunk.length - MAX_LINE;
      text += chunk.toString('latin1', 0, n);
      // Complete lines not yet looked at (the first is the header).
      let nl: number;
      while ((nl = text.indexOf('\n', checked)) !== -1) {
        const start = checked;
        checked = nl + 1;
        if (start === 0) continue;
        const st = stateOf(text, start, nl);
        if (st !== undefined && st !== TCP_LISTEN && st !== '03') return text.slice(0, start);
      }
      if (last) return text;
    }
  } catch {
    return '';
  } finally {
    closeSync(fd);
  }
}

/** /proc/net/sockstat6 says there is no TCPv6 socket (listening ones included); false when unsure. */
export function noTcp6(sockstat6: string): boolean {
  return socketsInUse(sockstat6).tcp6 === 0;
}

const SOCKSTAT_NAMES: [string, Proto][] = [
  ['\nTCP: inuse ', 'tcp'],
  ['\nUDP: inuse ', 'udp'],
  ['\nTCP6: inuse ', 'tcp6'],
  ['\nUDP6: inuse ', 'udp6'],
];

/**
 * Sockets in use by protocol, from /proc/net/sockstat and sockstat6 ("TCP: inuse 3 orphan…",
 * "UDP6: inuse 0"): every TCP socket in the kernel's tables (listeners included) and every
 * bound UDP socket of this network namespace. A protocol not found is left out (unsure).
 */
export function socketsInUse(sockstat: string): Partial<Record<Proto, number>> {
  const out: Partial<Record<Proto, number>> = {};
  const text = `\n${sockstat}`;
  for (const [name, proto] of SOCKSTAT_NAMES) {
    const at = text.indexOf(name);
    if (at < 0) continue;
    let end = at + name.length;
    while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
    if (end > at + name.length) out[proto] = Number(text.slice(at + name.length, end));
  }
  return out;
}

/**
 * A small procfs file kept open and read again from its start in one read into a kept
 * buffer (sockstat: ~130 bytes). The kernel fills a read up to its page-sized buffer unless
 * the file ended, so a read that leaves more than a line of room was the whole file; a
 * longer one is read on to its end. '' when unreadable (tried again at the next read).
 */
export class KeptProcFile {
  private fd: number | undefined;
  private readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  read(): string {
    try {
      this.fd ??= openSync(this.path, 'r');
      let n = readSync(this.fd, chunk, 0, chunk.length, 0);
      if (n < chunk.length - MAX_LINE) return chunk.toString('latin1', 0, n);
      let text = '';
      for (let at = 0; n > 0; at += n, n = readSync(this.fd, chunk, 0, chunk.length, at)) text += chunk.toString('latin1', 0, n);
      return text;
    } catch {
      this.close();
      return '';
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
