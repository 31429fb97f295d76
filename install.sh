#!/usr/bin/env bash
# install.sh — build FlowForge, install it, and show it at work.
#
# One sentence per step; on failure, what failed and what to do next. Idempotent: running it
# again rebuilds and replaces the binary atomically (a running flowforge keeps its old one).
# It never stops or kills a process and never touches a file it did not create: the only
# things it writes are the binary (via a temporary file next to it) and, when absent, the
# API key that FlowForge itself creates.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./install.sh [--prefix DIR] [--no-demo]

Builds FlowForge (cargo build --release --locked; on Linux with glibc, statically linked),
installs the binary to DIR/bin, creates the local API key if there is none yet, and runs
`flowforge demo` (about 10 s).

Options:
  --prefix DIR   install under DIR [default: $PREFIX, else ~/.local]
  --no-demo      install only; do not run the demo
  -h, --help     print this help and exit

Needs: cargo (Rust 1.85 or newer) and a C compiler (the bundled SQLite is compiled from C).
EOF
}

say() { printf '==> %s\n' "$*"; }
fail() {
  printf 'install.sh: %s\n' "$1" >&2
  [ $# -ge 2 ] && printf '  next: %s\n' "$2" >&2
  exit "${3:-1}"
}

prefix="${PREFIX:-$HOME/.local}"
demo=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --no-demo) demo=0 ;;
    --prefix)
      [ $# -ge 2 ] && [ -n "$2" ] || fail "--prefix needs a directory" "./install.sh --prefix ~/.local" 2
      prefix="$2"
      shift
      ;;
    --prefix=*)
      prefix="${1#--prefix=}"
      [ -n "$prefix" ] || fail "--prefix needs a directory" "./install.sh --prefix ~/.local" 2
      ;;
    *)
      printf 'install.sh: unknown option %q\n\n' "$1" >&2
      usage >&2
      exit 2
      ;;
  esac
  shift
done

cd "$(dirname "$0")"
bin_dir="$prefix/bin"
target="$bin_dir/flowforge"

say "checking for cargo and a C compiler"
command -v cargo >/dev/null 2>&1 ||
  fail "cargo is not installed (or not on PATH)" \
    "install Rust with rustup (or your system's rustup package), open a new shell, then run ./install.sh again"
cc_found=""
for cc in "${CC:-}" cc gcc clang; do
  if [ -n "$cc" ] && command -v "$cc" >/dev/null 2>&1; then cc_found="$cc"; break; fi
done
[ -n "$cc_found" ] ||
  fail "no C compiler found (cc, gcc or clang); the bundled SQLite needs one" \
    "Debian/Ubuntu: sudo apt-get install build-essential; Fedora: sudo dnf install gcc; macOS: xcode-select --install"

say "checking that $bin_dir is writable"
mkdir -p -- "$bin_dir" 2>/dev/null && [ -w "$bin_dir" ] ||
  fail "cannot write to $bin_dir" "choose another place: ./install.sh --prefix DIR (for example --prefix \"\$HOME/.local\")"

tmp="$bin_dir/.flowforge.install.$$"
cleanup() { rm -f -- "$tmp"; }
trap cleanup EXIT
trap 'cleanup; printf "\ninstall.sh: interrupted; nothing was installed or changed\n" >&2; exit 130' INT TERM

# Where cargo puts things: CARGO_TARGET_DIR or a config may move the target directory.
target_dir=$(cargo metadata --format-version 1 --no-deps --locked 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir="${target_dir:-target}"

# On Linux with glibc the binary is linked statically (static-pie): no dynamic loader and
# no shared libraries to map at each start, which is about 0.9 ms of every `flowforge run`
# (benches/passthrough). It needs glibc's static libraries (Debian/Ubuntu: libc6-dev);
# without them, the ordinary dynamic build.
host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
built=""
case "$host" in
  *-linux-gnu)
    say "building flowforge, statically linked (cargo build --release --locked --target $host; a first build takes a few minutes)"
    static_flags="CARGO_TARGET_$(printf '%s' "$host" | tr 'a-z-' 'A-Z_')_RUSTFLAGS"
    if env "$static_flags=-C target-feature=+crt-static" cargo build --release --locked --quiet --target "$host"; then
      built="$target_dir/$host/release/flowforge"
    else
      say "note: the static link failed (see above; glibc's static libraries are in libc6-dev); building the dynamic binary instead"
    fi
    ;;
esac
if [ -z "$built" ]; then
  say "building flowforge (cargo build --release --locked; a first build takes a few minutes)"
  cargo build --release --locked --quiet ||
    fail "the build failed (see cargo's messages above); nothing was installed" \
      "update Rust (rustup update) and run ./install.sh again; if it still fails, report it with the output above"
  built="$target_dir/release/flowforge"
fi

# Copy next to the target, then rename: a reader sees the old binary or the new one, never
# half a file, and a running flowforge keeps the binary it started with.
install -m 0755 "$built" "$tmp"
version=$("$tmp" --version) || fail "the built binary does not run; nothing was installed" "run $built --version to see why"
mv -f -- "$tmp" "$target"
say "installed $target ($version)"
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) say "note: $bin_dir is not on your PATH; add it with: export PATH=\"$bin_dir:\$PATH\"" ;;
esac

say "creating the local API key if there is none (flowforge key)"
# `flowforge key` creates the key (32 random bytes, mode 0600) only when there is none, and
# prints its path; it never overwrites a key or adopts one from elsewhere.
key_path=$("$target" key) || fail "could not create the API key (see above)" "run: $target key"
say "API key: $key_path (mode 0600; replace it with: flowforge key --rotate)"

if [ "$demo" = 1 ]; then
  say "running the demo: a simulated agent loops; FlowForge detects it, stops it and recovers"
  "$target" demo || fail "the demo did not finish as expected (see above)" "run: $target demo -v"
fi

if [ "$demo" = 1 ]; then first="flowforge show last                  what happened in the demo, and why"
else first="flowforge demo                       see detect -> intervene -> recover (about 10 s)"; fi
cat <<EOF

==> next:
    $first
    flowforge dashboard                  the same story in your browser (add --open)
    flowforge run -- your command        supervise your own job
    flowforge run --help                 every option
EOF
