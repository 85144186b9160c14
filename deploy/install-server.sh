#!/usr/bin/env bash
# Installs Canh's data-center side on Debian 12 or 13, as root, in one command:
# InfluxDB (Debian's package) hardened, the collector artifact with its systemd unit and
# monthly report timer, a generated /etc/canh/collector.yaml, Grafana's provisioning
# files, and optionally nginx with TLS in front and Grafana itself.
#
#   sudo ./install-server.sh --server-name collector.tinh.gov.vn --with-nginx
#   sudo ./install-server.sh --with-nginx --tls-cert full-chain.pem --tls-key key.pem
#   sudo ./install-server.sh                       # again: upgrade; secrets, config kept
#   sudo ./install-server.sh --uninstall [--purge]
#
# Options:
#   --artifact PATH      the collector artifact: canh-collector-*.tar.gz or its unpacked
#                        folder (default: the artifact this script is part of, share/..)
#   --server-name NAME   the name (or IPv4 address) agents and browsers use (default: hostname -f)
#   --with-nginx         Debian's nginx on 443 in front of the collector (127.0.0.1:8443)
#   --tls-cert F --tls-key F   the certificate (full chain) and key for nginx; without
#                        them a self-signed pair for NAME is made (agents then need ca_file)
#   --with-grafana URL KEYFILE  add Grafana's APT repository (URL and its signing key as
#                        Grafana's installation guide gives them) and install grafana
#   --influx-url URL     where InfluxDB answers (default http://127.0.0.1:8086)
#   --no-start           install and enable, start nothing
#   --uninstall          stop and remove the collector, its units and nginx site
#   --purge              with --uninstall: also /etc/canh's collector files, the collector's
#                        state and user (InfluxDB's data and package stay: apt-get purge influxdb)
# DESTDIR=/some/dir stages every file under that folder and changes nothing else: no
# apt-get, useradd, chown or systemctl. With DESTDIR and --influx-url, InfluxDB's users are
# created through that URL (tests run a real influxd from the staged config).
set -euo pipefail
umask 022

destdir=${DESTDIR:-}
destdir=${destdir%/}
here=$(cd "$(dirname "$0")" && pwd)
opt=/opt/canh-collector
etc=/etc/canh
state=/var/lib/canh-collector
conf_final=$etc/collector.yaml
influx_db=canh
influx_writer=canh_collector
influx_reader=canh_grafana

artifact= server_name= with_nginx=0 tls_cert= tls_key= grafana_url= grafana_key= influx_url= start=1 uninstall=0 purge=0
did=()
say() { echo "install-server: $*"; }
done_() { did+=("$*"); say "$*"; }
die() { echo "install-server: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --artifact) artifact=${2:?--artifact needs a path}; shift 2 ;;
    --server-name) server_name=${2:?--server-name needs a name}; shift 2 ;;
    --with-nginx) with_nginx=1; shift ;;
    --tls-cert) tls_cert=${2:?--tls-cert needs a file}; shift 2 ;;
    --tls-key) tls_key=${2:?--tls-key needs a file}; shift 2 ;;
    --with-grafana) grafana_url=${2:?--with-grafana needs the repository URL}; grafana_key=${3:?--with-grafana needs the key file}; shift 3 ;;
    --influx-url) influx_url=${2:?--influx-url needs a URL}; shift 2 ;;
    --no-start) start=0; shift ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

staged() { [ -n "$destdir" ]; }
live() { [ -z "$destdir" ]; }
d() { echo "$destdir$1"; }

# ---- checks, before anything changes ---------------------------------------------------
if live; then
  [ "$(id -u)" = 0 ] || die "run as root (sudo), or set DESTDIR to stage the files"
  # shellcheck disable=SC1091
  . /etc/os-release 2>/dev/null || die "no /etc/os-release: this installer knows Debian 12 and 13"
  case "${ID:-}:${VERSION_ID:-}" in debian:12|debian:13) ;; *) die "this installer knows Debian 12 and 13, not ${PRETTY_NAME:-this system}" ;; esac
  if [ "$start" = 1 ] && [ ! -d /run/systemd/system ]; then
    die "systemd is not running here (no /run/systemd/system): nothing was changed; use --no-start to install without starting, or a host booted with systemd"
  fi
