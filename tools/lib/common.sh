# tools/lib/common.sh — what every tools/ script shares: messages, the ERR
# trap that names the failing command and line, root, disk space.
# Functions only; sourced, never run.

TFPM_TOOL=${TFPM_TOOL:-$(basename "$0")}

log() { printf '[%s] %s\n' "$TFPM_TOOL" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$TFPM_TOOL" "$*" >&2; exit 1; }

# No silent exit: with `set -eE`, any command that fails outside a condition
# ends the script with the command, the file and the line.
on_err() {
  local status=$1 line=$2 src=$3 cmd=$4
  printf '[%s] error: "%s" failed with status %s (%s:%s)\n' \
    "$TFPM_TOOL" "$cmd" "$status" "$src" "$line" >&2
  printf '[%s] the output above says why; fix it and run the same command again (every step is resumable)\n' \
    "$TFPM_TOOL" >&2
}
install_err_trap() {
  set -eE -o pipefail
  trap 'on_err $? $LINENO "${BASH_SOURCE[0]##*/}" "$BASH_COMMAND"' ERR
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "'$*' needs root: run this as root, or install sudo and give this user sudo rights"
  fi
}

# require_disk DIR MIB WHAT: refuse early, with a message, when DIR's file
# system has less than MIB free (a PHP build needs about 2 GiB).
require_disk() {
  local dir=$1 need=$2 what=$3 avail
  mkdir -p "$dir" 2>/dev/null || true
  avail=$(df -Pm "$dir" 2>/dev/null | awk 'NR==2 {print $4}')
  [ -n "$avail" ] || return 0
  [ "$avail" -ge "$need" ] || die "$what needs ${need} MiB free in $dir, the disk has ${avail} MiB: free some space (or set TFPM_CACHE_DIR to a roomier disk)"
}
