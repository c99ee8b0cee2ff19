// SPDX-License-Identifier: Apache-2.0
// A bound on the host memory a session's transfers hold in its worker.
//
// Read data is staged in host memory from the native read until ZeroMQ has written it to the
// client's connection; write data stays in memory from its arrival until the native copy is
// done. Staged bytes are counted from allocation until ZeroMQ frees the message (its free
// function), write data while its Charge lives, so a client that reads slowly or not at all, or
// queues many large reads or writes, holds at most the budget: the session's executor waits for
// room before it stages more (and, waiting, takes up no further messages, so the client's
// credit runs out and it stops sending).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
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
    /// Bytes already in memory (a write's data), counted against the budget while it lives.
    class Charge {
      public:
        Charge() = default;
        Charge(Charge&& other) noexcept
            : budget_(std::move(other.budget_)), bytes_(std::exchange(other.bytes_, 0)) {}
        Charge& operator=(Charge&& other) noexcept {
            if (this != &other) {
                reset();
                budget_ = std::move(other.budget_);
                bytes_ = std::exchange(other.bytes_, 0);
            }
            return *this;
        }
        ~Charge() { reset(); }
        void reset() {
            if (budget_) budget_->give_back(bytes_);
            budget_.reset();
            bytes_ = 0;
        }

      private:
        friend class StagingBudget;
        std::shared_ptr<StagingBudget> budget_;
        uint64_t bytes_ = 0;
    };

    /// Waits until `bytes` fit, at most `patience` (a transfer gated on a user event the client
    /// sets later must not deadlock the session: after that the budget is overdrawn, and
    /// `overdrawn` says so). Returns a message of `bytes` whose memory counts against the budget
    /// until freed.
    zmq::message_t stage(uint64_t bytes, std::chrono::milliseconds patience, bool* overdrawn);
    /// The same wait for bytes that are already in memory.
    Charge charge(uint64_t bytes, std::chrono::milliseconds patience, bool* overdrawn);
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
    void take(uint64_t bytes, std::chrono::milliseconds patience, bool* overdrawn);
    void give_back(uint64_t bytes);

    const uint64_t limit_;
    mutable std::mutex mutex_;
    std::condition_variable room_;
    uint64_t staged_ = 0;    // guarded by mutex_
    bool cancelled_ = false; // guarded by mutex_
};

} // namespace rgpu::daemon
