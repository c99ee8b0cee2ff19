// SPDX-License-Identifier: Apache-2.0
// One worker process as the supervisor sees it: started with posix_spawn (this process runs
// OpenCL threads, so nothing but exec may follow a fork), its control channel, its end.
#pragma once

#include "control_channel.h"
#include "device_pool.h"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rgpu::daemon {

struct WorkerLaunch {
    std::string executable; ///< this program (/proc/self/exe resolved)
    std::string bind;       ///< endpoint the worker binds for its client
    std::string log_level;
    std::vector<std::string> args; ///< more flags (the pool's), as the supervisor got them
};

class WorkerProcess {
  public:
    enum class State {
        Starting, ///< spawned, OpenCL initialising
        Warm,     ///< ready, waiting for a session
        Serving,  ///< assigned a session
    };

    /// Spawns a worker; throws std::system_error when it cannot.
    explicit WorkerProcess(const WorkerLaunch& launch);
    ~WorkerProcess(); ///< SIGKILLs and reaps a worker still running.
    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;

    pid_t pid() const { return pid_; }
    ControlChannel& control() { return *control_; }
    void signal(int signo);
    /// Reaps the process if it has ended; its wait status once reaped.
    std::optional<int> try_reap();
    bool reaped() const { return status_.has_value(); }

    // Supervisor bookkeeping (its thread only).
    State state = State::Starting;
    bool control_closed = false;
    std::string endpoint; ///< from WorkerReady
    uint64_t session = 0;
    uint64_t resume_token = 0;
    std::string client;         ///< printable description for logs and listings
    std::string client_routing; ///< the client's connection to the supervisor
    std::string peer;           ///< the client's address, for the per-client limit
    bool closed_cleanly = false;
    std::string close_reason;
    /// Why the supervisor killed the worker (the operator, a limit); empty if it did not.
    std::string kill_reason;
    /// Client messages the worker refused, and what its session holds, as it last reported.
    uint64_t rejected_messages = 0;
    uint32_t objects = 0;
    uint64_t device_bytes = 0;
    uint64_t commands_in_flight = 0;
    uint64_t bytes_in_flight = 0;
    /// The session's load on each member of the pooled device, as last reported.
    std::vector<MemberLoad> members;
    /// Being moved (MoveSession): where to, and the operator request to answer when done.
    std::string moving_to;
    std::string move_routing;
    uint64_t move_seq = 0;
    std::chrono::steady_clock::time_point move_started;
    /// Started to restore a saved session (session, resume_token and client set from it).
    bool restore = false;
    /// False while the session is released (no client connected or heard from lately).
    bool attached = true;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point assigned;

  private:
    pid_t pid_ = -1;
    std::unique_ptr<ControlChannel> control_;
    std::optional<int> status_;
};

/// "exit status N" or "killed by signal N (NAME)" for a wait status.
std::string describe_wait_status(int status);
/// Threads of process `pid` now (from /proc; 0 if it cannot be read).
uint64_t process_threads(pid_t pid);

} // namespace rgpu::daemon
