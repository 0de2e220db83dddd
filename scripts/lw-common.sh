# shellcheck shell=bash
# lw-common.sh — shared by the `leakwatch` and `leakwatch-gate` commands:
# finding the library, the analyzer binaries and the helper relative to the
# calling script, merging LEAKWATCH_OPTIONS, and checking that a command can
# run under LD_PRELOAD at all (and saying why not).
#
# Sourced, never executed. It must never change the caller's environment
# beyond the LW_* variables it documents, and never exit on its own: every
# function returns a status and leaves the message in LW_ERR.
#
# Layouts it understands (D = directory of the calling script):
#   build tree:  D/libleakwatch.so, D/leakwatch-diff, D/lw_helper.py
#   installed:   D/leakwatch-diff, D/../lib/leakwatch/{libleakwatch.so,lw_helper.py}
#   source tree: D = scripts/, everything in D/../build/
# LEAKWATCH_LIB overrides the library's location.

LW_ERR=""
# shellcheck disable=SC2034  # used by the scripts that source this file
# Exit codes shared by the commands (documented in leakwatch(1), leakwatch-gate(1)).
LW_EXIT_USAGE=2
LW_EXIT_CANNOT=125    # leakwatch cannot work on this command/system
LW_EXIT_NOEXEC=126    # like a shell: found but not executable
LW_EXIT_NOTFOUND=127  # like a shell: not found

# First existing file among the candidates (relative to LW_DIR).
lw_first_file() {
  local c
  for c in "$@"; do
    if [ -f "$c" ]; then
      printf '%s\n' "$c"
      return 0
    fi
  done
  return 1
}

# Sets LW_LIB to the preload library or returns 1 with LW_ERR set.
lw_find_lib() {
  if [ -n "${LEAKWATCH_LIB:-}" ]; then
    LW_LIB=$LEAKWATCH_LIB
    if [ ! -f "$LW_LIB" ] || [ ! -r "$LW_LIB" ]; then
      LW_ERR="preload library not found: LEAKWATCH_LIB=$LW_LIB is not a readable file"
      return 1
    fi
  elif ! LW_LIB=$(lw_first_file "$LW_DIR/libleakwatch.so" \
      "$LW_DIR/../lib/leakwatch/libleakwatch.so" "$LW_DIR/../build/libleakwatch.so"); then
    LW_ERR="preload library libleakwatch.so not found next to $LW_DIR (build it with 'make', or set LEAKWATCH_LIB=/path/to/libleakwatch.so)"
    return 1
  fi
  # LD_PRELOAD needs an absolute path: the command may change directory.
  LW_LIB=$(cd "$(dirname "$LW_LIB")" && pwd)/$(basename "$LW_LIB")
  return 0
}

# Sets LW_TOOL to one of leakwatch's own programs (leakwatch-diff, ...).
lw_find_tool() {
  if LW_TOOL=$(lw_first_file "$LW_DIR/$1" "$LW_DIR/../lib/leakwatch/$1" "$LW_DIR/../build/$1") && [ -x "$LW_TOOL" ]; then
    return 0
  fi
  LW_ERR="$1 not found next to $LW_DIR (build it with 'make')"
  return 1
}

lw_find_helper() {
  if ! LW_HELPER=$(lw_first_file "$LW_DIR/lw_helper.py" "$LW_DIR/../lib/leakwatch/lw_helper.py"); then
    LW_ERR="lw_helper.py not found next to $LW_DIR (reinstall leakwatch)"
    return 1
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    LW_ERR="python3 is needed by leakwatch's scripts and was not found in PATH"
    return 1
  fi
}

# Removes KEY=... entries named in $2.. from the option string $1 and prints
# the rest, so options we must force replace the user's instead of racing them.
lw_opts_without() {
  local opts=$1 out="" item key k drop
  shift
  local IFS=:
  for item in $opts; do
    [ -z "$item" ] && continue
    key=${item%%=*}
    drop=0
    for k in "$@"; do [ "$key" = "$k" ] && drop=1; done
    [ $drop = 1 ] && continue
    out=${out:+$out:}$item
  done
  printf '%s\n' "$out"
}

# lw_opts_merge BASE K=V... : BASE with each K replaced by the given value.
lw_opts_merge() {
  local base=$1 kv keys=()
  shift
  for kv in "$@"; do keys+=("${kv%%=*}"); done
  base=$(lw_opts_without "$base" "${keys[@]}")
  for kv in "$@"; do base=${base:+$base:}$kv; done
  printf '%s\n' "$base"
}

# Is this system's C library glibc? LD_PRELOAD interposition of pthreads
# depends on glibc's symbol versions; musl and others are not supported.
lw_check_glibc() {
  if ! getconf GNU_LIBC_VERSION >/dev/null 2>&1; then
    LW_ERR="this system's C library is not glibc (getconf GNU_LIBC_VERSION failed): libleakwatch.so supports glibc only"
    return 1
  fi
}

# lw_check_cmd CMD: resolves CMD like a shell would and checks that the
# preload can work on it. Sets LW_CMD_PATH; on failure sets LW_ERR and
# returns the exit status to use (125, 126 or 127).
lw_check_cmd() {
  local cmd=$1 kind
  if [[ $cmd == */* ]]; then
    LW_CMD_PATH=$cmd
    if [ ! -e "$cmd" ]; then
      LW_ERR="$cmd: command not found (no such file)"
      return $LW_EXIT_NOTFOUND
    fi
  elif ! LW_CMD_PATH=$(type -P -- "$cmd"); then
    LW_ERR="$cmd: command not found in PATH"
    return $LW_EXIT_NOTFOUND
  fi
  if [ -d "$LW_CMD_PATH" ]; then
    LW_ERR="$LW_CMD_PATH: is a directory, not a command"
    return $LW_EXIT_NOEXEC
  fi
  if [ ! -x "$LW_CMD_PATH" ]; then
    LW_ERR="$LW_CMD_PATH: not executable (permission denied)"
    return $LW_EXIT_NOEXEC
  fi
  if [ -u "$LW_CMD_PATH" ] || [ -g "$LW_CMD_PATH" ]; then
    LW_ERR="$LW_CMD_PATH is setuid/setgid: the dynamic loader ignores LD_PRELOAD for such programs (secure-execution mode), so leakwatch cannot observe it; test a copy without the bit"
    return $LW_EXIT_CANNOT
  fi
  lw_find_helper || return $LW_EXIT_CANNOT
  kind=$(python3 "$LW_HELPER" elf "$LW_CMD_PATH") || kind="unknown"
  case $kind in
    static)
      LW_ERR="$LW_CMD_PATH is statically linked (no PT_INTERP program header): LD_PRELOAD cannot work on it; link it dynamically to use leakwatch"
      return $LW_EXIT_CANNOT ;;
    nonglibc:*)
      LW_ERR="$LW_CMD_PATH uses the dynamic loader ${kind#nonglibc:}, not glibc's: libleakwatch.so supports glibc only"
      return $LW_EXIT_CANNOT ;;
    script:*)
      # Check the interpreter the kernel will run, e.g. a static busybox.
      local interp=${kind#script:}
      if [ -n "$interp" ] && [ "$interp" != "$cmd" ]; then
        local saved=$LW_CMD_PATH rc=0
        lw_check_cmd "$interp" || rc=$?
        LW_CMD_PATH=$saved
        if [ $rc != 0 ]; then
          LW_ERR="$saved is a script run by: $LW_ERR"
          return $rc
        fi
      fi ;;
  esac
  return 0
}
