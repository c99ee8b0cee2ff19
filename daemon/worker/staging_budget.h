// SPDX-License-Identifier: Apache-2.0
// A bound on the host memory a session's reads hold between the device and the client's socket.
//
// Read data is staged in host memory from the native read until ZeroMQ has written it to the
// client's connection. Staged bytes are counted from allocation until ZeroMQ frees the message
// (its free function), so a client that reads slowly or not at all, or queues many large
// reads, holds at most the budget: the session's executor waits for room before it stages more.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <zmq.hpp>

namespace rgpu::daemon {

class StagingBudget : public std::enable_shared_from_this<StagingBudget> {
  public:
    explicit StagingBudget(uint64_t limit) : limit_(limit) {}

    /// True when `bytes` fit now (or nothing is staged, so progress is always possible).
    bool fits(uint64_t bytes) const {
        std::lock_guard lock(mutex_);
        return staged_ == 0 || staged_ + bytes <= limit_;
    }
    /// Waits until `bytes` fit, at most `patience` (a read gated on a user event the client sets
    /// later cannot deadlock the session: after that the budget is overdrawn, and says so).
    /// Returns a message of `bytes` whose memory counts against the budget until freed.
    zmq::message_t stage(uint64_t bytes, std::chrono::milliseconds patience, bool* overdrawn);
    /// The session is ending: waiters stop waiting (and later stages do not wait).
    void cancel() {
        {
            std::lock_guard lock(mutex_);
            cancelled_ = true;
        }
        room_.notify_all();
    }
    uint64_t staged() const {
        std::lock_guard lock(mutex_);
        return staged_;
    }
    uint64_t limit() const { return limit_; }

  private:
    static void release(void* data, void* hint);

    const uint64_t limit_;
    mutable std::mutex mutex_;
    std::condition_variable room_;
    uint64_t staged_ = 0;    // guarded by mutex_
    bool cancelled_ = false; // guarded by mutex_
};

} // namespace rgpu::daemon
