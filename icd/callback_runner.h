// SPDX-License-Identifier: Apache-2.0
// Runs application event callbacks on a thread of their own, in the order events completed.
//
// Callbacks must not run on a connection's I/O thread: a callback may make a blocking OpenCL
// call (clFinish, a blocking read), whose answer only that I/O thread can deliver.
#pragma once

#include "lifetime.h"
#include "objects.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace rgpu::icd {

class CallbackRunner {
  public:
    using Fn = void(CL_CALLBACK*)(cl_event, cl_int, void*);

    CallbackRunner() = default;
    ~CallbackRunner(); ///< Runs what is queued, then joins the thread.
    CallbackRunner(const CallbackRunner&) = delete;
    CallbackRunner& operator=(const CallbackRunner&) = delete;

    /// Queues fn(event, status, data); the event is held until the call returns. Any thread.
    void post(Event* event, cl_int status, Fn fn, void* data);

  private:
    struct Item {
        Event* event;
        cl_int status;
        Fn fn;
        void* data;
    };
    void run();

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Item> items_; // guarded by mutex_
    bool stop_ = false;      // guarded by mutex_
    std::thread thread_;     // started by the first post()
};

} // namespace rgpu::icd
