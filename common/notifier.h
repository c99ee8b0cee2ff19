// SPDX-License-Identifier: Apache-2.0
// An eventfd that one thread polls (inside zmq::poll) and any thread may signal.
#pragma once

#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>

namespace rgpu {

/// Wakes a thread blocked in zmq::poll without a socket per signalling thread.
/// signal() is safe from any thread, including OpenCL callback threads.
class Notifier {
  public:
    Notifier() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (fd_ < 0) throw std::runtime_error("eventfd failed");
    }
    ~Notifier() { close(fd_); }
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    int fd() const { return fd_; }
    void signal() {
        uint64_t one = 1;
        while (write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }
    /// Clears pending signals; called by the polling thread before it drains its queue.
    void clear() {
        uint64_t value;
        while (read(fd_, &value, sizeof value) < 0 && errno == EINTR) {
        }
    }

  private:
    int fd_;
};

} // namespace rgpu
