// SPDX-License-Identifier: Apache-2.0
// KernelOutput: standard output as a non-blocking pipe (see kernel_output.h).
#include "kernel_output.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace rgpu::daemon {

KernelOutput::~KernelOutput() {
    if (read_fd_ >= 0) close(read_fd_);
}

bool KernelOutput::capture(std::string* error) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        *error = std::string("pipe2: ") + std::strerror(errno);
        return false;
    }
    // Only the read end is non-blocking: a kernel printing faster than the client takes it
    // waits, rather than losing output.
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); // fewer stalls of a chatty kernel; best effort
    std::fflush(stdout);
    if (dup2(fds[1], STDOUT_FILENO) < 0) {
        *error = std::string("dup2: ") + std::strerror(errno);
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    close(fds[1]);
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    read_fd_ = fds[0];
    return true;
}

std::string KernelOutput::take(size_t max) {
    std::string out;
    if (read_fd_ < 0) return out;
    char buffer[1 << 16];
    while (out.size() < max) {
        ssize_t n = read(read_fd_, buffer, std::min(sizeof buffer, max - out.size()));
        if (n > 0) {
            out.append(buffer, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break; // EAGAIN: nothing more now; 0: no writer left
    }
    return out;
}

} // namespace rgpu::daemon
