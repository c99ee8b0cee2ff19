// SPDX-License-Identifier: Apache-2.0
// Runs rgpu-daemon for the bench: spawn, wait for its ready file, stop it at the end.
#pragma once

#include "process.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rgpu::bench {

struct DaemonOptions {
    std::filesystem::path executable;
    std::string transport;         // "tcp" or "ipc"
    std::filesystem::path scratch; // ready file, ipc socket and daemon.log live here
    std::chrono::seconds ready_timeout{30};
    std::vector<std::string> args;                         ///< more daemon flags
    std::map<std::string, std::optional<std::string>> env; ///< more environment edits
};

class DaemonProcess {
  public:
    // Spawns the daemon with OCL_ICD_VENDORS removed from its environment (it sees the system
    // ICDs only) and waits for the endpoint in its ready file. Throws std::runtime_error with
    // the daemon's log tail when it cannot be executed, exits early or is not ready in time;
    // the process is stopped before the exception leaves.
    explicit DaemonProcess(const DaemonOptions& options);
    ~DaemonProcess() { stop(); }
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    const std::string& endpoint() const { return endpoint_; }
    // SIGTERM, waitpid up to 5 s, then SIGKILL. Idempotent.
    void stop() { process_.terminate(std::chrono::seconds(5)); }
    // Non-empty when the daemon has exited: how.
    std::string exit_description();
    // The last lines of the daemon's stdout/stderr (it logs at warn level).
    std::string log_tail(std::size_t max_lines = 15) const;

  private:
    std::filesystem::path log_path_;
    ChildProcess process_;
    std::string endpoint_;
};

} // namespace rgpu::bench
