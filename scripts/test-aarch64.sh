#!/usr/bin/env bash
# The kernels crate's tests on aarch64 under qemu-user: NEON and NEON+dotprod kernels against scalar
# (qemu's default CPU has dotprod), then the unit tests again on a CPU model without dotprod (detection
# must fall back to plain NEON) and with AGORA_CPU=neon (the override must be honoured).
# Installs the cross linker, qemu-user and the aarch64 std if missing; exits non-zero on any failure.
#
#   scripts/test-aarch64.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}") >/dev/null
fi
rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
test_args=(--release -p kernels --target aarch64-unknown-linux-gnu)

echo "== kernels tests, aarch64 under qemu (default CPU: NEON + dotprod)"
cargo test "${test_args[@]}" "$@"
echo "== kernels unit tests on a CPU without dotprod (cortex-a57: plain NEON only)"
QEMU_CPU=cortex-a57 cargo test "${test_args[@]}" --lib "$@"
echo "== kernels unit tests with AGORA_CPU=neon"
AGORA_CPU=neon cargo test "${test_args[@]}" --lib "$@"
