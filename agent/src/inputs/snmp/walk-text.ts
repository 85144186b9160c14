// Reads `snmpwalk -On` / `snmpget -On` output (Net-SNMP's tools, no MIBs) into varbinds
// shaped exactly as net-snmp decodes them off the wire, so captured walks of real
// devices in testdata/ can feed the pure table and rate code.
import { T, type Varbind } from '../snmp-shared/varbind.ts';

function bigintBuffer(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  // Devices encode Counter64 as a BER integer: a leading 0x00 when the top bit is set.
  const buf = Buffer.from(hex, 'hex');
  return buf.length > 0 && buf[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), buf]) : buf;
}

export function parseWalkText(text: string): Varbind[] {
  const out: Varbind[] = [];
  for (const line of text.split('\n')) {
    const m = /^\.?([\d.]+) = (?:([A-Za-z0-9-]+): )?(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, oid, kind, rest] = m as unknown as [string, string, string | undefined, string];
    switch (kind) {
      case 'INTEGER':
        out.push({ oid, type: T.Integer, value: Number(/-?\d+/.exec(rest)?.[0]) });
        break;
      case 'STRING':
        out.push({ oid, type: T.OctetString, value: Buffer.from(rest.replace(/^"|"$/g, ''), 'utf8') });
        break;
      case 'Hex-STRING':
        out.push({ oid, type: T.OctetString, value: Buffer.from(rest.replace(/\s+/g, ''), 'hex') });
        break;
      case 'Gauge32':
        out.push({ oid, type: T.Gauge32, value: Number(rest) });
        break;
      case 'Counter32':
        out.push({ oid, type: T.Counter32, value: Number(rest) });
        break;
      case 'Counter64':
        out.push({ oid, type: T.Counter64, value: bigintBuffer(BigInt(rest)) });
        break;
      case 'Timeticks':
        out.push({ oid, type: T.TimeTicks, value: Number(/\((\d+)\)/.exec(rest)?.[1]) });
        break;
      case 'OID':
        out.push({ oid, type: T.OID, value: rest.replace(/^\./, '') });
        break;
      case 'IpAddress':
        out.push({ oid, type: T.IpAddress, value: rest });
        break;
      case undefined:
        if (rest === '""') out.push({ oid, type: T.OctetString, value: Buffer.alloc(0) });
        break;
      default:
        break;
    }
  }
  return out;
}
