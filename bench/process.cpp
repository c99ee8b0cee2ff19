// SPDX-License-Identifier: Apache-2.0
// Child processes with bounded waits: fork+exec with an edited environment, terminate with a grace.
#include "process.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace rgpu::bench {

namespace {

std::vector<std::string> edited_environment(const SpawnOptions& options) {
    std::vector<std::string> result;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry(*e);
        const std::string name = entry.substr(0, entry.find('='));
        if (!options.env.contains(name)) result.push_back(std::move(entry));
    }
    for (const auto& [name, value] : options.env)
        if (value) result.push_back(name + "=" + *value);
    return result;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> result;
    for (auto& s : strings)
        result.push_back(s.data());
    result.push_back(nullptr);
    return result;
}

} // namespace

ChildProcess ChildProcess::spawn(const SpawnOptions& options) {
    if (options.argv.empty()) throw std::runtime_error("spawn: empty argv");
    // Everything the child needs is prepared here: between fork and exec it may only make
    // async-signal-safe calls (the parent may have threads).
    std::vector<std::string> argv_strings = options.argv;
    std::vector<std::string> env_strings = edited_environment(options);
    std::vector<char*> argv = pointers(argv_strings);
    std::vector<char*> envp = pointers(env_strings);
    const pid_t parent = getpid();

    int exec_error[2];
    if (pipe2(exec_error, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));

    const pid_t pid = fork();
    if (pid < 0) {
        const int err = errno;
        close(exec_error[0]);
        close(exec_error[1]);
        throw std::runtime_error(std::string("fork: ") + std::strerror(err));
    }
    if (pid == 0) {
        close(exec_error[0]);
        if (options.parent_death_signal != 0) prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
        if (getppid() != parent) _exit(127); // the parent died before prctl took effect
        if (options.stdout_fd >= 0) dup2(options.stdout_fd, STDOUT_FILENO);
        if (options.stderr_fd >= 0) dup2(options.stderr_fd, STDERR_FILENO);
        execve(argv[0], argv.data(), envp.data());
        const int err = errno;
        [[maybe_unused]] auto n = write(exec_error[1], &err, sizeof err);
        _exit(127);
    }

    close(exec_error[1]);
    int err = 0;
    ssize_t n;
    do {
        n = read(exec_error[0], &err, sizeof err); // EOF (0) means exec succeeded
    } while (n < 0 && errno == EINTR);
    close(exec_error[0]);
    ChildProcess child(pid);
    if (n == static_cast<ssize_t>(sizeof err)) {
        child.wait_for(std::chrono::seconds(5));
        throw std::runtime_error("cannot execute " + options.argv[0] + ": " + std::strerror(err));
    }
    return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), status_(other.status_) {
    other.pid_ = -1;
    other.status_.reset();
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        terminate();
        pid_ = other.pid_;
        status_ = other.status_;
        other.pid_ = -1;
        other.status_.reset();
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    terminate();
}

bool ChildProcess::poll_exit() {
    if (pid_ <= 0 || status_) return true;
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = status;
        return true;
    }
    if (r < 0 && errno == ECHILD) { // somebody else reaped it; treat as gone
        status_ = 0;
        return true;
    }
    return false;
}

bool ChildProcess::wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!poll_exit()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

void ChildProcess::terminate(std::chrono::milliseconds grace) {
    if (pid_ <= 0 || poll_exit()) return;
    ::kill(pid_, SIGTERM);
    if (wait_for(grace)) return;
    kill_now();
}

void ChildProcess::kill_now() {
    if (pid_ <= 0 || poll_exit()) return;
    ::kill(pid_, SIGKILL);
    // SIGKILL cannot be caught; only an uninterruptible sleep delays it. Still bounded.
    if (!wait_for(std::chrono::seconds(10))) status_ = -1;
}

std::string describe_wait_status(int status) {
    if (status == -1) return "did not exit after SIGKILL";
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* name = strsignal(sig);
        return "killed by signal " + std::to_string(sig) +
               (name ? std::string(" (") + name + ")" : "");
    }
    return "ended with wait status " + std::to_string(status);
}

} // namespace rgpu::bench
