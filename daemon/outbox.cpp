// SPDX-License-Identifier: Apache-2.0
// Outbox: a mutex-guarded queue plus an eventfd that the I/O thread polls.
#include "outbox.h"

namespace rgpu::daemon {

namespace {
struct CallbackArg {
    Outbox* outbox;
    std::shared_ptr<CompletionRecord> record;
};
} // namespace

void Outbox::push(Item item) {
    bool was_empty;
    {
        std::lock_guard lock(mutex_);
        was_empty = items_.empty();
        items_.push_back(std::move(item));
    }
    // Only the first item after a drain needs a wake-up: the I/O thread takes the rest with it.
    if (was_empty) notifier_.signal();
}

std::vector<Outbox::Item> Outbox::drain() {
    notifier_.clear();
    std::vector<Item> out;
    std::lock_guard lock(mutex_);
    out.swap(items_);
    return out;
}

cl_int Outbox::watch(std::shared_ptr<CompletionRecord> record) {
    cl_event event = record->native.get();
    auto arg = new CallbackArg{this, std::move(record)};
    outstanding_.fetch_add(1);
    cl_int err = clSetEventCallback(event, CL_COMPLETE, &Outbox::on_complete, arg);
    if (err != CL_SUCCESS) {
        outstanding_.fetch_sub(1);
        delete arg;
    }
    return err;
}

void CL_CALLBACK Outbox::on_complete(cl_event, cl_int status, void* user_data) {
    // Runs on an OpenCL runtime thread: no OpenCL calls here, only a hand-off.
    std::unique_ptr<CallbackArg> arg(static_cast<CallbackArg*>(user_data));
    Outbox* outbox = arg->outbox;
    outbox->push(Completion{std::move(arg->record), status});
    outbox->outstanding_.fetch_sub(1);
}

} // namespace rgpu::daemon
