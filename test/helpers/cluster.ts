// What the tests of several collectors on one PostgreSQL (test/ha*.test.ts) share: starting
// `canh-collector serve` and waiting for its /healthz, and polling through errors.
import { join } from 'node:path';
import { pollUntil, spawnManaged, type ManagedProcess } from './process.ts';

const cli = join(import.meta.dirname, '../../collector/src/cli.ts');

/** `canh-collector serve --config configFile`, resolved once it answers /healthz on `port`. */
export async function serveCollector(id: string, port: number, configFile: string): Promise<ManagedProcess> {
  const proc = spawnManaged(process.execPath, [cli, 'serve', '--config', configFile], { name: `collector ${id}`, ringSize: 5_000 });
  await pollUntil(
    async () => {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      await r?.body?.cancel();
      return r ? true : undefined;
    },
    { timeoutMs: 60_000, what: `collector ${id} to answer /healthz`, abortIf: () => (proc.running ? undefined : proc.describe()) },
  );
  return proc;
}

/** Poll `f` until it gives a value; a throw counts as "not yet" (a collector being killed, a refused connection). */
export async function until<T>(f: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  return pollUntil(
    async () => {
      try {
        return (await f()) ?? undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs, what },
  );
}

/** Where a test collector of the cluster keeps things: its folder, one InfluxDB, the shared PostgreSQL. */
export interface ClusterNodeYaml {
  id: string;
  port: number;
  /** The collector's state_dir (and, with `ownDisk`, its InfluxDB data folder as it judges it). */
  stateDir: string;
  influxUrl: string;
  pgUrl: string;
  passwordFile: string;
  ownDisk?: boolean;
}

/** The head of a cluster collector's YAML (listener, folders, InfluxDB, PostgreSQL state); a test appends its alerting. */
export function clusterNodeYaml(o: ClusterNodeYaml): string {
  return `listen: { host: 127.0.0.1, port: ${o.port} }
state_dir: ${o.stateDir}
influx: { url: ${o.influxUrl}, database: canh, flush_interval: 100 }
${o.ownDisk ? `storage: { influx_data_dir: ${o.stateDir} }\n` : ''}state:
  postgres:
    url: ${o.pgUrl}
    password_file: ${o.passwordFile}
    collector_id: ${o.id}
    leader_poll: 300ms
`;
}
