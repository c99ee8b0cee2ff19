// SPDX-License-Identifier: Apache-2.0
// What kernels print. A worker serves one session, so everything its OpenCL runtime writes to
// standard output (kernel printf) is that session's: standard output becomes a pipe, which the
// I/O thread reads and sends to the client ahead of the completion notices of the commands that
// printed it. The worker's own log goes to standard error.
#pragma once

#include <cstddef>
#include <string>

namespace rgpu::daemon {

class KernelOutput {
  public:
    KernelOutput() = default;
    ~KernelOutput();
    KernelOutput(const KernelOutput&) = delete;
    KernelOutput& operator=(const KernelOutput&) = delete;

    /// Makes standard output a pipe read here (unbuffered, so nothing waits in stdio). False,
    /// with the reason, if it cannot; standard output is then left as it was.
    bool capture(std::string* error);
    /// The pipe's read end, to poll (-1 before capture()).
    int fd() const { return read_fd_; }
    /// Whatever has been printed so far, at most `max` bytes; never blocks.
    std::string take(size_t max);

  private:
    int read_fd_ = -1;
};

} // namespace rgpu::daemon
