// Pure parsing of /proc/net/{tcp,tcp6,udp,udp6}: which sockets are listening (TCP state
// 0A) or bound and unconnected (UDP state 07 with no remote address), with their inode so
// the owning process can be found through /proc/<pid>/fd.

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
  for (let i = 0; i < 8; ) {
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
