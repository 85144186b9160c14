// The [data] settings the production InfluxDB config carries (deploy/install-server.sh
// writes /etc/influxdb/influxdb.conf; docs/operating/install-collector.md explains them),
// read from that script so the benchmarks run influxd as it is installed, not with the
// test helper's defaults. The paths and the settings the helper sets itself are left out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './harness.ts';

const HELPER_SETS = new Set(['dir', 'wal-dir', 'query-log-enabled']);

/** TOML lines for test/helpers/influxd.ts's `dataConfig`, e.g. `cache-snapshot-memory-size = "256m"`. */
export function productionDataConfig(): string {
  // BENCH_INFLUX_DATA: other [data] lines for an A/B run (`;` between lines), `default` for the helper's.
  const other = process.env.BENCH_INFLUX_DATA;
  if (other !== undefined && other !== '')
    return other === 'default'
      ? ''
      : other
          .split(';')
          .map((l) => `  ${l.trim()}`)
          .join('\n');
  const script = readFileSync(join(root, 'deploy/install-server.sh'), 'utf8');
  const conf = script.slice(script.indexOf(`cat >"$influx_conf.new" <<'EOF'`));
  const data = /^\[data\]\n([\s\S]*?)^\[/m.exec(conf.slice(0, conf.indexOf('\nEOF\n')));
  if (!data) throw new Error('bench: no [data] section in deploy/install-server.sh');
  const lines = data[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !HELPER_SETS.has(l.split('=')[0]!.trim()));
  return lines.map((l) => `  ${l}`).join('\n');
}
