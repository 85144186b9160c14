// Maps of per-host memory (flap history, threshold windows) that keep each entry's host beside
// it: what goes when hosts leave for good (revoked, removed) and what is held of one host.

/** Delete the entries whose host is one of `hosts`; how many went. */
export function deleteByHost<V extends { host?: string | undefined }>(m: Map<string, V>, hosts: ReadonlySet<string>): number {
  let n = 0;
  for (const [key, v] of m) if (hosts.has(v.host ?? '') && m.delete(key)) n++;
  return n;
}

/** How many entries are held of this host. */
export function countByHost<V extends { host?: string | undefined }>(m: ReadonlyMap<string, V>, host: string): number {
  let n = 0;
  for (const v of m.values()) if (v.host === host) n++;
  return n;
}
