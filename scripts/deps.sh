#!/bin/sh
# deps.sh [build|test] [EXTRA-PACKAGE...] — installs the Debian packages
# leakwatch needs when they are missing: `build` (make, make install) or
# `test` (make test: the build packages and the test tools). As root it runs
# apt-get itself; otherwise it names the one command to run and fails.
# A user who has the packages needs no root for anything.
set -eu

# One package per line, in the list it belongs to (keeps merges clean).
BUILD_PKGS='
build-essential
pkg-config
libunwind-dev
libelf-dev
libdw-dev
libiberty-dev
libjansson-dev
libprotobuf-c-dev
protobuf-c-compiler
zlib1g-dev
'
TEST_PKGS='
clang
libclang-rt-dev
check
python3
python3-jsonschema
cmake
shellcheck
cppcheck
libglib2.0-dev
libuv1-dev
'

what=${1:-build}
[ "$#" -gt 0 ] && shift
case $what in
  build) PKGS=$BUILD_PKGS ;;
  test) PKGS="$BUILD_PKGS $TEST_PKGS" ;;
  *) echo "usage: sh scripts/deps.sh [build|test] [PACKAGE...]" >&2; exit 2 ;;
esac
missing=""
# The report formats' real consumers (make test-formats): checked by command,
# not package, so a node installed from elsewhere is used as it is.
if [ "$what" = test ]; then
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  command -v go >/dev/null 2>&1 || missing="$missing golang-go"
  command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
  command -v node >/dev/null 2>&1 || missing="$missing nodejs"
  command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
for p in $PKGS "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "leakwatch: installing missing $what packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  # shellcheck disable=SC2086  # a list of package names
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "leakwatch: missing $what packages:$missing" >&2
  echo "run: sudo apt-get install -y$missing" >&2
  exit 1
fi
