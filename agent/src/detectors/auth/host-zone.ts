// The zone log times without one (syslog "Nov 27 20:15:53") are written in: the host's own,
// unless the config names one. A UTC server read as Asia/Ho_Chi_Minh would date every
// attack 7 h in the past, and the collector would set it aside as too old.
// Order: TZ (as the C library reads it), /etc/localtime's link target, /etc/timezone
// (Debian), then what the runtime says (on Windows: the system zone), then UTC.
import { readFileSync, readlinkSync } from 'node:fs';
import { validTimeZone } from '@canh/core/time-zone';

export interface ZoneSources {
  env: Record<string, string | undefined>;
  readlink(path: string): string;
  readFile(path: string): string;
  runtimeZone(): string | undefined;
}

const real: ZoneSources = {
  env: process.env,
  readlink: (p) => readlinkSync(p),
  readFile: (p) => readFileSync(p, 'utf8'),
  runtimeZone: () => Intl.DateTimeFormat().resolvedOptions().timeZone,
};

function fromZoneinfoPath(p: string): string | undefined {
  const i = p.indexOf('zoneinfo/');
  if (i < 0) return undefined;
  return p.slice(i + 'zoneinfo/'.length).replace(/^(?:posix|right)\//, '');
}

/** The IANA name of the host's zone, and where it came from. */
export function hostTimeZone(src: ZoneSources = real): { zone: string; from: string } {
  const tz = src.env.TZ?.replace(/^:/, '');
  if (tz) {
    const z = tz.startsWith('/') ? fromZoneinfoPath(tz) : tz;
    if (z && validTimeZone(z)) return { zone: z, from: 'TZ' };
  }
  try {
    const z = fromZoneinfoPath(src.readlink('/etc/localtime'));
    if (z && validTimeZone(z)) return { zone: z, from: '/etc/localtime' };
  } catch {
    // not a link (a copy, or Windows): the next source
  }
  try {
    const z = src.readFile('/etc/timezone').trim();
    if (z && validTimeZone(z)) return { zone: z, from: '/etc/timezone' };
  } catch {
    // absent: the next source
  }
  const z = src.runtimeZone();
  if (z && z !== 'Etc/Unknown' && validTimeZone(z)) return { zone: z, from: 'system' };
  return { zone: 'UTC', from: 'default' };
}

/** The configured zone, or the host's. */
export function effectiveZone(configured: string | undefined): string {
  return configured ?? hostTimeZone().zone;
}
