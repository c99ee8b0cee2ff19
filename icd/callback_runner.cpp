// SPDX-License-Identifier: Apache-2.0
// CallbackRunner: a queue and one lazily started thread.
#include "callback_runner.h"

namespace rgpu::icd {

CallbackRunner::~CallbackRunner() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void CallbackRunner::post(Event* event, cl_int status, Fn fn, void* data) {
    hold(event);
    {
        std::lock_guard lock(mutex_);
        items_.push_back(Item{event, status, fn, data});
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    cv_.notify_one();
}

void CallbackRunner::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || !items_.empty(); });
        if (items_.empty()) return; // stop requested and nothing left
        Item item = items_.front();
        items_.pop_front();
        lock.unlock();
        item.fn(item.event, item.status, item.data);
        drop(item.event);
        lock.lock();
    }
}

} // namespace rgpu::icd
