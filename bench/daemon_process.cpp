// SPDX-License-Identifier: Apache-2.0
// Runs rgpu-daemon for the bench: spawn, wait for its ready file, stop it at the end.
#include "daemon_process.h"

#include <cerrno>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace rgpu::bench {

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string trim(std::string s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

} // namespace

DaemonProcess::DaemonProcess(const DaemonOptions& options)
    : log_path_(options.scratch / "daemon.log") {
    if (access(options.executable.c_str(), X_OK) != 0)
        throw std::runtime_error("rgpu-daemon not found or not executable at " +
                                 options.executable.string() + " (is it built? see --daemon)");
    const fs::path ready_file = options.scratch / "ep";
    std::error_code ec;
    fs::remove(ready_file, ec);
    const std::string listen = options.transport == "ipc"
                                   ? "ipc://" + (options.scratch / "rgpu.sock").string()
                                   : "tcp://127.0.0.1:*";

    const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0)
        throw std::runtime_error("open " + log_path_.string() + ": " + std::strerror(errno));
    SpawnOptions spawn;
    spawn.argv = {options.executable.string(), "--listen",    listen, "--ready-file",
                  ready_file.string(),         "--log-level", "warn"};
    spawn.env["OCL_ICD_VENDORS"] = std::nullopt; // the daemon sees only the system ICDs
    spawn.env["RGPU_SERVERS"] = std::nullopt;
    spawn.argv.insert(spawn.argv.end(), options.args.begin(), options.args.end());
    for (const auto& [name, value] : options.env)
        spawn.env[name] = value;
    spawn.stdout_fd = log_fd;
    spawn.stderr_fd = log_fd;
    spawn.parent_death_signal = SIGTERM;
    try {
        process_ = ChildProcess::spawn(spawn);
    } catch (...) {
        close(log_fd);
        throw;
    }
    close(log_fd);

    // The ready file holds the bound endpoint on one line. Accept it once the line is complete
    // (newline-terminated) or has stayed the same across two polls.
    const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
    std::string previous;
    for (;;) {
        if (process_.poll_exit()) {
            const std::string how = exit_description();
            throw std::runtime_error("rgpu-daemon " + how + " before it was ready" + log_tail());
        }
        std::string content = fs::exists(ready_file, ec) ? read_file(ready_file) : "";
        if (!content.empty() && (content.find('\n') != std::string::npos || content == previous)) {
            endpoint_ = trim(content.substr(0, content.find('\n')));
            if (!endpoint_.empty()) break;
        }
        previous = std::move(content);
        if (std::chrono::steady_clock::now() >= deadline) {
            stop();
            throw std::runtime_error("rgpu-daemon wrote no endpoint to " + ready_file.string() +
                                     " within " + std::to_string(options.ready_timeout.count()) +
                                     " s" + log_tail());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

std::string DaemonProcess::exit_description() {
    if (!process_.poll_exit()) return "";
    const auto status = process_.status();
    return status ? describe_wait_status(*status) : "exited";
}

std::string DaemonProcess::log_tail(std::size_t max_lines) const {
    std::ifstream in(log_path_);
    std::deque<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
        if (lines.size() > max_lines) lines.pop_front();
    }
    if (lines.empty()) return "";
    std::string result = "\n  daemon log (last lines):";
    for (const auto& line : lines)
        result += "\n    " + line;
    return result;
}

} // namespace rgpu::bench
