#!/usr/bin/env bash
# Makes the secret files compose.yaml reads (deploy/compose/secrets/, 0600 each, owned by
# the uid of the container that reads it): InfluxDB's admin, the collector's and Grafana's
# InfluxDB users, the status page's admin, Grafana's admin, and the TLS pair the
# collector serves on 443 (self-signed for NAME unless --tls-cert/--tls-key are given).
# Existing files are kept, so running it again changes nothing.
#   sudo ./make-secrets.sh collector.tinh.gov.vn [--tls-cert full-chain.pem --tls-key key.pem]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${CANH_SECRETS_DIR:-$here/secrets}
name=${1:?usage: make-secrets.sh NAME [--tls-cert F --tls-key F]}
shift
cert= key=
while [ $# -gt 0 ]; do
  case "$1" in
    --tls-cert) cert=${2:?}; shift 2 ;;
    --tls-key) key=${2:?}; shift 2 ;;
    *) echo "make-secrets.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$name" in *[!A-Za-z0-9.-]*|'') echo "make-secrets.sh: NAME must be a host name: $name" >&2; exit 2 ;; esac
umask 077
mkdir -p "$dir"
# Who reads what: the collector image's user (Dockerfile.collector), Grafana's image user, InfluxDB's (root).
collector_uid=10001 grafana_uid=472
own() { if [ "$(id -u)" = 0 ]; then chown "$1" "$2"; else echo "make-secrets.sh: not root: give $2 to uid $1 yourself (chown $1 $2)" >&2; fi; }
for s in influx_admin influx_collector influx_grafana status_admin grafana_admin; do
  f="$dir/$s"
  [ -s "$f" ] || { head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$f"; echo "made $f"; }
  chmod 0600 "$f"
done
if [ -n "$cert" ]; then cp "$cert" "$dir/tls_cert"; cp "$key" "$dir/tls_key"
elif [ ! -s "$dir/tls_cert" ]; then
  openssl req -x509 -newkey rsa:2048 -sha256 -days 825 -nodes -subj "/CN=$name" -addext "subjectAltName=DNS:$name" \
    -keyout "$dir/tls_key" -out "$dir/tls_cert" 2>/dev/null
  echo "made a self-signed pair for $name ($dir/tls_cert: give it to agents as collector.ca_file)"
fi
chmod 0600 "$dir/tls_key"; chmod 0644 "$dir/tls_cert"
for s in influx_collector status_admin tls_key; do own $collector_uid "$dir/$s"; done
for s in influx_grafana grafana_admin; do own $grafana_uid "$dir/$s"; done
