#!/usr/bin/env bash
# Builds FlowForge in release mode, installs it to ${PREFIX:-$HOME/.local}/bin, then shows
# it at work. Idempotent: running it again rebuilds and replaces the binary. It never stops
# or kills anything that is already running.
set -euo pipefail
cd "$(dirname "$0")"
prefix="${PREFIX:-$HOME/.local}"

if ! command -v cargo >/dev/null; then
  echo "install.sh: cargo is not installed; install Rust (rustup) first, then run ./install.sh again" >&2
  exit 1
fi

echo "==> building flowforge (release)"
cargo build --release --locked --quiet
mkdir -p "$prefix/bin"
# Replace atomically, so a running flowforge keeps its (old) binary and is not disturbed.
install -m 0755 target/release/flowforge "$prefix/bin/.flowforge.new"
mv -f "$prefix/bin/.flowforge.new" "$prefix/bin/flowforge"
echo "==> installed $prefix/bin/flowforge ($("$prefix/bin/flowforge" --version))"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "    note: $prefix/bin is not on your PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
esac

echo "==> demo"
exec "$prefix/bin/flowforge" demo
