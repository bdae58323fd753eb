#!/bin/sh
# Makes the Rust toolchain that rust-toolchain.toml pins usable without a download. When rustup
# lacks it under that name but its stable toolchain is that very version (an offline machine
# with one toolchain), the stable toolchain is made to answer to the pinned name too, with the
# symbolic link that `rustup toolchain link` would write (rustup refuses version-like names
# there). Otherwise it says what to install. Without rustup, cargo ignores rust-toolchain.toml.
set -eu
cd "$(dirname "$0")/.."
want=$(sed -n 's/^channel = "\(.*\)"$/\1/p' rust-toolchain.toml)
command -v rustup >/dev/null 2>&1 || exit 0
if rustup toolchain list | grep -q "^$want-"; then
    exit 0
fi
have=$(RUSTUP_TOOLCHAIN=stable rustc --version 2>/dev/null | cut -d' ' -f2 || true)
if [ "$have" = "$want" ]; then
    sysroot=$(RUSTUP_TOOLCHAIN=stable rustc --print sysroot)
    host=$(RUSTUP_TOOLCHAIN=stable rustc -vV | sed -n 's/^host: //p')
    ln -s "$sysroot" "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$want-$host"
    echo "Rust $want: using the installed stable toolchain, which is that version"
    exit 0
fi
echo "error: rust-toolchain.toml pins Rust $want, which is not installed (stable is ${have:-missing});" \
     "install it with: rustup toolchain install $want" >&2
exit 1
