#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs missing dependencies, then configures and builds rgpu into build/ (or build-asan/).
#
# Usage: scripts/build.sh [--sanitize]
#   --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir=build
sanitize=OFF
for arg in "$@"; do
    case "$arg" in
    --sanitize) build_dir=build-asan sanitize=ON ;;
    -h | --help)
        sed -n '5,6s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        echo "build.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

"$root/scripts/install-deps.sh"

cd "$root"
echo "build.sh: configuring $build_dir/ (RGPU_SANITIZE=$sanitize)"
# The benchmarks are built (and warning-checked) in the plain build; the sanitizer build runs
# only the tests, so it leaves them out to keep CI short.
bench=ON
[[ "$sanitize" == ON ]] && bench=OFF
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRGPU_SANITIZE="$sanitize" \
    -DRGPU_BUILD_BENCH="$bench"
cmake --build "$build_dir" -j"$(nproc)"
