// SPDX-License-Identifier: Apache-2.0
// Session executor: runs a session's commands in order, off the I/O thread.
#include "session.h"

#include "checkpoint.h"
#include "exec_context.h"
#include "handlers/handlers.h"

#include <printable.h>
#include <spdlog/spdlog.h>

#include <new>

namespace rgpu::daemon {

Session::Session(uint64_t id, std::string client, const std::vector<LocalDevice>& devices_,
                 Outbox& outbox_, SessionLimits limits)
    : devices(devices_), outbox(outbox_), id_(id), client_(std::move(client)), limits_(limits) {
    last_seen = std::chrono::steady_clock::now();
    objects.set_limit(limits_.max_objects);
    staging = std::make_shared<StagingBudget>(limits_.max_staging);
    device_quota = limits_.max_device_memory;
    if (device_quota == 0)
        for (const auto& d : devices) {
            cl_ulong global = 0;
            clGetDeviceInfo(d.device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, nullptr);
            device_quota = std::max<uint64_t>(device_quota, global);
        }
    for (const auto& d : devices)
        if (d.pooled()) pool = std::make_unique<DevicePool>(d);
    executor_ = std::thread([this] { run(); });
}

Session::~Session() {
    close();
    if (executor_.joinable()) executor_.join();
    // Member threads may still hold launches that report to this session.
    if (pool) pool->settle_all();
}

namespace {

/// Commands that never wait on the device or do heavy host work: safe on the I/O thread.
bool runs_inline(const wire::Command& command) {
    switch (command.body_type()) {
    case wire::Request::BuildProgram:
    case wire::Request::CompileProgram:
    case wire::Request::LinkProgram:
    case wire::Request::CreateProgramWithBinary:
    case wire::Request::CreateBuffer: // may copy up to a transfer chunk
    case wire::Request::CreateImage:
    case wire::Request::Goodbye:
    // Native info queries may do real work (binaries, kernel compilation for a device), and
    // releasing a queue may wait for its commands in some runtimes.
    case wire::Request::GetInfo:
    case wire::Request::Release:
        return false;
    case wire::Request::WriteBuffer:
        return command.body_as_WriteBuffer()->queue() != 0; // queue 0 writes synchronously
    case wire::Request::WriteImage:
        return command.body_as_WriteImage()->queue() != 0;
    case wire::Request::ExportBuffer: // stages a whole buffer: may wait for staging room
        return false;
    case wire::Request::CreateProgramWithSource: // a large source is copied together
        return command.body_as_CreateProgramWithSource()->source_frames() == 0;
    default:
        return true;
    }
}

bool runs_inline(const WorkItem& item, const StagingBudget& staging) {
    const auto* commands = item.message->commands();
    if (!commands || commands->size() > 64) return false; // big batches: let the executor work
    uint64_t staged_bytes = 0;
    for (const auto* command : *commands) {
        if (!runs_inline(*command)) return false;
        if (const auto* read = command->body_as_ReadBuffer()) staged_bytes += read->size();
        if (const auto* write = command->body_as_WriteBuffer()) staged_bytes += write->size();
        if (const auto* read = command->body_as_ReadImage()) {
            // The image's pixel size is not known here: count the widest (16 bytes).
            uint64_t pixels = 16;
            if (read->region())
                for (uint64_t extent : *read->region())
                    pixels = extent && pixels > UINT64_MAX / extent ? UINT64_MAX : pixels * extent;
            staged_bytes = pixels > UINT64_MAX - staged_bytes ? UINT64_MAX : staged_bytes + pixels;
        }
        if (const auto* write = command->body_as_WriteImage())
            if (write->data_frame() < item.frames.size())
                staged_bytes += item.frames[write->data_frame()].size();
    }
    // A transfer that could wait for staging room must wait on the executor, never here: the
    // room is made by this thread sending staged data out. (Not fits(): an empty budget lets
    // one transfer of any size start, but its later chunks wait.)
    return staged_bytes == 0 ||
           (staged_bytes <= staging.limit() && staging.staged() + staged_bytes <= staging.limit());
}

} // namespace

void Session::submit(WorkItem item) {
    std::unique_lock lock(work_mutex_);
    // An idle executor would only add a thread hop: run a short, non-blocking batch right here.
    // Holding exec_mutex_ keeps the order: the executor takes it before it runs anything.
    if (!stop_ && work_.empty() && item.message && runs_inline(item, *staging) &&
        exec_mutex_.try_lock()) {
        lock.unlock();
        execute(item);
        exec_mutex_.unlock();
        return;
    }
    work_.push_back(std::move(item));
    lock.unlock();
    work_cv_.notify_one();
}

void Session::close() {
    close_requested_.store(true);
    staging->cancel(); // a read waiting for room must not hold up the end
    {
        std::lock_guard lock(work_mutex_);
        stop_ = true;
    }
    work_cv_.notify_one();
}

void Session::checkpoint(std::shared_ptr<CheckpointWriter> writer) {
    {
        std::lock_guard lock(work_mutex_);
        checkpoint_ = std::move(writer);
        stop_ = true; // runs what is queued, then saves (close_requested_ stays false)
    }
    work_cv_.notify_one();
}

void Session::save_in_place(std::shared_ptr<CheckpointWriter> writer) {
    {
        std::lock_guard lock(in_place_mutex_);
        in_place_done_ = false;
        in_place_error_.clear();
    }
    WorkItem item;
    item.save = std::move(writer);
    {
        std::lock_guard lock(work_mutex_);
        work_.push_back(std::move(item)); // never inline: it waits for the device
    }
    work_cv_.notify_one();
}

bool Session::saved_in_place(std::string* error) {
    std::lock_guard lock(in_place_mutex_);
    if (in_place_done_) *error = in_place_error_;
    return in_place_done_;
}

std::string Session::save_objects(CheckpointWriter& writer) {
    // A command waiting for a user event the client has not set would never let the queues
    // finish: such a session cannot be saved consistently.
    if (awaits_client_events()) return "commands wait on a user event the client has not set";
    flush_dirty_queues();
    if (pool) pool->settle_all(); // member threads enqueue what they were handed first
    objects.for_each([](uint64_t, Object& object) {
        if (auto* q = std::get_if<QueueObject>(&object))
            q->for_each_native([](cl_command_queue native) { clFinish(native); });
    });
    std::string error;
    if (!writer.save_objects(*this, &error)) return error;
    return {};
}

void Session::track(const std::shared_ptr<CompletionRecord>& record) {
    std::lock_guard lock(tracked_mutex_);
    tracked_.emplace(record.get(), record);
}

void Session::untrack(CompletionRecord* record) {
    std::lock_guard lock(tracked_mutex_);
    tracked_.erase(record);
}

std::vector<std::shared_ptr<CompletionRecord>> Session::sweep_completed(uint64_t queue) {
    std::vector<std::shared_ptr<CompletionRecord>> done;
    std::lock_guard lock(tracked_mutex_);
    for (auto& [ptr, record] : tracked_)
        if (record->queue == queue && native_status(*record) <= CL_COMPLETE) done.push_back(record);
    return done;
}

std::vector<std::shared_ptr<CompletionRecord>> Session::sweep_failed() {
    std::vector<std::shared_ptr<CompletionRecord>> failed;
    std::lock_guard lock(tracked_mutex_);
    for (auto& [ptr, record] : tracked_)
        if (native_status(*record) < 0) failed.push_back(record);
    return failed;
}

void Session::run() {
    std::unique_lock exec(exec_mutex_, std::defer_lock);
    for (;;) {
        WorkItem item;
        {
            std::unique_lock lock(work_mutex_);
            work_cv_.wait(lock, [&] { return stop_ || !work_.empty(); });
            if (work_.empty()) break; // stop requested and nothing left to run
            // Closed from outside (client gone, daemon stopping): nobody will see the results
            // of what is still queued, so it is dropped rather than run.
            if (close_requested_.load()) {
                work_.clear();
                break;
            }
            item = std::move(work_.front());
            work_.pop_front();
            // Taken before work_mutex_ is released, so an inline run cannot overtake this item.
            exec.lock();
        }
        if (item.save) {
            std::string error = save_objects(*item.save);
            {
                std::lock_guard lock(in_place_mutex_);
                in_place_done_ = true;
                in_place_error_ = std::move(error);
            }
            outbox.wake(); // the I/O thread finishes the save
        } else if (item.piece) {
            write_import_piece(*this, *item.piece);
        } else {
            execute(item);
        }
        exec.unlock();
        if (closing()) break;
    }
    exec.lock(); // an inline run may still be going
    // A session that ended meanwhile (the client said Goodbye, or it was closed) is not saved.
    if (checkpoint_ && !ending())
        checkpoint_error_ = save_objects(*checkpoint_);
    else if (checkpoint_)
        checkpoint_error_ = "the session ended first";
    teardown();
    finished_.store(true);
    outbox.wake(); // let the I/O thread reap us promptly
}

bool Session::admit(uint64_t commands, uint64_t bytes) {
    uint64_t held_commands = backlog_commands_.load();
    uint64_t held_bytes = backlog_bytes_.load();
    // Either credit may be off (0); a message always goes when nothing is in flight.
    bool fits =
        (held_commands == 0 && held_bytes == 0) ||
        ((!limits_.max_commands_in_flight ||
          held_commands + commands <= limits_.max_commands_in_flight) &&
         (!limits_.max_bytes_in_flight || held_bytes + bytes <= limits_.max_bytes_in_flight));
    if (!fits) return false;
    backlog_commands_.fetch_add(commands);
    backlog_bytes_.fetch_add(bytes);
    return true;
}

void Session::execute(WorkItem& item) {
    // The credit comes back before anything of this message can be answered: an ack or reply
    // the client sees never covers a message the worker still counts.
    backlog_commands_.fetch_sub(item.credit_commands);
    backlog_bytes_.fetch_sub(item.credit_bytes);
    retired_bytes_.fetch_add(item.credit_bytes, std::memory_order_relaxed);
    item.credit_commands = item.credit_bytes = 0;
    const auto* commands = item.message->commands();
    uint64_t seq = item.message->first_seq();
    if (!commands) return;
    for (const wire::Command* command : *commands) {
        uint64_t this_seq = seq++;
        if (this_seq <= executed_seq) continue; // a resent duplicate: run each command once
        started_seq_.store(this_seq, std::memory_order_release);
        ExecContext ctx{*this, this_seq, item.frames, false, {}};
        spdlog::trace("session {:016x}: #{} {}", id_, this_seq,
                      wire::EnumNameRequest(command->body_type()));
        Handler handler = handler_for(command->body_type());
        cl_int status = CL_SUCCESS;
        try {
            status = handler ? handler(ctx, *command)
                             : ctx.fail("request type not valid inside a session");
        } catch (const std::bad_alloc&) {
            // The worker's memory limit (RLIMIT_DATA): this command fails, the session goes on.
            ctx.error_message = "the worker is out of host memory";
            status = CL_OUT_OF_HOST_MEMORY;
        }
        executed_seq = this_seq;
        if (ctx.replied) continue;
        if (status != CL_SUCCESS) {
            uint64_t suppressed = 0;
            if (status == kProtocolError && warn_log_.allow(&suppressed))
                spdlog::warn("session {:016x}: command {} rejected: {}{}", id_, this_seq,
                             printable(ctx.error_message, 256),
                             suppressed ? fmt::format(" [{} similar lines suppressed]", suppressed)
                                        : "");
            ctx.reply_status(status, ctx.error_message);
        } else if (command->want_reply()) {
            ctx.reply_status(CL_SUCCESS);
        }
        if (ending()) break;
    }
    // Natively queued work must start without waiting for the client's next message.
    flush_dirty_queues();
    objects_held_.store(objects.size(), std::memory_order_relaxed);
    device_bytes_held_.store(device_bytes, std::memory_order_relaxed);
    outbox.push(Outbox::Ack{id_, executed_seq});
}

void Session::flush_dirty_queues() {
    for (uint64_t id : dirty_queues_) {
        if (auto* q = objects.find<QueueObject>(id); q && q->dirty) {
            if (q->pooled)
                pool->thread(q->member).flush(q->queue.get());
            else
                clFlush(q->queue.get());
            q->dirty = false;
        }
    }
    dirty_queues_.clear();
}

void Session::warn_overdrawn(std::chrono::milliseconds waited) {
    uint64_t suppressed = 0;
    if (warn_log_.allow(&suppressed))
        spdlog::warn("session {:016x}: a transfer waited {} ms for staging room (budget {} "
                     "bytes); going over it{}",
                     id_, waited.count(), staging->limit(),
                     suppressed ? fmt::format(" [{} similar lines suppressed]", suppressed) : "");
}

template <class Visit> void Session::for_each_unset_user_event(Visit&& visit) {
    auto check = [&](cl_event event) {
        cl_int now = CL_COMPLETE;
        clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof now, &now, nullptr);
        if (now > CL_COMPLETE) visit(event);
    };
    objects.for_each([&](uint64_t, Object& object) {
        if (auto* e = std::get_if<EventObject>(&object); e && e->user) check(e->event.get());
    });
    for (auto& e : orphaned_user_events)
        check(e.get());
}

