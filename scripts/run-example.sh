#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds rgpu, starts a daemon on the local OpenCL platforms (POCL) and runs the examples through
# the rgpu ICD over loopback.
#
# Usage: scripts/run-example.sh
# The daemon log goes to build/rgpu-daemon.log. Exits non-zero if any example fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
ready_timeout_s=30
stop_timeout_s=10

"$root/scripts/build.sh"

daemon="$build/daemon/rgpu-daemon"
vendors="$build/vendors"
[[ -x "$daemon" ]] || { echo "run-example: $daemon was not built" >&2; exit 1; }
[[ -f "$vendors/rgpu.icd" ]] || { echo "run-example: $vendors/rgpu.icd was not built" >&2; exit 1; }

tmp="$(mktemp -d -t rgpu-example.XXXXXX)"
daemon_log="$build/rgpu-daemon.log"
daemon_pid=""

# Sends SIGTERM, waits a bounded time, and returns the daemon's exit status.
stop_daemon() {
    [[ -n "$daemon_pid" ]] || return 0
    local pid="$daemon_pid" status=0
    daemon_pid=""
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < stop_timeout_s * 10; ++i)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "run-example: daemon did not stop within ${stop_timeout_s}s of SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" || status=$?
    return "$status"
}

cleanup() {
    stop_daemon || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_daemon_log() {
    echo "---- last lines of $daemon_log ----" >&2
    tail -n 40 "$daemon_log" >&2 || true
}

# The daemon serves the system's OpenCL platforms, so it must not see the client-side settings.
echo "run-example: starting rgpu-daemon (log: ${daemon_log#"$root"/})"
env -u OCL_ICD_VENDORS -u OCL_ICD_FILENAMES -u RGPU_SERVERS \
    "$daemon" --listen 'tcp://127.0.0.1:*' --ready-file "$tmp/endpoint" --log-level info \
    >"$daemon_log" 2>&1 &
daemon_pid=$!

# The ready file holds the endpoint the daemon bound, on one line, once it accepts clients.
endpoint=""
for ((i = 0; i < ready_timeout_s * 10; ++i)); do
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
        status=0
        wait "$daemon_pid" || status=$?
        daemon_pid=""
        echo "run-example: rgpu-daemon exited with status $status before it was ready" >&2
        show_daemon_log
        exit 1
    fi
    if [[ -s "$tmp/endpoint" ]]; then
        read -r endpoint <"$tmp/endpoint" || true
        [[ "$endpoint" =~ ^[a-z]+://.+ && "$endpoint" != *'*' ]] && break
        endpoint=""
    fi
    sleep 0.1
done
if [[ -z "$endpoint" ]]; then
    echo "run-example: rgpu-daemon wrote no endpoint to its ready file within ${ready_timeout_s}s" >&2
    show_daemon_log
    exit 1
fi
echo "run-example: rgpu-daemon listening on $endpoint"

# Clients see only the rgpu ICD, pointed at this daemon.
failed=()
run_client() {
    local name="$1"
    shift
    echo
    echo "==== $name ===="
    local status=0
    (
        unset OCL_ICD_FILENAMES
        export OCL_ICD_VENDORS="$vendors" RGPU_SERVERS="$endpoint"
        "$@"
    ) || status=$?
    if ((status != 0)); then
        echo "run-example: $name FAILED (exit status $status)" >&2
        failed+=("$name")
    fi
}

# clinfo exits 0 even when it finds no platform, so look for rgpu in its list.
check_clinfo() {
    local listing
    listing="$(clinfo -l)" || return
    printf '%s\n' "$listing"
    if ! grep -qi '^Platform #[0-9]*: .*rgpu' <<<"$listing"; then
        echo "clinfo -l lists no rgpu platform" >&2
        return 1
    fi
}
run_client "clinfo -l" check_clinfo
run_client vector_add "$build/examples/vector_add"
run_client matrix_multiply "$build/examples/matrix_multiply"

echo
status=0
stop_daemon || status=$?
if ((status != 0)); then
    echo "run-example: rgpu-daemon exited with status $status on SIGTERM" >&2
    failed+=("rgpu-daemon shutdown")
fi

if ((${#failed[@]} != 0)); then
    show_daemon_log
    echo "run-example: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "run-example: all examples passed through rgpu ($endpoint)"
