#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fuzzes the daemon's receive path (tests/fuzz/receive_path_fuzzer.cpp) with libFuzzer.
#
# Usage: scripts/fuzz.sh [--smoke | --seconds N | --runs N] [--recorded DIR] [-- LIBFUZZER_ARGS...]
#   --smoke      what CI runs: the regression inputs, then 60 s of fuzzing from a fixed seed
#                (a run that explores afresh each time is --seconds: CI must not turn red on
#                whatever a new seed happens to find first)
#   --seconds N  fuzz for N seconds (default 600)
#   --runs N     fuzz for N executions (e.g. --runs 10000000 for the documented long run)
#   --recorded DIR  seed from DIR, recorded by a test run of build/ made with RGPU_CORPUS_DIR=DIR
#                (CI records during its main test run instead of running the tests again)
#
# The seed corpus is recorded from real sessions: the e2e and daemon tests of build/ run with
# RGPU_CORPUS_DIR set, so every message a worker accepts is also written there. The fuzzer is
# built with clang into build-fuzz/ (installing clang when it is missing). Findings are written
# to build-fuzz/findings/ and make the script fail.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
limit=(-max_total_time=600)
smoke=0
recorded=""
extra=()
while (($#)); do
    case "$1" in
    --smoke) smoke=1 limit=(-max_total_time=60 -seed=1) ;;
    --seconds) limit=(-max_total_time="$2"); shift ;;
    --runs) limit=(-runs="$2"); shift ;;
    --recorded) recorded="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '5,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${db:Status-Status}' libclang-rt-14-dev 2>/dev/null | grep -q '^installed$'; then
    echo "fuzz.sh: installing clang and its fuzzer runtime"
    as_root=()
    [[ $EUID -ne 0 ]] && as_root=(sudo)
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libclang-rt-14-dev >/dev/null
fi

out="$root/build-fuzz"
mkdir -p "$out/corpus" "$out/findings"
if [[ -n "$recorded" ]]; then
    corpus="$(cd "$recorded" && pwd)"
    [[ -n "$(find "$corpus" -type f -print -quit)" ]] ||
        { echo "fuzz.sh: $recorded holds no recorded messages" >&2; exit 1; }
else
    # The normal build records the corpus.
    "$root/scripts/build.sh" >/dev/null
    corpus="$out/corpus-recorded"
    rm -rf "$corpus" && mkdir -p "$corpus"
    echo "fuzz.sh: recording a seed corpus from the e2e and daemon tests"
    RGPU_CORPUS_DIR="$corpus" ctest --test-dir "$root/build" -L 'e2e|daemon' -j2 >"$out/record.log" 2>&1 ||
        { echo "fuzz.sh: the recording test run failed (see $out/record.log)" >&2; exit 1; }
fi
echo "fuzz.sh: $(find "$corpus" -type f | wc -l) messages recorded"

CC=clang CXX=clang++ cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRGPU_FUZZ=ON \
    -DRGPU_BUILD_TESTS=OFF -DRGPU_BUILD_BENCH=OFF >/dev/null
cmake --build "$out" -j"$(nproc)" --target rgpu-receive-fuzzer >/dev/null
fuzzer="$out/tests/fuzz/rgpu-receive-fuzzer"

# POCL's own leaks (tests/lsan.supp) are not the receive path's: inputs that make a 1D buffer
# image would otherwise end the run as a leak inside libpocl.
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
cd "$out/findings"
echo "fuzz.sh: replaying the regression inputs"
"$fuzzer" -runs=1 "$root"/tests/fuzz/regressions/* 2>"$out/regressions.log" ||
    { tail -n 40 "$out/regressions.log" >&2; exit 1; }
echo "fuzz.sh: fuzzing (${limit[*]})"
status=0
"$fuzzer" "${limit[@]}" -timeout=90 -rss_limit_mb=8192 -max_len=65536 -print_final_stats=1 \
    "${extra[@]}" "$out/corpus" "$corpus" 2>"$out/fuzz.log" || status=$?
grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$out/fuzz.log" || true
if ((status != 0)); then
    grep -E 'ERROR|SUMMARY|Test unit written' "$out/fuzz.log" >&2 || tail -n 40 "$out/fuzz.log" >&2
    exit "$status"
fi
echo "fuzz.sh: no crash, leak or sanitizer report"