void Session::release_user_events(cl_int status) {
    for_each_unset_user_event([status](cl_event event) { clSetUserEventStatus(event, status); });
}

bool Session::awaits_client_events() {
    bool any = false;
    for_each_unset_user_event([&](cl_event) { any = true; });
    return any;
}

std::chrono::milliseconds Session::staging_patience() {
    // Without unset user events every staged transfer completes as the device makes progress, so
    // waiting for room always ends. With one, the command that sets it may be queued behind the
    // waiting transfer: waiting could deadlock the session, so the budget is overdrawn at once.
    return awaits_client_events() ? std::chrono::milliseconds(0) : device_patience;
}

void Session::teardown() {
    // Unblock anything gated on a user event the client will never set, then let queues
    // drain so no native callback outlives what it points at.
    release_user_events(CL_INVALID_EVENT);
    if (pool) pool->settle_all(); // member threads enqueue what they were handed first
    objects.for_each([](uint64_t, Object& object) {
        if (auto* q = std::get_if<QueueObject>(&object))
            q->for_each_native([](cl_command_queue native) { clFinish(native); });
    });
    write_chunks.clear();
    orphaned_user_events.clear();
    size_t count = objects.size();
    objects.clear();
    for (auto& sub : sub_devices)
        clReleaseDevice(sub.device.device); // no context holds them any more
    sub_devices.clear();
    {
        // What is still tracked failed without a callback: no one waits for it any more.
        std::lock_guard lock(tracked_mutex_);
        for (auto& [ptr, record] : tracked_)
            outbox.claim(*record);
        tracked_.clear();
    }
    spdlog::info("session {:016x} ({}) closed, {} objects released", id_, client_, count);
}

