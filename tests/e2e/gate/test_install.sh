#!/usr/bin/env bash
# test_install.sh — `make test-install`: `make install` into a temporary
# prefix (and with DESTDIR), a program built against the installed header
# through pkg-config run with and without the preload, and the installed
# commands run from the prefix (they must find their library and siblings
# there, not in the build tree). Usage: tests/e2e/gate/test_install.sh BUILD_DIR.
set -u
BUILD=${1:-build}
passed=0 failed=0
# The results path may be relative to the tree; the test changes directory.
[ -n "${LW_RESULTS_FILE:-}" ] && LW_RESULTS_FILE=$(realpath -m "$LW_RESULTS_FILE")
T=$(mktemp -d "${TMPDIR:-/tmp}/lw-install.XXXXXX")
trap 'rm -rf -- "$T"' EXIT
ok() { passed=$((passed + 1)); echo "  ok: $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL: $*"; }
finish() {
  echo "$passed passed, $failed failed"
  [ -n "${LW_RESULTS_FILE:-}" ] && echo "$passed $failed" >"$LW_RESULTS_FILE"
  [ "$failed" = 0 ]
  exit
}

P=$T/prefix
echo "== make install PREFIX=$P"
if make -s --no-print-directory install BUILD="$BUILD" PREFIX="$P" >"$T/install.log" 2>&1; then
  ok "make install"
else
  bad "make install"; sed 's/^/    | /' "$T/install.log"; finish
fi
for f in bin/leakwatch bin/leakwatch-gate bin/leakwatch-diff bin/leakwatch-show \
  lib/leakwatch/libleakwatch.so \
  include/leakwatch.h lib/pkgconfig/leakwatch.pc share/man/man1/leakwatch.1 \
  share/man/man1/leakwatch-diff.1 share/man/man1/leakwatch-gate.1 share/man/man7/libleakwatch.7 \
  share/leakwatch/default.supp; do
  if [ -f "$P/$f" ]; then ok "installed $f"; else bad "missing $f"; fi
done

for l in leakwatch-gate leakwatch-diff leakwatch-show; do
  if [ "$(readlink "$P/bin/$l")" = leakwatch ]; then ok "bin/$l is the one program (a link to leakwatch)"; else bad "bin/$l is not a link to leakwatch"; fi
done
others=$(find "$P/lib/leakwatch" -mindepth 1 ! -name libleakwatch.so | wc -l)
if [ "$others" = 0 ]; then ok "lib/leakwatch holds only the preload library"; else bad "lib/leakwatch: $(ls "$P/lib/leakwatch")"; fi

echo "== build dependencies only, no root"
# deps.sh build names only build packages and needs no root when they are
# installed; the test tools are checked by `make test` (deps.sh test).
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
  as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  if as_nobody sh scripts/deps.sh build >"$T/deps.log" 2>&1; then ok "deps.sh build as non-root with the packages installed: 0"; else bad "deps.sh build as non-root"; sed 's/^/    | /' "$T/deps.log"; fi
  rc=0; as_nobody sh scripts/deps.sh build lw-no-such-package >"$T/deps.log" 2>&1 || rc=$?
  if [ $rc = 1 ] && grep -q "missing build packages: lw-no-such-package$" "$T/deps.log"; then
    ok "deps.sh build as non-root names exactly what is missing"
  else
    bad "deps.sh build with a missing package: status $rc"; sed 's/^/    | /' "$T/deps.log"
  fi
  for p in clang check cmake shellcheck cppcheck python3-jsonschema; do
    if sed -n "/^BUILD_PKGS=/,/^'/p" scripts/deps.sh | grep -qx "$p"; then bad "$p is a build dependency"; fi
  done
  ok "test tools are not build dependencies"
else
  echo "  skip: not root or no setpriv"
fi

echo "== DESTDIR"
if make -s --no-print-directory install BUILD="$BUILD" PREFIX=/opt/lw DESTDIR="$T/dest" >"$T/dest.log" 2>&1 &&
  [ -f "$T/dest/opt/lw/lib/leakwatch/libleakwatch.so" ] && grep -q '^prefix=/opt/lw$' "$T/dest/opt/lw/lib/pkgconfig/leakwatch.pc"; then
  ok "DESTDIR staging keeps PREFIX in leakwatch.pc"
else
  bad "DESTDIR install"; sed 's/^/    | /' "$T/dest.log"
fi

