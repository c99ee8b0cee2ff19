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

zmq::message_t StagingBudget::stage(uint64_t bytes, std::chrono::milliseconds patience,
                                    bool* overdrawn) {
    {
        std::unique_lock lock(mutex_);
        bool room = room_.wait_for(lock, patience, [&] {
            return cancelled_ || staged_ == 0 || staged_ + bytes <= limit_;
        });
        *overdrawn = !room;
        staged_ += bytes;
    }
    void* data = std::malloc(bytes ? bytes : 1);
    if (!data) {
        release(nullptr, new Staged{shared_from_this(), bytes});
        throw std::bad_alloc();
    }
    return zmq::message_t(data, bytes, &StagingBudget::release,
                          new Staged{shared_from_this(), bytes});
}

void StagingBudget::release(void* data, void* hint) {
    // Runs wherever ZeroMQ frees the message (its I/O thread, or ours): only counting here.
    std::free(data);
    std::unique_ptr<Staged> staged(static_cast<Staged*>(hint));
    {
        std::lock_guard lock(staged->budget->mutex_);
        staged->budget->staged_ -= staged->bytes;
    }
    staged->budget->room_.notify_all();
}

} // namespace rgpu::daemon
