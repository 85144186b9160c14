// Pure parsing of the kernel's IPv4 neighbour table (/proc/net/arp) and routing table
// (/proc/net/route, to know the default gateway whose MAC matters most).

export interface Neighbour {
  ip: string;
  mac: string;
  interface: string;
}

const ATF_COM = 0x2; // entry complete (resolved)
const RTF_GATEWAY = 0x2;
const ZERO_MAC = '00:00:00:00:00:00';
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Resolved neighbours; incomplete entries (flags 0, MAC all zero) are left out. */
export function parseArp(text: string): { neighbours: Neighbour[]; malformed: number } {
  const neighbours: Neighbour[] = [];
  let malformed = 0;
  for (const line of text.split('\n').slice(1)) {
    if (!line.trim()) continue;
    const f = line.trim().split(/\s+/);
    if (f.length < 6) {
      malformed++;
      continue;
    }
    const [ip, , flagsHex, macRaw, , iface] = f as [string, string, string, string, string, string];
    const mac = macRaw.toLowerCase();
    const flags = Number.parseInt(flagsHex, 16);
    const ipOk =
      IPV4.exec(ip)
        ?.slice(1)
        .every((o) => Number(o) <= 255) ?? false;
    if (!ipOk || !MAC.test(mac) || Number.isNaN(flags) || !/^[\w.@:-]{1,32}$/.test(iface)) {
      malformed++;
      continue;
    }
    if (!(flags & ATF_COM) || mac === ZERO_MAC) continue;
    neighbours.push({ ip, mac, interface: iface });
  }
  return { neighbours, malformed };
}

/** Addresses of the default gateways (one per interface with a default route). */
export function parseDefaultGateways(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [, dest, gw, flags, , , , mask] = f as string[];
    if (dest !== '00000000' || mask !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(gw!)) continue;
    if (!(Number.parseInt(flags!, 16) & RTF_GATEWAY)) continue;
    const n = Number.parseInt(gw!, 16);
    out.push([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.'));
  }
  return [...new Set(out)];
}
