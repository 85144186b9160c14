// Pure parts of the reboot input: the boot time out of /proc/stat and the decision whether
// the host booted again since the state we kept.

/** `btime` of /proc/stat: the boot time in seconds since the epoch; undefined if absent or nonsense. */
export function parseBtime(stat: string): number | undefined {
  const m = /^btime\s+(\d{1,12})\s*$/m.exec(stat);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n : undefined;
}

/** /proc/sys/kernel/random/boot_id: a UUID the kernel draws anew at every boot. */
export function parseBootId(text: string | undefined): string | undefined {
  const id = text?.trim().toLowerCase();
  return id && /^[0-9a-f-]{32,36}$/.test(id) ? id : undefined;
}

export interface BootState {
  boot_time: number;
  boot_id?: string;
}

/**
 * Did the host reboot between `prev` and `cur`? boot_id answers exactly when both runs
 * read it. btime alone moves when the wall clock is stepped (NTP, an admin, a VM resumed),
 * because the kernel derives it from the clock, so without boot_id a change smaller than
 * `toleranceS` is taken for a clock step, not a reboot.
 */
export function rebooted(prev: BootState, cur: BootState, toleranceS: number): boolean {
  if (prev.boot_id && cur.boot_id) return prev.boot_id !== cur.boot_id;
  return Math.abs(cur.boot_time - prev.boot_time) > toleranceS;
}
