// SPDX-License-Identifier: Apache-2.0
// Pooled client queues: member queues, switching and fences.
#include "pool_queue.h"

#include "pool.h"

namespace rgpu::daemon {
namespace {

cl_int create_member_queue(Session& session, const ContextObject& context, QueueObject& queue,
                           uint32_t m) {
    cl_int err = CL_SUCCESS;
    // Profiling lets the pool measure kernel times; the client's events report profiling only
    // if its queue asked for it (QueueObject::profiling), and it reads the properties it set.
    auto properties =
        static_cast<cl_command_queue_properties>(queue.properties | CL_QUEUE_PROFILING_ENABLE);
    cl_command_queue native =
        clCreateCommandQueue(context.context.get(), session.pool->member(m), properties, &err);
    if (err != CL_SUCCESS) return err;
    queue.member_queues[m] = QueueRef(native);
    return CL_SUCCESS;
}

void make_current(QueueObject& queue, uint32_t m) {
    cl_command_queue native = queue.member_queues[m].get();
    clRetainCommandQueue(native);
    queue.queue = QueueRef(native);
    queue.member = m;
}

} // namespace

cl_int make_queue(Session& session, const ContextObject& context, uint64_t context_id,
                  uint32_t device, uint64_t properties, QueueObject& out) {
    out = QueueObject{};
    out.context = context_id;
    out.device = device;
    out.properties = properties;
    out.profiling = (properties & CL_QUEUE_PROFILING_ENABLE) != 0;
    const LocalDevice& served = *session.device(device);
    if (!served.pooled() || !session.pool) {
        cl_int err = CL_SUCCESS;
        cl_command_queue native =
            clCreateCommandQueue(context.context.get(), served.device,
                                 static_cast<cl_command_queue_properties>(properties), &err);
        if (err != CL_SUCCESS) return err;
        out.queue = QueueRef(native);
        return CL_SUCCESS;
    }
    out.pooled = true;
    out.member_queues.resize(session.pool->size());
    out.barrier_seen.assign(session.pool->size(), 0);
    uint32_t m = session.pool->place_queue();
    if (cl_int err = create_member_queue(session, context, out, m); err != CL_SUCCESS) return err;
    make_current(out, m);
    return CL_SUCCESS;
}

cl_int switch_member(Session& session, const ContextObject& context, QueueObject& queue, uint32_t m,
                     std::vector<cl_event>& wait, std::vector<EventRef>& keep) {
    if (m == queue.member) return CL_SUCCESS;
    if (!queue.member_queues[m])
        if (cl_int err = create_member_queue(session, context, queue, m); err != CL_SUCCESS)
            return err;
    cl_int err = CL_SUCCESS;
    if (queue.in_order()) {
        // The marker follows what the member thread was handed (out-of-order queues need no
        // such wait: their commands are ordered by wait lists and barriers only).
        session.pool->thread(queue.member).settle();
        cl_event before = nullptr;
        err = clEnqueueMarkerWithWaitList(queue.queue.get(), 0, nullptr, &before);
        if (err != CL_SUCCESS) return err;
        keep.emplace_back(before);
        wait.push_back(before);
    } else if (queue.last_barrier && queue.barrier_seen[m] < queue.barriers) {
        cl_event barrier = queue.last_barrier.get();
        session.pool->thread(m).settle();
        err = clEnqueueBarrierWithWaitList(queue.member_queues[m].get(), 1, &barrier, nullptr);
        if (err != CL_SUCCESS) return err;
        queue.barrier_seen[m] = queue.barriers;
    }
    // What was enqueued on the member left behind must run even if nothing is enqueued there
    // again.
    session.pool->thread(queue.member).flush(queue.queue.get());
    make_current(queue, m);
    return CL_SUCCESS;
}

bool fence_members(Session& session, QueueObject& queue, std::vector<cl_event>& wait,
                   std::vector<EventRef>& keep, cl_int& err) {
    err = CL_SUCCESS;
    if (!queue.pooled || queue.in_order()) return false; // in-order: chained at each switch
    size_t used = 0;
    for (auto& q : queue.member_queues)
        used += q ? 1 : 0;
    if (used < 2) return false;
    for (uint32_t m = 0; m < queue.member_queues.size(); ++m) {
        auto& q = queue.member_queues[m];
        if (!q) continue;
        session.pool->thread(m).settle();
        cl_event marker = nullptr;
        err = clEnqueueMarkerWithWaitList(q.get(), 0, nullptr, &marker);
        if (err != CL_SUCCESS) return true;
        keep.emplace_back(marker);
        wait.push_back(marker);
        // The current queue is flushed with the batch; the others must be now.
        if (m != queue.member) session.pool->thread(m).flush(q.get());
    }
    return true;
}

} // namespace rgpu::daemon