cl_int handle_goodbye(ExecContext& ctx, const wire::Goodbye&) {
    ctx.session.mark_closing();
    ctx.replied = true; // nobody listens any more
    return CL_SUCCESS;
}

cl_int handle_release(ExecContext& ctx, const wire::Release& req) {
    if (ctx.session.failed_events.erase(req.id())) return CL_SUCCESS;
    if (auto* mem = ctx.session.objects.find<MemObject>(req.id())) {
        if (mem->children > 0)
            return ctx.fail("release of buffer " + std::to_string(req.id()) + " before its " +
                            std::to_string(mem->children) + " sub-buffer(s)");
        if (mem->parent == 0 && !mem->svm)
            ctx.session.device_bytes -= mem->size; // sub-buffers and SVM buffers own none
        else if (auto* parent = ctx.session.objects.find<MemObject>(mem->parent))
            --parent->children;
        if (ctx.session.pool) ctx.session.pool->forget(*mem);
    }
    if (auto* svm = ctx.session.objects.find<SvmObject>(req.id())) {
        ctx.session.svm_ranges.erase(svm->address());
        ctx.session.device_bytes -= svm->size;
    }
    if (auto* e = ctx.session.objects.find<EventObject>(req.id()); e && e->user) {
        cl_int status = CL_COMPLETE;
        clGetEventInfo(e->event.get(), CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                       nullptr);
        // Bounded like objects; beyond that the worker's teardown deadline is the backstop.
        if (status > CL_COMPLETE &&
            ctx.session.orphaned_user_events.size() < ctx.session.limits().max_objects)
            ctx.session.orphaned_user_events.push_back(std::move(e->event));
    }
    if (!ctx.session.objects.erase(req.id()))
        return ctx.fail("release of unknown object " + std::to_string(req.id()));
    return CL_SUCCESS;
}

} // namespace rgpu::daemon