fi
if [ -n "$tls_cert$tls_key" ]; then
  [ -n "$tls_cert" ] && [ -n "$tls_key" ] || die "--tls-cert and --tls-key go together"
  [ -r "$tls_cert" ] && [ -r "$tls_key" ] || die "cannot read $tls_cert or $tls_key"
  [ "$with_nginx" = 1 ] || die "--tls-cert/--tls-key are for nginx: add --with-nginx (or set listen.tls in collector.yaml)"
fi
if [ -n "$grafana_key" ] && [ ! -r "$grafana_key" ]; then die "cannot read Grafana's key file $grafana_key"; fi
server_name=${server_name:-$(hostname -f 2>/dev/null || hostname)}
case "$server_name" in *[!A-Za-z0-9.-]*|'') die "--server-name must be a host name (letters, digits, dots, dashes): $server_name" ;; esac

systemctl_() { if live && [ -d /run/systemd/system ]; then systemctl "$@"; fi; }

# ---- uninstall ---------------------------------------------------------------------------
if [ "$uninstall" = 1 ]; then
  for u in canh-collector-report.timer canh-collector-report.service canh-collector.service; do
    systemctl_ disable --now "$u" 2>/dev/null || true
    rm -f "$(d /etc/systemd/system/$u)"
  done
  systemctl_ daemon-reload
  rm -rf "$(d $opt)" "$(d $opt).new" "$(d $opt).old"
  rm -f "$(d /usr/local/bin/canh-collector)"
  if [ -e "$(d /etc/nginx/sites-available/canh.conf)" ]; then
    rm -f "$(d /etc/nginx/sites-enabled/canh.conf)" "$(d /etc/nginx/sites-available/canh.conf)"
    if live && command -v nginx >/dev/null; then nginx -t -q && systemctl_ reload nginx || true; fi
    say "removed the nginx site canh.conf"
  fi
  rm -f "$(d /etc/grafana/provisioning/datasources/canh.yaml)" "$(d /etc/grafana/provisioning/dashboards/canh.yaml)"
  rm -rf "$(d /var/lib/grafana/dashboards/canh)"
  if [ "$purge" = 1 ]; then
    rm -f "$(d $etc)"/collector.yaml "$(d $etc)"/influx*.password "$(d $etc)"/status-admin.password "$(d $etc)"/grafana-admin.password
    rmdir "$(d $etc)" 2>/dev/null || true
    rm -rf "$(d /etc/ssl/canh)" "$(d $state)"
    if live && getent passwd canh-collector >/dev/null; then userdel canh-collector || true; fi
    say "removed the collector, its units, config, secrets, TLS files, state and user; InfluxDB (package, data, users) stays: apt-get purge influxdb removes it"
  else
    say "removed the collector and its units; kept $etc, $state and InfluxDB (--purge removes the collector's part)"
  fi
  exit 0
fi

# ---- the artifact ------------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$artifact" ]; then
  for c in "$here/.." "$here/../dist/canh-collector"; do
    if [ -x "$c/bin/canh-collector" ] && [ -x "$c/lib/node" ]; then artifact=$(cd "$c" && pwd); break; fi
  done
  [ -n "$artifact" ] || die "no collector artifact next to this script; pass --artifact canh-collector-*.tar.gz (build one with: npm run build:collector)"
fi
if [ -f "$artifact" ]; then
  tar -xzf "$artifact" -C "$work" || die "cannot unpack $artifact"
  src="$work/canh-collector"
else
  src=$artifact
fi
[ -x "$src/bin/canh-collector" ] && [ -x "$src/lib/node" ] || die "$artifact is not a collector artifact (no bin/canh-collector, lib/node)"
new_version=$("$src/bin/canh-collector" --version) || die "$artifact does not run on this host (wrong architecture?)"
share="$src/share"

# ---- Debian packages ---------------------------------------------------------------------
pkgs=(influxdb chromium fonts-dejavu-core openssl curl)
# nginx-light (Debian 12) or nginx-core serve as well as nginx.
[ "$with_nginx" = 1 ] && ! command -v nginx >/dev/null && pkgs+=(nginx)
# gpg turns Grafana's armoured key into the keyring APT reads.
[ -n "$grafana_url" ] && pkgs+=(gpg)
if live; then
  missing=()
  for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
    done_ "installed Debian packages: ${missing[*]}"
  fi
  if ! getent passwd canh-collector >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir "$state" --shell /usr/sbin/nologin canh-collector
    done_ "created the system user canh-collector"
  fi
