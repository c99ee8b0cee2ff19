// SPDX-License-Identifier: Apache-2.0
// Command queues, markers/barriers and clFinish (answered when a marker completes).
#include "enqueue.h"
#include "handlers.h"

#include "../pool_queue.h"

namespace rgpu::daemon {

cl_int handle_create_queue(ExecContext& ctx, const wire::CreateQueue& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    if (!ctx.session.device(req.device())) return ctx.fail("unknown device index");
    QueueObject queue;
    cl_int err =
        make_queue(ctx.session, *context, req.context(), req.device(), req.properties(), queue);
    if (err != CL_SUCCESS) return err;
    if (!ctx.session.objects.insert(req.id(), std::move(queue)))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

cl_int handle_finish_queue(ExecContext& ctx, const wire::FinishQueue& req) {
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return ctx.fail("unknown queue " + std::to_string(req.queue()));
    // Never block the executor on clFinish: a marker completes after everything before it,
    // and the I/O thread answers when its callback arrives.
    std::vector<cl_event> members;
    std::vector<EventRef> keep;
    cl_int err = CL_SUCCESS;
    fence_members(ctx.session, *queue, members, keep, err);
    if (err != CL_SUCCESS) return err;
    cl_event marker = nullptr;
    err = clEnqueueMarkerWithWaitList(
        ctx.session.native(*queue), static_cast<cl_uint>(members.size()), members.data(), &marker);
    if (err != CL_SUCCESS) return err;
    ctx.session.mark_dirty(req.queue(), *queue);
    auto record = std::make_shared<CompletionRecord>();
    record->kind = CompletionRecord::Kind::Finish;
    record->session = ctx.session.id();
    record->queue = req.queue();
    record->reply_seq = ctx.seq;
    record->native = EventRef(marker);
    ctx.session.track(record);
    ctx.session.outbox.watch(record);
    ctx.replied = true; // the reply comes from the I/O thread
    return CL_SUCCESS;
}

cl_int handle_marker(ExecContext& ctx, const wire::Marker& req) {
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return ctx.fail("unknown queue " + std::to_string(req.queue()));
    std::vector<cl_event> wait;
    std::vector<EventRef> keep;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    // Without a wait list the command follows everything before it on the client queue, on
    // whichever members that ran.
    if (err == CL_SUCCESS && wait.empty()) fence_members(ctx.session, *queue, wait, keep, err);
    if (err == CL_SUCCESS) {
        cl_event event = nullptr;
        // A pooled out-of-order queue remembers its barrier for the members it did not go to.
        bool remember = req.barrier() && queue->pooled && !queue->in_order();
        cl_event* out = req.event() || remember ? &event : nullptr;
        auto n = static_cast<cl_uint>(wait.size());
        err = req.barrier()
                  ? clEnqueueBarrierWithWaitList(ctx.session.native(*queue), n, wait.data(), out)
                  : clEnqueueMarkerWithWaitList(ctx.session.native(*queue), n, wait.data(), out);
        if (err == CL_SUCCESS && remember) {
            clRetainEvent(event);
            queue->last_barrier = EventRef(event);
            queue->barrier_seen[queue->member] = ++queue->barriers;
            if (!req.event()) {
                ctx.session.mark_dirty(req.queue(), *queue);
                clReleaseEvent(event);
                return CL_SUCCESS;
            }
        }
        if (err == CL_SUCCESS) return publish_event(ctx, req.queue(), *queue, req.event(), event);
    }
    fail_event(ctx, req.event(), err);
    return err;
}

} // namespace rgpu::daemon
