// SPDX-License-Identifier: Apache-2.0
// Command queues, markers/barriers and clFinish (answered when a marker completes).
#include "enqueue.h"
#include "handlers.h"

namespace rgpu::daemon {

QueueObject queue_object(cl_command_queue queue, uint64_t context, uint32_t device,
                         uint64_t properties) {
    QueueObject object;
    object.queue = QueueRef(queue);
    object.context = context;
    object.device = device;
    object.properties = properties;
    object.profiling = (properties & CL_QUEUE_PROFILING_ENABLE) != 0;
    return object;
}

cl_int handle_create_queue(ExecContext& ctx, const wire::CreateQueue& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    if (req.device() >= ctx.session.devices.size()) return ctx.fail("unknown device index");
    cl_int err = CL_SUCCESS;
    cl_command_queue queue =
        clCreateCommandQueue(context->context.get(), ctx.session.devices[req.device()].device,
                             static_cast<cl_command_queue_properties>(req.properties()), &err);
    if (err != CL_SUCCESS) return err;
    if (!ctx.session.objects.insert(
            req.id(), queue_object(queue, req.context(), req.device(), req.properties())))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

cl_int handle_finish_queue(ExecContext& ctx, const wire::FinishQueue& req) {
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return ctx.fail("unknown queue " + std::to_string(req.queue()));
    // Never block the executor on clFinish: a marker completes after everything before it,
    // and the I/O thread answers when its callback arrives.
    cl_event marker = nullptr;
    cl_int err = clEnqueueMarkerWithWaitList(queue->queue.get(), 0, nullptr, &marker);
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
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err == CL_SUCCESS) {
        cl_event event = nullptr;
        cl_event* out = req.event() ? &event : nullptr;
        auto n = static_cast<cl_uint>(wait.size());
        err = req.barrier() ? clEnqueueBarrierWithWaitList(queue->queue.get(), n, wait.data(), out)
                            : clEnqueueMarkerWithWaitList(queue->queue.get(), n, wait.data(), out);
        if (err == CL_SUCCESS) return publish_event(ctx, req.queue(), *queue, req.event(), event);
    }
    fail_event(ctx, req.event(), err);
    return err;
}

} // namespace rgpu::daemon
