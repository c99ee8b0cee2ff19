// SPDX-License-Identifier: Apache-2.0
// Child processes with bounded waits: fork+exec with an edited environment, terminate with a grace.
#pragma once

#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace rgpu::bench {

struct SpawnOptions {
    std::vector<std::string> argv; // argv[0] is the path executed
    // Environment edits on top of ours: a value sets the variable, nullopt removes it.
    std::map<std::string, std::optional<std::string>> env;
    int stdout_fd = -1; // -1: inherit
    int stderr_fd = -1;
    int parent_death_signal = SIGTERM; // sent to the child if we die first
};

class ChildProcess {
  public:
    ChildProcess() = default;
    // Throws std::runtime_error when fork fails or the program cannot be executed.
    static ChildProcess spawn(const SpawnOptions& options);
    // Takes ownership of a child this process forked itself.
    static ChildProcess adopt(pid_t pid) { return ChildProcess(pid); }
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess(); // terminate(5 s) if still running

    pid_t pid() const { return pid_; }
    bool reaped() const { return status_.has_value(); }
    std::optional<int> status() const { return status_; } // raw waitpid status once reaped

    // Reaps without blocking; true once the child has exited.
    bool poll_exit();
    // Waits up to `timeout` for the child to exit; true if it did.
    bool wait_for(std::chrono::milliseconds timeout);
    // SIGTERM, wait up to `grace`, then SIGKILL and reap. No-op once reaped.
    void terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));
    // SIGKILL and reap.
    void kill_now();

  private:
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    pid_t pid_ = -1;
    std::optional<int> status_;
};

// "exited with status 3", "killed by signal 11 (Segmentation fault)".
std::string describe_wait_status(int status);

} // namespace rgpu::bench
