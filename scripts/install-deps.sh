#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages rgpu needs to build, test and run its examples; only missing ones.
set -euo pipefail

packages=(
    build-essential cmake pkg-config git
    ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
    libzmq3-dev cppzmq-dev
    libflatbuffers-dev flatbuffers-compiler
    doctest-dev libspdlog-dev libcli11-dev
)

missing=()
for package in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)"
    if [[ "$status" != installed ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ $EUID -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "install-deps: missing packages and not root; rerun as root (sudo $0)" >&2
        exit 1
    fi
    as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
else
    as_root=(env DEBIAN_FRONTEND=noninteractive)
fi
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
