#!/usr/bin/env bash
# The main job on a fresh machine: installs what building lndx needs (libarchive's
# development files, for reading .rar and .7z), then runs `lndx run`. With no config it
# watches the Maildir ./var/mail, writes replies to ./var/outbox, keeps SQLite in ./var and
# serves /healthz and /metrics on 127.0.0.1:9925. Extra arguments go to lndx, before `run`
# (e.g. scripts/run.sh --config lndx.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! dpkg-query -W -f='${Status}' libarchive-dev 2>/dev/null | grep -q 'ok installed'; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing libarchive-dev (needed to build lndx)…" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends libarchive-dev >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null 2>&1
    $sudo apt-get install -y -q --no-install-recommends libarchive-dev
  }
fi

exec cargo run --release -- "$@" run
