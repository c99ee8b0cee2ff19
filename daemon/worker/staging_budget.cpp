// SPDX-License-Identifier: Apache-2.0
// StagingBudget: counted allocations released by ZeroMQ's free function.
#include "staging_budget.h"

#include <cstdlib>
#include <new>

namespace rgpu::daemon {

namespace {
/// Travels with each staged block to its free function: the size and the budget to credit.
struct Staged {
    std::shared_ptr<StagingBudget> budget;
    uint64_t bytes;
};
} // namespace

void StagingBudget::take(uint64_t bytes, std::chrono::milliseconds patience, bool* overdrawn) {
    std::unique_lock lock(mutex_);
    bool room = room_.wait_for(
        lock, patience, [&] { return cancelled_ || staged_ == 0 || staged_ + bytes <= limit_; });
    *overdrawn = !room;
    staged_ += bytes;
}

void StagingBudget::give_back(uint64_t bytes) {
    {
        std::lock_guard lock(mutex_);
        staged_ -= bytes;
    }
    room_.notify_all();
}

zmq::message_t StagingBudget::stage(uint64_t bytes, std::chrono::milliseconds patience,
                                    bool* overdrawn) {
    take(bytes, patience, overdrawn);
    void* data = std::malloc(bytes ? bytes : 1);
    if (!data) {
        give_back(bytes);
        throw std::bad_alloc();
    }
    return zmq::message_t(data, bytes, &StagingBudget::release,
                          new Staged{shared_from_this(), bytes});
}

StagingBudget::Charge StagingBudget::charge(uint64_t bytes, std::chrono::milliseconds patience,
                                            bool* overdrawn) {
    take(bytes, patience, overdrawn);
    Charge charge;
    charge.budget_ = shared_from_this();
    charge.bytes_ = bytes;
    return charge;
}

void StagingBudget::release(void* data, void* hint) {
    // Runs wherever ZeroMQ frees the message (its I/O thread, or ours): only counting here.
    std::free(data);
    std::unique_ptr<Staged> staged(static_cast<Staged*>(hint));
    staged->budget->give_back(staged->bytes);
}

} // namespace rgpu::daemon
