#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what the tests need when it is
# missing (Debian packages as root, npm packages), then runs vitest once over every
# workspace (after the typecheck and lint) and prints the plain closing line
# "N passed, N failed, N skipped".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Debian packages the integration tests talk to (real InfluxDB, snmpd, ping, namespaces).
need=()
command -v influxd >/dev/null || need+=(influxdb)
command -v snmpd >/dev/null || [ -x /usr/sbin/snmpd ] || need+=(snmpd)
command -v snmpget >/dev/null || need+=(snmp)
command -v ping >/dev/null || need+=(iputils-ping)
command -v ip >/dev/null || need+=(iproute2)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
command -v curl >/dev/null || need+=(curl)   # http_response timing test compares with curl -w
command -v chromium >/dev/null || need+=(chromium)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v soffice >/dev/null || need+=(libreoffice-writer-nogui)
[ -e /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf ] || need+=(fonts-liberation2)   # Times New Roman metrics for the report (PDF, DOCX rendering)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)   # web_access end-to-end test; collector-artifact test (nginx -t and a proxy run)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)   # test/ha-storage.test.ts: an agent through an nginx stream upstream
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)   # test/ha-haproxy.test.ts: agents through HAProxy (TCP mode) in front of two collectors
[ -n "$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null)" ] || need+=(faketime)   # steps the wall clock of real processes in test/faults.test.ts
[ -n "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null)" ] || need+=(postgresql)   # shared collector state (collector/src/state, test/ha.test.ts)
command -v mcs >/dev/null || need+=(mono-mcs libmono-system-serviceprocess4.0-cil)   # compiles the Windows service wrapper in test/packaging
[ -x /usr/bin/fail2ban-server ] || need+=(fail2ban)   # test/detect-live.test.ts: a private fail2ban-server beside canh-agent on one live log
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test: installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # The tests run fail2ban-server with a private config only; the package's own service is not wanted.
    if printf '%s\n' "${need[@]}" | grep -qx fail2ban; then systemctl disable --now fail2ban >/dev/null 2>&1 || true; fi
  else
    echo "test: missing Debian packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

[ -x node_modules/.bin/vitest ] || npm ci --no-audit --no-fund
export PATH="$root/node_modules/.bin:$PATH"

status=0
echo "test: typecheck"; tsc -p tsconfig.json --noEmit || status=$?
echo "test: lint"; eslint . || status=$?
echo "test: format"; prettier --check . --log-level warn || status=$?

report=$(mktemp)
vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
[ $status -eq 0 ] || echo "test: failed (typecheck, lint or tests; see above)" >&2
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || true
rm -f "$report"
exit $status
