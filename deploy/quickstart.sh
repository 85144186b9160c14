#!/usr/bin/env bash
# Quick start: InfluxDB, the collector and one agent watching this host, all in the
# foreground with their state in ./.state (or $CANH_STATE_DIR). Ctrl-C stops everything.
# Alerting works at once: mails go to $state/mail as .eml files (no mail server needed)
# and the status page lists them; an example rule mails within a minute.
# Ports: CANH_INFLUX_PORT (8086), CANH_INFLUX_RPC_PORT (influx port + 2), CANH_COLLECTOR_PORT (8443).
# Installs what is missing: Debian's influxdb package (as root) and the npm packages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state="${CANH_STATE_DIR:-$root/.state}"
influx_port=${CANH_INFLUX_PORT:-8086}
collector_port=${CANH_COLLECTOR_PORT:-8443}
influx_rpc_port=${CANH_INFLUX_RPC_PORT:-$((influx_port + 2))}

if ! command -v influxd >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "quickstart: InfluxDB is not installed; run as root or: sudo apt-get install influxdb" >&2
    exit 1
  fi
  echo "quickstart: installing InfluxDB (Debian package influxdb)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends influxdb iputils-ping >/dev/null
fi
[ -x node_modules/.bin/node ] || npm ci --no-audit --no-fund
export PATH="$root/node_modules/.bin:$PATH"

mkdir -p "$state/influxdb" "$state/collector" "$state/agent" "$state/logs" "$state/mail"
cat > "$state/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$influx_rpc_port"
[meta]
  dir = "$state/influxdb/meta"
[data]
  dir = "$state/influxdb/data"
  wal-dir = "$state/influxdb/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$influx_port"
  log-enabled = false
[monitor]
  store-enabled = false
CONF

[ -s "$state/status-password" ] || { node -e 'process.stdout.write(require("crypto").randomBytes(12).toString("base64url"))' > "$state/status-password"; chmod 600 "$state/status-password"; }
[ -f "$state/collector.yaml" ] || cat > "$state/collector.yaml" <<CONF
listen: { host: 127.0.0.1, port: $collector_port }
state_dir: $state/collector
influx: { url: "http://127.0.0.1:$influx_port", database: canh }
status:
  users:
    - { name: admin, password: { file: $state/status-password } }
alerting:
  status_url: "http://127.0.0.1:$collector_port"
  # No mail server: each alert mail is written to this folder (open the .eml files with a
  # mail program) and listed on the status page. For real mail, replace it with smtp:.
  mail_folder: $state/mail
  grouping: { group_wait: 10s }
  recipients:
    - { email: admin@canh.localhost, language: vi, min_severity: info }
  rules:
    # An example that fires within a minute of the first data, to show a mail end to end.
    # Delete it (or list it under disabled_rules) once you have seen it.
    - name: quickstart_example
      type: threshold
      measurement: mem
      field: used_percent
      op: ">"
      value: 0
      for: 10s
      group_by: [host]
      severity: info
      unit: percent
      title: { vi: "Ví dụ cảnh báo của bản chạy thử", en: "Quick start example alert" }
      summary: { vi: "Máy {{host}} đang dùng {{value}} bộ nhớ", en: "{{host}} uses {{value}} of its memory" }
      action: { vi: "Không cần làm gì: đây là ví dụ. Xoá quy tắc quickstart_example trong collector.yaml để tắt.", en: "Nothing: this is an example. Delete the rule quickstart_example from collector.yaml to turn it off." }
      dashboard: host
CONF

pids=()
names=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "quickstart: stopping"
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; done
}
trap cleanup INT TERM EXIT

influxd -config "$state/influxdb.conf" >"$state/logs/influxd.log" 2>&1 &
pids+=($!); names+=(influxd)
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$influx_port/ping" 2>/dev/null && break
  node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===204?0:1),()=>process.exit(1))' "http://127.0.0.1:$influx_port/ping" && break
  sleep 0.2
done

if [ ! -s "$state/agent/token" ]; then
  node collector/src/cli.ts agent add --config "$state/collector.yaml" --name "$(hostname)" --agency local --site local --json \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).token))' > "$state/agent/token"
  chmod 600 "$state/agent/token"
fi

node collector/src/cli.ts serve --config "$state/collector.yaml" >"$state/logs/collector.log" 2>&1 &
pids+=($!); names+=(collector)

[ -f "$state/agent.yaml" ] || cat > "$state/agent.yaml" <<CONF
collector:
  url: ws://127.0.0.1:$collector_port/v1/agent
  token_file: $state/agent/token
agent:
  interval: 10s
  state_dir: $state/agent
# With no "inputs:" list the agent runs its default host inputs (cpu, mem, disk, net...).
CONF
sleep 1
node agent/src/cli.ts run --config "$state/agent.yaml" >"$state/logs/agent.log" 2>&1 &
pids+=($!); names+=(agent)

cat <<MSG

Canh is running (Ctrl-C stops it):
  status     http://127.0.0.1:$collector_port/status   user admin, password $(cat "$state/status-password")
  InfluxDB   http://127.0.0.1:$influx_port   database "canh", data in $state/influxdb
  collector  ws://127.0.0.1:$collector_port/v1/agent   health: http://127.0.0.1:$collector_port/healthz
  agent      $(hostname), config $state/agent.yaml
  logs       $state/logs/
  mail       $state/mail/   alert mails as .eml files, also listed on the status page;
             an example alert ("Ví dụ cảnh báo của bản chạy thử") arrives within a minute

Query the data (after ~20 s):
  curl -s 'http://127.0.0.1:$influx_port/query?db=canh&pretty=true' --data-urlencode \\
    "q=SELECT mean(usage_idle) FROM cpu WHERE time > now() - 5m GROUP BY host, time(1m)"
  node collector/src/cli.ts agent list --config $state/collector.yaml
MSG
status=0
wait -n "${pids[@]}" || status=$?
# Say which one stopped, and where its log is; the others are stopped by the trap.
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "quickstart: ${names[$i]} (pid ${pids[$i]}) exited with status $status; its log: $state/logs/${names[$i]}.log" >&2
    tail -n 5 "$state/logs/${names[$i]}.log" >&2 2>/dev/null || true
  fi
done
exit 1
