#!/bin/sh
# Installs the Debian packages leakwatch builds with, when they are missing.
# As root it runs apt-get itself; otherwise it prints the one command to run.
set -eu
PKGS="build-essential clang libclang-rt-dev pkg-config libunwind-dev libelf-dev libdw-dev libiberty-dev libjansson-dev check python3 python3-jsonschema cmake shellcheck cppcheck"
[ "$#" -gt 0 ] && PKGS="$PKGS $*"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "leakwatch: installing missing packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "leakwatch: missing packages:$missing" >&2
  echo "run: sudo apt-get install -y$missing" >&2
  exit 1
fi
