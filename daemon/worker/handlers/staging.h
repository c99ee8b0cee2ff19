// SPDX-License-Identifier: Apache-2.0
// What the transfer handlers (buffers, images) share: the internal queue of writes that come
// with a create call, and staging memory counted against the session's budget.
#pragma once

#include "../exec_context.h"

#include <chrono>
#include <memory>
#include <string>

namespace rgpu::daemon {

/// The flags a native buffer or image is created with. Host-pointer flags are the client's (its
/// memory is on another machine), and so are host-access flags: the ICD enforces them, while
/// the worker itself must write initial contents that arrive in pieces and read contents for
/// checkpoints and moves.
inline cl_mem_flags native_mem_flags(uint64_t flags) {
    return flags &
           ~cl_mem_flags(CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR | CL_MEM_HOST_READ_ONLY |
                         CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS);
}

/// The queue a write with queue id 0 rides on: the context's internal one, created lazily.
inline cl_command_queue internal_queue(ExecContext& ctx, uint64_t context_id, cl_int& err) {
    auto* context = ctx.session.objects.find<ContextObject>(context_id);
    if (!context) {
        err = CL_INVALID_CONTEXT;
        return nullptr;
    }
    if (!context->internal_queue) {
        cl_command_queue q = clCreateCommandQueue(
            context->context.get(), ctx.session.devices[context->devices.front()].device, 0, &err);
        if (err != CL_SUCCESS) return nullptr;
        context->internal_queue = QueueRef(q);
    }
    err = CL_SUCCESS;
    return context->internal_queue.get();
}

/// A write's data on its way to the device, counted against the session's staging budget.
struct HeldWrite {
    zmq::message_t data;
    StagingBudget::Charge charge;
};

/// Waits (see Session::staging_patience) until `bytes` more fit in the staging budget. Queued
/// commands must reach the device first, or the transfers that free the room never run.
template <class Stage> auto with_staging_room(ExecContext& ctx, uint64_t bytes, Stage&& stage) {
    Session& session = ctx.session;
    auto patience = std::chrono::milliseconds(0);
    if (!session.staging->fits(bytes)) {
        session.flush_dirty_queues();
        patience = session.staging_patience();
    }
    bool overdrawn = false;
    auto staged = stage(patience, &overdrawn);
    if (overdrawn) session.warn_overdrawn(patience);
    return staged;
}

/// A write's data taken from its frame, charged to the staging budget until the device has
/// copied it. The frame moves to the heap before the device sees its address: a small message
/// keeps its bytes inside the zmq_msg_t, which must not move while the copy is pending. Many
/// large writes queued behind a long kernel so hold at most the budget here (the rest waits at
/// the client, out of credit).
inline std::shared_ptr<HeldWrite> hold_write(ExecContext& ctx, zmq::message_t&& frame) {
    auto held = std::make_shared<HeldWrite>();
    const uint64_t bytes = frame.size();
    held->data = std::move(frame);
    held->charge =
        with_staging_room(ctx, bytes, [&](std::chrono::milliseconds patience, bool* over) {
            return ctx.session.staging->charge(bytes, patience, over);
        });
    return held;
}

/// The completion record of one piece of a read: `bytes` of host memory out of the staging
/// budget (waiting, with many large reads queued, until earlier pieces have gone out to the
/// client), answered with a ReadData reply at packed offset `offset` once its command is done.
inline std::shared_ptr<CompletionRecord> staged_read(ExecContext& ctx, uint64_t queue_id,
                                                     const QueueObject& queue, uint64_t offset,
                                                     uint64_t bytes) {
    auto record = std::make_shared<CompletionRecord>();
    record->kind = CompletionRecord::Kind::Read;
    record->session = ctx.session.id();
    record->queue = queue_id;
    record->reply_seq = ctx.seq;
    record->profiling = queue.profiling;
    record->read_offset = offset;
    record->data =
        with_staging_room(ctx, bytes, [&](std::chrono::milliseconds patience, bool* over) {
            return ctx.session.staging->stage(bytes, patience, over);
        });
    return record;
}

} // namespace rgpu::daemon
