// SPDX-License-Identifier: Apache-2.0
// WorkerProcess: posix_spawn of `rgpu-daemon --worker-fd 3 ...` and its reaping.
#include "worker_process.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

namespace rgpu::daemon {

namespace {
/// The fd number the worker finds its control channel at.
constexpr int kWorkerControlFd = 3;
} // namespace

WorkerProcess::WorkerProcess(const WorkerLaunch& launch) {
    auto [mine, theirs] = ControlChannel::make_pair();
    control_ = std::make_unique<ControlChannel>(mine);
    std::string parent = std::to_string(getpid());
    std::vector<std::string> args = {
        launch.executable, "--worker-fd",      std::to_string(kWorkerControlFd),
        "--worker-bind",   launch.bind,        "--log-level",
        launch.log_level,  "--supervisor-pid", parent};
    args.insert(args.end(), launch.args.begin(), launch.args.end());
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // dup2 onto itself would keep close-on-exec: go through another number first.
    int source = theirs;
    if (source == kWorkerControlFd) {
        source = dup(theirs);
        close(theirs);
        theirs = source;
    }
    posix_spawn_file_actions_adddup2(&actions, source, kWorkerControlFd);
    int err =
        posix_spawn(&pid_, launch.executable.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(theirs);
    if (err != 0) throw std::system_error(err, std::generic_category(), "posix_spawn worker");
}

WorkerProcess::~WorkerProcess() {
    if (!status_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

void WorkerProcess::signal(int signo) {
    if (!status_ && pid_ > 0) kill(pid_, signo);
}

std::optional<int> WorkerProcess::try_reap() {
    if (status_) return status_;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_)
        status_ = status;
    else if (r < 0 && errno == ECHILD)
        status_ = 0; // reaped elsewhere: nothing more to learn
    return status_;
}

std::string describe_wait_status(int status) {
    if (WIFSIGNALED(status))
        return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    return "wait status " + std::to_string(status);
}

uint64_t process_threads(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("Threads:", 0) == 0) return std::strtoull(line.c_str() + 8, nullptr, 10);
    return 0;
}

} // namespace rgpu::daemon
