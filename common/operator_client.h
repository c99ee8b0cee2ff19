// SPDX-License-Identifier: Apache-2.0
// One-shot operator requests to a daemon's supervisor (status, sessions, release, kill); used by
// rgpu-ctl and tests. Each opens its own DEALER socket and is bounded by `timeout`.
#pragma once

#include <rgpu/wire/messages_generated.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace rgpu {

/// Sessionless requests to a daemon over one DEALER connection, each answered before the next
/// is sent (operator requests; a checkpoint's chunks, daemon to daemon).
class RequestChannel {
  public:
    using Build = std::function<std::pair<wire::Request, flatbuffers::Offset<void>>(
        flatbuffers::FlatBufferBuilder&)>;
    /// Connects at the first request; each waits at most `timeout` for its answer.
    RequestChannel(const std::string& endpoint, std::chrono::milliseconds timeout);
    /// Sends the request `build` makes (with `data` as its bulk frame, if given) and hands its
    /// reply to `read`; false with `error` set on timeout, a malformed answer, or a refusal.
    bool ask(const Build& build, const std::function<bool(const wire::Reply&)>& read,
             std::string* error, const void* data = nullptr, size_t size = 0);

  private:
    std::string endpoint_;
    std::chrono::milliseconds timeout_;
    zmq::context_t context_;
    zmq::socket_t socket_;
    bool connected_ = false;
    std::string curve_error_; ///< a malformed CurveZMQ setting: nothing is sent
};

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

/// A served device; for a pooled device, its members with their load summed over sessions.
struct DeviceInfo {
    struct Member {
        std::string name;
        uint64_t queued = 0;
        uint64_t running = 0;
        uint64_t placements = 0;
        uint64_t queues = 0;
        uint64_t migrations = 0;
        uint64_t migrated_bytes = 0;
        uint64_t busy_ns = 0;
        uint64_t resident_bytes = 0;
    };
    uint32_t index = 0;
    std::string name;
    std::string placement; ///< empty for a plain device
    std::string policy;
    std::vector<Member> members;
};

/// The daemon's devices, or nullopt with `error` set.
std::optional<std::vector<DeviceInfo>>
list_devices(const std::string& endpoint, std::chrono::milliseconds timeout, std::string* error);

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
