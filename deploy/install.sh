#!/usr/bin/env bash
# Installs (or upgrades, or removes) the Canh agent on a Linux host with systemd:
# the single executable to /usr/local/bin/canh-agent, its config and token under
# /etc/canh (0600, owned by the service user), and the canh-agent.service unit.
#
#   sudo ./install.sh --url wss://collector.example.gov.vn/v1/agent --token-file agent.token
#   sudo ./install.sh --url wss://... --token-stdin < agent.token
#   sudo ./install.sh                      # upgrade: new binary, config and state kept
#   sudo ./install.sh --uninstall [--purge]
#
# Options: --binary PATH (default: canh-agent-linux-<arch> or canh-agent next to this
# script), --no-start (install and enable, do not start). The token never goes on a
# command line (the process list shows those): --token-file, --token-stdin, or
# CANH_AGENT_TOKEN in the environment of a script that runs this one.
# An upgrade checks the installed config with the new binary before it replaces the old
# one; a config the new binary rejects leaves the old binary in place.
# DESTDIR=/some/dir stages every file under that folder and runs no system command
# (no useradd, chown or systemctl): for packaging and for tests.
set -euo pipefail

prefix=${PREFIX:-/usr/local}
destdir=${DESTDIR:-}
destdir=${destdir%/}
bin_final="$prefix/bin/canh-agent"
conf_final=/etc/canh/agent.yaml
token_final=/etc/canh/agent.token
state_final=/var/lib/canh-agent
here=$(cd "$(dirname "$0")" && pwd)

url= token= token_file= token_stdin=0 binary= uninstall=0 purge=0 start=1
die() { echo "install.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=${2:?--url needs a value}; shift 2 ;;
    --token) die "--token would show the token in the process list: use --token-file FILE or --token-stdin" ;;
    --token-file) token_file=${2:?--token-file needs a file}; shift 2 ;;
    --token-stdin) token_stdin=1; shift ;;
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    --no-start) start=0; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

if [ -z "$destdir" ] && [ "$(id -u)" != 0 ]; then die "run as root (sudo), or set DESTDIR to stage the files"; fi
# Before anything changes: a host without a running systemd gets nothing half-installed.
if [ -z "$destdir" ] && { ! command -v systemctl >/dev/null || [ ! -d /run/systemd/system ]; }; then
  die "systemd is not running on this host (no /run/systemd/system): nothing was installed; run 'canh-agent run --config $conf_final' under your init system instead"
fi
bin="$destdir$bin_final" conf="$destdir$conf_final" tokenf="$destdir$token_final"
# Staged: the token file is not yet at the path the config names, so validation is told the token.
run_agent() { if [ -n "$destdir" ]; then DESTDIR="$destdir" CANH_AGENT_TOKEN=staged "$bin" "$@"; else "$bin" "$@"; fi; }

if [ "$uninstall" = 1 ]; then
  [ -x "$bin" ] || die "$bin is not installed"
  run_agent service uninstall --config "$conf_final" $([ "$purge" = 1 ] && echo --purge)
  rm -f "$bin"
  if [ "$purge" = 1 ]; then
    rm -f "$conf" "$tokenf"
    rmdir "$destdir/etc/canh" 2>/dev/null || true
    if [ -z "$destdir" ] && getent passwd canh-agent >/dev/null; then userdel canh-agent || true; fi
    echo "install.sh: removed canh-agent, its config, token, state and user"
  else
    echo "install.sh: removed canh-agent; kept $conf_final, $token_final and $state_final (--purge removes them)"
  fi
  exit 0
fi

if [ -z "$binary" ]; then
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
  for c in "$here/canh-agent-linux-$arch" "$here/canh-agent" "./canh-agent-linux-$arch" "./canh-agent"; do
    [ -f "$c" ] && { binary=$c; break; }
  done
  [ -n "$binary" ] || die "no canh-agent executable found next to install.sh; pass --binary PATH (build one with: npm run build:exe)"
fi
[ -f "$binary" ] || die "$binary does not exist"
"$binary" --version >/dev/null || die "$binary does not run on this host (wrong architecture?)"

# The token: from a file, standard input, the environment, or (last) the command line.
if [ -n "$token_file" ]; then token=$(cat "$token_file") || die "cannot read $token_file"
elif [ "$token_stdin" = 1 ]; then IFS= read -r token || true
elif [ -z "$token" ] && [ -n "${CANH_AGENT_TOKEN:-}" ]; then token=$CANH_AGENT_TOKEN
fi
token=$(printf '%s' "$token" | tr -d ' \r\n\t')

upgrade=0
[ -f "$conf" ] && upgrade=1
if [ "$upgrade" = 0 ]; then
  [ -n "$url" ] || die "first install: --url wss://<collector>/v1/agent is required"
  [ -n "$token" ] || die "first install: a token is required (--token-file F, --token-stdin, or CANH_AGENT_TOKEN)"
fi
if [ -n "$url" ]; then
  case "$url" in ws://*|wss://*) ;; *) die "--url must start with wss:// (or ws:// on a trusted network)" ;; esac
  case "$url" in *[\"\\\ ]*) die "--url must not contain quotes, backslashes or spaces" ;; esac
  if [ "$upgrade" = 1 ] && ! grep -qF "url: \"$url\"" "$conf"; then
    echo "install.sh: note: $conf_final is kept as it is; edit its collector.url to change the collector" >&2
  fi
fi

# Folders 0755 all the way up (a staging root too); secrets are made 0600 below.
umask 022
for dir in "$destdir$prefix/bin" "$destdir/etc/canh"; do install -d -m 0755 "$dir"; done
# Upgrade: the new binary checks the config it will run with before it replaces the old one.
if [ "$upgrade" = 1 ]; then
  if [ -n "$destdir" ]; then check=(env DESTDIR="$destdir" CANH_AGENT_TOKEN=staged "$binary"); else check=("$binary"); fi
  "${check[@]}" --validate --config "$conf" >/dev/null || die "$conf_final does not pass --validate with the new binary ($binary); the installed canh-agent was left as it was"
fi
# Replace the binary by rename, so a running agent is never left with a half-written file.
install -m 0755 "$binary" "$bin.new"
mv -f "$bin.new" "$bin"

if [ -n "$token" ]; then
  (umask 077; printf '%s\n' "$token" > "$tokenf.new")
  chmod 0600 "$tokenf.new"
  mv -f "$tokenf.new" "$tokenf"
fi
if [ "$upgrade" = 0 ]; then
  (umask 077; : > "$conf.new")
  cat > "$conf.new" <<CONF
# Canh agent, written by install.sh on $(date -u +%Y-%m-%d). Every option, with its
# default: docs/operating/config-reference.md. Check changes with:
#   canh-agent --validate --config $conf_final
collector:
  url: "$url"
  token_file: $token_final
agent:
  state_dir: $state_final
# No "inputs:" list: the default host inputs run (cpu, mem, disk, net, system...).
CONF
  chmod 0600 "$conf.new"
  mv -f "$conf.new" "$conf"
else
  echo "install.sh: upgrade: kept $conf_final and the state in $state_final"
fi

run_agent --validate --config "$conf" >/dev/null
run_agent service install --config "$conf_final" --binary "$bin_final" $([ "$start" = 0 ] && echo --no-start)
echo "install.sh: canh-agent $("$bin" --version | awk '{print $2}') installed${destdir:+ under $destdir}"
[ -z "$destdir" ] && echo "install.sh: status: canh-agent service status; logs: journalctl -u canh-agent -f"
exit 0