else
  say "staged (DESTDIR=$destdir): would install Debian packages ${pkgs[*]} and create the user canh-collector"
fi

# place NEW DEST MODE: move NEW to DEST unless DEST already holds the same; true if it changed.
changed=0
place() {
  if [ -e "$2" ] && cmp -s "$1" "$2"; then rm -f "$1"; return 1; fi
  chmod "$3" "$1"; mv -f "$1" "$2"; changed=1; return 0
}

# owner USER[:GROUP] FILE...: chown on the live system only.
owner() { if live; then chown "$@"; fi; }

secret() { # secret FILE OWNER: a new random password in FILE (0600), unless FILE exists
  local f; f=$(d "$1")
  if [ ! -s "$f" ]; then
    (umask 077; head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$f")
    chmod 0600 "$f"; owner "$2" "$f"
    done_ "generated $1 (0600, $2)"
  fi
}

# ---- secrets and config ------------------------------------------------------------------
# 0755: the agent (canh-agent, often on the same host) keeps its files here too; each
# secret file is 0600 and the config 0640, so the folder itself hides nothing.
install -d -m 0755 "$(d $etc)"
secret $etc/influx-admin.password root
secret $etc/influx.password canh-collector
secret $etc/influx-grafana.password root
secret $etc/status-admin.password canh-collector

conf=$(d $conf_final)
if [ ! -e "$conf" ]; then
  cat >"$conf" <<EOF
# Canh collector, generated by install-server.sh; every option: docs/operating/config-reference.md.
# Check it with: canh-collector --validate --config $conf_final
listen:
  # nginx (or another TLS proxy) in front holds the TLS; see listen.tls to serve it here.
  host: 127.0.0.1
  port: 8443
state_dir: $state
log_level: info
influx:
  url: http://127.0.0.1:8086
  database: $influx_db
  username: $influx_writer
  password: { file: $etc/influx.password }
  # The database is made by install-server.sh; the writer may not create databases.
  create_database: false
status:
  users:
    - { name: admin, password: { file: $etc/status-admin.password } }
report:
  language: vi
  time_zone: Asia/Ho_Chi_Minh
# Alert rules and e-mail: see collector/src/alerts/README.md and deploy/collector.example.yaml.
EOF
  chmod 0640 "$conf"; owner root:canh-collector "$conf"
  done_ "wrote $conf_final (InfluxDB user $influx_writer, status page user admin)"
else
  say "kept $conf_final as it is"
fi

# ---- InfluxDB: hardened config -----------------------------------------------------------
influx_conf=$(d /etc/influxdb/influxdb.conf)
install -d -m 0755 "$(dirname "$influx_conf")"
if [ -e "$influx_conf" ] && ! grep -q '^# canh: install-server.sh' "$influx_conf" && [ ! -e "$influx_conf.canh-orig" ]; then
  cp -p "$influx_conf" "$influx_conf.canh-orig"
  say "kept Debian's InfluxDB config as /etc/influxdb/influxdb.conf.canh-orig"
fi
cat >"$influx_conf.new" <<'EOF'
# canh: install-server.sh wrote this file (Debian's own is influxdb.conf.canh-orig).
# Authentication on, every listener on the loopback only: the collector and Grafana
# run on this host; nothing else talks to InfluxDB.
reporting-disabled = true
bind-address = "127.0.0.1:8088"

[meta]
  dir = "/var/lib/influxdb/meta"

[data]
  dir = "/var/lib/influxdb/data"
  wal-dir = "/var/lib/influxdb/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:8086"
  auth-enabled = true
  log-enabled = false
  pprof-enabled = false
  max-body-size = 25000000

[continuous_queries]
  log-enabled = false

[logging]
  level = "warn"
EOF
if [ -e "$influx_conf" ] && cmp -s "$influx_conf" "$influx_conf.new"; then rm -f "$influx_conf.new"; influx_changed=0
else mv "$influx_conf.new" "$influx_conf"; chmod 0644 "$influx_conf"; influx_changed=1; done_ "wrote /etc/influxdb/influxdb.conf (auth on, 127.0.0.1 only)"; fi

# ---- the collector artifact --------------------------------------------------------------
target=$(d $opt)
old_version=
[ -x "$target/bin/canh-collector" ] && old_version=$("$target/bin/canh-collector" --version 2>/dev/null || true)
rm -rf "$target.new"
mkdir -p "$(dirname "$target")"
cp -a "$src" "$target.new"
# The new program checks the config before it replaces the old one. Staged, the config's
# absolute paths are read under DESTDIR.
check_conf=$conf
if staged; then
  check_conf="$work/collector.yaml"
  sed "s#$etc/#$destdir$etc/#g; s#^state_dir: .*#state_dir: $work/state#" "$conf" >"$check_conf"
fi
if live; then
  runuser -u canh-collector -- "$target.new/bin/canh-collector" --validate --config "$check_conf" >/dev/null || die "$conf_final does not pass --validate with $new_version; the installed collector was left as it was"
else
  "$target.new/bin/canh-collector" --validate --config "$check_conf" >/dev/null || die "$conf_final does not pass --validate with $new_version; nothing was replaced"
fi
rm -rf "$target.old"
[ -e "$target" ] && mv "$target" "$target.old"
mv "$target.new" "$target"
rm -rf "$target.old"
install -d -m 0755 "$(d /usr/local/bin)"
ln -sfn $opt/bin/canh-collector "$(d /usr/local/bin/canh-collector)"
if [ "$old_version" = "$new_version" ]; then say "$new_version in $opt (reinstalled)"
else done_ "installed $new_version in $opt${old_version:+ (was $old_version)}, canh-collector on PATH (/usr/local/bin)"; fi
install -d -m 0750 "$(d $state)" "$(d $state)/reports"; owner -R canh-collector:canh-collector "$(d $state)"

# ---- systemd units -----------------------------------------------------------------------
install -d -m 0755 "$(d /etc/systemd)" "$(d /etc/systemd/system)"
units_changed=0
for u in canh-collector.service canh-collector-report.service canh-collector-report.timer; do
  cp "$share/systemd/$u" "$work/$u"
  if place "$work/$u" "$(d /etc/systemd/system/$u)" 0644; then units_changed=1; fi
done
[ "$units_changed" = 1 ] && done_ "installed the units canh-collector.service, canh-collector-report.{service,timer} (monthly PDF on the 2nd, in $state/reports)"

# ---- Grafana provisioning ----------------------------------------------------------------
gp=$(d /etc/grafana/provisioning)
install -d -m 0755 "$(d /etc/grafana)" "$gp" "$gp/datasources" "$gp/dashboards"
changed=0
cat >"$work/datasource.yaml" <<EOF
# Canh's InfluxDB for Grafana, written by install-server.sh (read-only user $influx_reader).
# Every Canh dashboard panel names this data source by its uid: keep uid canh-influxdb.
apiVersion: 1
datasources:
  - name: Canh InfluxDB
    uid: canh-influxdb
    type: influxdb
    access: proxy
    url: http://127.0.0.1:8086
    user: $influx_reader
    isDefault: true
    editable: false
    jsonData:
      version: InfluxQL
      dbName: $influx_db
      httpMode: POST
      timeInterval: 10s
    secureJsonData:
      password: \$__file{$etc/influx-grafana.password}
EOF
place "$work/datasource.yaml" "$gp/datasources/canh.yaml" 0644 || true
sed "s#\${CANH_DASHBOARDS_DIR:-/var/lib/grafana/dashboards/canh}#/var/lib/grafana/dashboards/canh#" "$share/grafana/provisioning/dashboards/canh.yaml" >"$work/dashboards.yaml"
place "$work/dashboards.yaml" "$gp/dashboards/canh.yaml" 0644 || true
install -d -m 0755 "$(d /var/lib/grafana)" "$(d /var/lib/grafana/dashboards)"
dash=$(d /var/lib/grafana/dashboards/canh)
if ! diff -r -q "$share/dashboards" "$dash" >/dev/null 2>&1; then
  rm -rf "$dash"; cp -r "$share/dashboards" "$dash"; chmod -R a+rX "$dash"; changed=1
fi
[ "$changed" = 1 ] && done_ "wrote Grafana's provisioning (data source canh-influxdb, dashboards in /var/lib/grafana/dashboards/canh)"

if [ -n "$grafana_url" ]; then
  if live; then
    install -d -m 0755 /etc/apt/keyrings
    # The key as Grafana publishes it (ASCII-armoured) or already binary.
    if grep -q 'BEGIN PGP' "$grafana_key"; then gpg --dearmor <"$grafana_key" >/etc/apt/keyrings/grafana.gpg; else cp "$grafana_key" /etc/apt/keyrings/grafana.gpg; fi
    chmod 0644 /etc/apt/keyrings/grafana.gpg
    echo "deb [signed-by=/etc/apt/keyrings/grafana.gpg] $grafana_url stable main" >/etc/apt/sources.list.d/grafana.list
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y grafana >/dev/null || die "installing grafana from $grafana_url failed"
    done_ "installed grafana from $grafana_url"
  else
    say "staged: would add $grafana_url as an APT source and install grafana"
  fi
fi
if [ -n "$grafana_url" ]; then
  # Grafana's admin password is a secret of ours, read by Grafana from the file
  # (GF_..._FILE in the environment file of Debian's grafana-server unit).
  secret $etc/grafana-admin.password root
  envf=$(d /etc/default/grafana-server)
  install -d -m 0755 "$(dirname "$envf")"; touch "$envf"
  grep -q '^GF_SECURITY_ADMIN_PASSWORD__FILE=' "$envf" || echo "GF_SECURITY_ADMIN_PASSWORD__FILE=$etc/grafana-admin.password" >>"$envf"
  if live; then
    chown grafana "$(d $etc)/grafana-admin.password" "$(d $etc)/influx-grafana.password"
  fi
fi

# ---- nginx -------------------------------------------------------------------------------
if [ "$with_nginx" = 1 ]; then
  ssl=$(d /etc/ssl/canh)
  install -d -m 0755 "$ssl"
  if [ -n "$tls_cert" ]; then
    install -m 0644 "$tls_cert" "$ssl/collector.crt"; (umask 077; install -m 0600 "$tls_key" "$ssl/collector.key")
    done_ "installed the TLS certificate and key in /etc/ssl/canh"
  elif [ ! -s "$ssl/collector.crt" ]; then
    case "$server_name" in *[!0-9.]*) san="DNS:$server_name" ;; *) san="IP:$server_name" ;; esac
    (umask 077; openssl req -x509 -newkey rsa:2048 -sha256 -days 825 -nodes -subj "/CN=$server_name" \
      -addext "subjectAltName=$san" -keyout "$ssl/collector.key" -out "$ssl/collector.crt" 2>/dev/null) || die "openssl could not make a self-signed pair"
    chmod 0600 "$ssl/collector.key"; chmod 0644 "$ssl/collector.crt"
    done_ "made a self-signed certificate for $server_name (/etc/ssl/canh/collector.crt: give it to agents as collector.ca_file)"
  fi
  install -d -m 0755 "$(d /etc/nginx)" "$(d /etc/nginx/sites-available)" "$(d /etc/nginx/sites-enabled)"
  sed "s/collector\.example\.gov\.vn/$server_name/g" "$share/nginx/canh.conf" >"$work/canh.conf"
  if place "$work/canh.conf" "$(d /etc/nginx/sites-available/canh.conf)" 0644; then
    done_ "wrote the nginx site canh.conf (443 for $server_name, proxied to 127.0.0.1:8443)"
  fi
  ln -sfn /etc/nginx/sites-available/canh.conf "$(d /etc/nginx/sites-enabled/canh.conf)"
  if live; then nginx -t -q || die "nginx -t fails with canh.conf; nothing was (re)started: see nginx -t"; fi
