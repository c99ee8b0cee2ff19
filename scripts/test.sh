#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds rgpu and runs its test suite with ctest.
#
# Usage: scripts/test.sh [--sanitize]
#   --sanitize   use the ASan+UBSan build (build-asan/) with leak detection on
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir=build
build_args=()
for arg in "$@"; do
    case "$arg" in
    --sanitize) build_dir=build-asan build_args=(--sanitize) ;;
    -h | --help)
        sed -n '5,6s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        echo "test.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

"$root/scripts/build.sh" "${build_args[@]}"

if [[ "$build_dir" == build-asan ]]; then
    # Sanitizer reports fail the test that triggers them. Suppression files, when the tests
    # need any (e.g. for leaks inside an OpenCL driver), live under tests/.
    asan_options="detect_leaks=1"
    ubsan_options="print_stacktrace=1:halt_on_error=1"
    lsan_supp="$(find "$root/tests" -type f -name '*lsan*.supp' 2>/dev/null | sort | head -n 1)"
    ubsan_supp="$(find "$root/tests" -type f -name '*ubsan*.supp' 2>/dev/null | sort | head -n 1)"
    if [[ -n "$lsan_supp" ]]; then
        export LSAN_OPTIONS="suppressions=$lsan_supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
        echo "test.sh: LSan suppressions from ${lsan_supp#"$root"/}"
    fi
    if [[ -n "$ubsan_supp" ]]; then
        ubsan_options="$ubsan_options:suppressions=$ubsan_supp"
        echo "test.sh: UBSan suppressions from ${ubsan_supp#"$root"/}"
    fi
    export ASAN_OPTIONS="$asan_options${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="$ubsan_options${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
fi

ctest --test-dir "$root/$build_dir" --output-on-failure --no-tests=error -j2
