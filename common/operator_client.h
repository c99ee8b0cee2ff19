// SPDX-License-Identifier: Apache-2.0
// One-shot operator requests to a daemon's supervisor (status, sessions, release, kill); used by
// rgpu-ctl and tests. Each opens its own DEALER socket and is bounded by `timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rgpu {

struct DaemonStatus {
    uint32_t sessions = 0;
    uint32_t devices = 0;
    uint64_t rejected_messages = 0;
    uint32_t warm_workers = 0;
};

struct SessionInfo {
    uint64_t id = 0;
    std::string client;
    uint32_t worker_pid = 0;
    uint64_t age_ms = 0;
    std::string state;
    uint32_t objects = 0;
    uint64_t device_bytes = 0;
    uint64_t commands_in_flight = 0;
    uint64_t bytes_in_flight = 0;
};

/// The daemon's status, or nullopt (and `error` set) when it does not answer within `timeout`.
std::optional<DaemonStatus> query_status(const std::string& endpoint,
                                         std::chrono::milliseconds timeout, std::string* error);

/// The daemon's sessions (loopback and ipc peers only), or nullopt with `error` set.
std::optional<std::vector<SessionInfo>>
list_sessions(const std::string& endpoint, std::chrono::milliseconds timeout, std::string* error);

/// Ends session `id` and kills its worker; false with `error` set when the daemon refused
/// (no such session, not a local peer) or did not answer.
bool kill_session(const std::string& endpoint, uint64_t id, std::chrono::milliseconds timeout,
                  std::string* error);

/// Releases session `id` from the daemon side: its connection is dropped, the session kept;
/// its client reconnects by itself. False with `error` set as for kill_session.
bool release_session(const std::string& endpoint, uint64_t id, std::chrono::milliseconds timeout,
                     std::string* error);

/// Moves session `id` to the daemon at `to`: drained and saved here, restored there, its client
/// redirected. Waits for the whole move (bounded by `timeout`); false with `error` set when a
/// daemon refused (no checkpoint directory, devices of another kind, ...) or did not answer.
bool move_session(const std::string& endpoint, uint64_t id, const std::string& to,
                  std::chrono::milliseconds timeout, std::string* error);

} // namespace rgpu