fi

# ---- InfluxDB users ------------------------------------------------------------------------
influx_query() { # influx_query USER PASSWORD_FILE STATEMENT: POST /query, password never on a command line
  local cfg="$work/curl.cfg" out
  (umask 077; {
    if [ -n "$1" ]; then printf 'user = "%s:%s"\n' "$1" "$(cat "$(d "$2")")"; fi
    printf 'data-urlencode = "q=%s"\n' "$3"
  } >"$cfg")
  out=$(curl -sS --fail-with-body -K "$cfg" "$influx_url/query" 2>&1) || { echo "$out"; return 1; }
  rm -f "$cfg"
  # A statement's error comes back with HTTP 200.
  case "$out" in *'"error"'*) echo "$out"; return 1 ;; esac
  echo "$out"
}
setup_influx_users() {
  local i
  for i in $(seq 1 60); do curl -sf -o /dev/null "$influx_url/ping" && break; sleep 1; done
  curl -sf -o /dev/null "$influx_url/ping" || die "InfluxDB does not answer at $influx_url/ping"
  local admin_pw; admin_pw=$(cat "$(d $etc/influx-admin.password)")
  # With auth on and no user yet, InfluxDB lets the first admin be created without logging in.
  if ! influx_query admin $etc/influx-admin.password 'SHOW USERS' >/dev/null 2>&1; then
    influx_query '' '' "CREATE USER admin WITH PASSWORD '$admin_pw' WITH ALL PRIVILEGES" >/dev/null || die "cannot create InfluxDB's admin user (does it already have other users? set the password in $etc/influx-admin.password)"
    done_ "created InfluxDB's admin user (password in $etc/influx-admin.password)"
  fi
  local out
  out=$(influx_query admin $etc/influx-admin.password "CREATE DATABASE $influx_db") || die "CREATE DATABASE failed: $out"
  for u in "$influx_writer:$etc/influx.password:ALL" "$influx_reader:$etc/influx-grafana.password:READ"; do
    local name=${u%%:*} rest=${u#*:}; local file=${rest%:*} grant=${rest##*:}
    local pw; pw=$(cat "$(d "$file")")
    out=$(influx_query admin $etc/influx-admin.password "CREATE USER $name WITH PASSWORD '$pw'" 2>&1) || out=$(influx_query admin $etc/influx-admin.password "SET PASSWORD FOR $name = '$pw'" 2>&1) || die "InfluxDB user $name: $out"
    out=$(influx_query admin $etc/influx-admin.password "GRANT $grant ON $influx_db TO $name" 2>&1) || die "GRANT for $name failed: $out"
  done
  done_ "InfluxDB: database $influx_db, user $influx_writer (read and write), user $influx_reader (read, for Grafana)"
}

if live; then
  influx_url=${influx_url:-http://127.0.0.1:8086}
  if [ "$start" = 1 ]; then
    systemctl enable influxdb >/dev/null 2>&1 || true
    if [ "$influx_changed" = 1 ]; then systemctl restart influxdb; else systemctl start influxdb; fi
    setup_influx_users
  else
    say "--no-start: InfluxDB's users are made on the next run without --no-start"
  fi
elif [ -n "$influx_url" ]; then
  setup_influx_users
else
  say "staged: InfluxDB's users are made when InfluxDB runs (DESTDIR with --influx-url URL does it through URL)"
fi

# ---- start -------------------------------------------------------------------------------
if live; then
  systemctl_ daemon-reload
  if [ "$start" = 1 ]; then
    systemctl enable canh-collector.service canh-collector-report.timer >/dev/null 2>&1
    systemctl restart canh-collector.service
    systemctl start canh-collector-report.timer
    [ "$with_nginx" = 1 ] && { systemctl enable nginx >/dev/null 2>&1; systemctl reload-or-restart nginx; }
    if [ -n "$grafana_url" ]; then systemctl enable grafana-server >/dev/null 2>&1; systemctl restart grafana-server; fi
    for i in $(seq 1 30); do curl -s -o /dev/null "http://127.0.0.1:8443/healthz" && break; sleep 1; done
    if curl -s -o /dev/null "http://127.0.0.1:8443/healthz"; then done_ "started canh-collector (healthz answers on 127.0.0.1:8443) and the report timer"
    else die "canh-collector did not answer on 127.0.0.1:8443 within 30 s: journalctl -u canh-collector"; fi
  else
    systemctl enable canh-collector.service canh-collector-report.timer >/dev/null 2>&1 || true
    say "--no-start: enabled, not started (systemctl start influxdb canh-collector, then run this again for InfluxDB's users)"
  fi
fi

# ---- what was done -------------------------------------------------------------------------
echo
echo "Canh collector ${new_version#canh-collector }: ${#did[@]} change(s)."
for x in "${did[@]}"; do echo "  - $x"; done
if [ "$with_nginx" = 1 ]; then url="https://$server_name/status"; agent_url="wss://$server_name/v1/agent"
else url="http://127.0.0.1:8443/status (loopback only: add --with-nginx for the network)"; agent_url="ws://127.0.0.1:8443/v1/agent"; fi
echo "Status page: $url"
echo "  first login: admin, password in $etc/status-admin.password (sudo cat it)"
echo "Agents connect to: $agent_url  (register each: sudo -u canh-collector canh-collector agent add --name H --agency A --site S)"
if [ -n "$grafana_url" ]; then
  echo "Grafana: http://$server_name:3000/  first login: admin, password in $etc/grafana-admin.password (Grafana takes it at its first start)"
fi