echo "== a program built against the installed header (pkg-config)"
export PKG_CONFIG_PATH=$P/lib/pkgconfig
if cflags=$(pkg-config --cflags leakwatch); then ok "pkg-config --cflags leakwatch: $cflags"; else bad "pkg-config leakwatch"; fi
preload=$(pkg-config --variable=preload leakwatch)
if [ "$preload" = "$P/lib/leakwatch/libleakwatch.so" ]; then ok "pkg-config preload variable"; else bad "preload variable: $preload"; fi
cat >"$T/client.c" <<'EOF'
/* strict C11 + POSIX: the header must not need _GNU_SOURCE */
#define _POSIX_C_SOURCE 200809L
#include <leakwatch.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
static void *idle_main(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    return NULL;
}
int main(int argc, char **argv)
{
    pthread_t t;
    pthread_create(&t, NULL, idle_main, NULL);
    pthread_join(t, NULL);
    int snap = argc > 1 ? leakwatch_snapshot(argv[1]) : -1;
    int left = leakwatch_verify_none(200);
    printf("active=%d snapshot=%d left=%d\n", leakwatch_active() ? 1 : 0, snap, left);
    return 0;
}
EOF
# shellcheck disable=SC2086  # cflags is a word list
if cc -std=c11 -Wall -Wextra -Werror $cflags -o "$T/client" "$T/client.c" -pthread 2>"$T/cc.log"; then
  ok "compiles with -Werror against the installed header, no link flags"
  out=$("$T/client" "$T/api-snap.json")
  if [[ $out == "active=0 "*"left=0" ]]; then ok "without the preload: calls are no-ops ($out)"; else bad "without the preload: $out"; fi
  out=$(LD_PRELOAD=$preload LEAKWATCH_OPTIONS=at_exit=0 "$T/client" "$T/api-snap.json")
  if [[ $out == "active=1 snapshot=0 left=0" ]] && [ -s "$T/api-snap.json" ]; then
    ok "with the preload: active, snapshot written ($out)"
  else
    bad "with the preload: $out"
  fi
else
  bad "compile against the installed header"; sed 's/^/    | /' "$T/cc.log"
fi

echo "== the installed commands"
mv "$T/client" "$T/client2" 2>/dev/null
cd "$T" || finish # away from the build tree: nothing may be found there
if "$P/bin/leakwatch" --version | grep -q '^leakwatch [0-9]'; then ok "leakwatch --version"; else bad "leakwatch --version"; fi
if "$P/bin/leakwatch" diff --version >/dev/null 2>&1; then ok "leakwatch diff runs the installed analyzer"; else bad "leakwatch diff --version"; fi
printf '#include <pthread.h>\n#include <unistd.h>\nstatic void *spin_main(void *a){(void)a; for(;;) usleep(10000);}\nint main(void){pthread_t t; pthread_create(&t,0,spin_main,0); usleep(50000); return 0;}\n' >"$T/leak.c"
cc -g -pthread -o "$T/leak" "$T/leak.c"
rc=0; env -u LEAKWATCH_LIB "$P/bin/leakwatch-gate" -- "$T/leak" 2>"$T/gate.txt" || rc=$?
if [ $rc = 1 ] && grep -q spin_main "$T/gate.txt"; then ok "installed leakwatch-gate finds the leak (status 1)"; else bad "installed gate: status $rc"; sed 's/^/    | /' "$T/gate.txt"; fi
rc=0; env -u LEAKWATCH_LIB "$P/bin/leakwatch" run --opt "output=$T/run-%p-%n.json" --opt at_start=1 -- "$T/leak" 2>/dev/null || rc=$?
snaps=("$T"/run-*.json)
if [ $rc = 0 ] && [ ${#snaps[@]} -ge 2 ] && [ -f "${snaps[0]}" ]; then ok "installed leakwatch run writes start and exit snapshots"; else bad "installed leakwatch run: status $rc, ${#snaps[@]} snapshots"; fi
if [ -f "${snaps[0]}" ] && "$P/bin/leakwatch" show "${snaps[-1]}" >"$T/show.txt" 2>&1 && grep -q spin_main "$T/show.txt"; then
  ok "installed leakwatch show prints the thread dump"
else
  bad "installed leakwatch show"; sed 's/^/    | /' "$T/show.txt" 2>/dev/null
fi
if command -v man >/dev/null 2>&1; then
  for m in man1/leakwatch.1 man1/leakwatch-diff.1 man1/leakwatch-gate.1 man7/libleakwatch.7; do
    if MANWIDTH=80 man -l "$P/share/man/$m" 2>"$T/man.err" | grep -q NAME && [ ! -s "$T/man.err" ]; then ok "man -l $m renders cleanly"; else bad "man $m"; cat "$T/man.err"; fi
  done
else
  echo "  skip: man not installed (pages checked for .TH only)"
  for m in "$P"/share/man/man*/*; do
    if grep -q '^\.TH ' "$m"; then ok "$(basename "$m") has .TH"; else bad "$m"; fi
  done
fi
finish
