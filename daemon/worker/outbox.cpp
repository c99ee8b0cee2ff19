// SPDX-License-Identifier: Apache-2.0
// Outbox: a mutex-guarded queue plus an eventfd that the I/O thread polls.
#include "outbox.h"

namespace rgpu::daemon {

struct Outbox::CallbackArg {
    Outbox* outbox;
    std::shared_ptr<CompletionRecord> record;
};

Outbox::~Outbox() {
    std::lock_guard lock(args_mutex_);
    for (CallbackArg* arg : args_)
        delete arg;
}

cl_int native_status(const CompletionRecord& record) {
    cl_int status = CL_QUEUED;
    if (clGetEventInfo(record.native.get(), CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status,
                       &status, nullptr) != CL_SUCCESS)
        return CL_QUEUED;
    return status;
}

void Outbox::push(Item item) {
    bool was_empty;
    {
        std::lock_guard lock(mutex_);
        was_empty = items_.empty();
        items_.push_back(std::move(item));
        has_items_.store(true, std::memory_order_release);
    }
    // Only the first item after a drain needs a wake-up: the I/O thread takes the rest with it.
    if (was_empty) notifier_.signal();
}

std::vector<Outbox::Item> Outbox::drain() {
    notifier_.clear();
    std::vector<Item> out;
    std::lock_guard lock(mutex_);
    out.swap(items_);
    has_items_.store(false, std::memory_order_release);
    return out;
}

void Outbox::watch(const std::shared_ptr<CompletionRecord>& record) {
    cl_event event = record->native.get();
    auto arg = new CallbackArg{this, record};
    outstanding_.fetch_add(1);
    {
        std::lock_guard lock(args_mutex_);
        args_.insert(arg);
    }
    if (clSetEventCallback(event, CL_COMPLETE, &Outbox::on_complete, arg) == CL_SUCCESS) return;
    {
        std::lock_guard lock(args_mutex_);
        args_.erase(arg);
    }
    delete arg;
    // Without a callback nothing would report the command or keep its memory alive meanwhile.
    clWaitForEvents(1, &event);
    cl_int status = CL_COMPLETE;
    clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, nullptr);
    if (claim(*record)) push(Completion{record, status});
}

bool Outbox::claim(CompletionRecord& record) {
    if (record.finished.exchange(true)) return false;
    outstanding_.fetch_sub(1);
    return true;
}

void CL_CALLBACK Outbox::on_complete(cl_event, cl_int status, void* user_data) {
    // Runs on an OpenCL runtime thread: no OpenCL calls here, only a hand-off.
    std::unique_ptr<CallbackArg> arg(static_cast<CallbackArg*>(user_data));
    {
        std::lock_guard lock(arg->outbox->args_mutex_);
        arg->outbox->args_.erase(arg.get());
    }
    if (arg->outbox->claim(*arg->record)) arg->outbox->push(Completion{arg->record, status});
}

} // namespace rgpu::daemon
