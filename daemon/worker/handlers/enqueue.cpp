// SPDX-License-Identifier: Apache-2.0
// Wait lists and event publication shared by the enqueue handlers.
#include "enqueue.h"

namespace rgpu::daemon {

cl_int resolve_wait_list(ExecContext& ctx, const flatbuffers::Vector<uint64_t>* wait,
                         std::vector<cl_event>& out,
                         std::vector<std::shared_ptr<DeferredEvent>>* deferred) {
    out.clear();
    if (!wait) return CL_SUCCESS;
    out.reserve(wait->size());
    for (uint64_t id : *wait) {
        if (auto failed = ctx.session.failed_events.find(id);
            failed != ctx.session.failed_events.end())
            return CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
        auto* event = ctx.session.objects.find<EventObject>(id);
        if (!event) return ctx.fail("wait list names unknown event " + std::to_string(id));
        if (event->deferred && deferred) {
            deferred->push_back(event->deferred);
            continue;
        }
        cl_event native = event->native(); // waits for a pool member's thread to enqueue it
        if (!native) return CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
        out.push_back(native);
    }
    return CL_SUCCESS;
}

cl_int watch_command(ExecContext& ctx, const std::shared_ptr<CompletionRecord>& record,
                     uint64_t client_event) {
    cl_int status = CL_SUCCESS;
    if (client_event != 0) {
        cl_event native = record->native.get();
        clRetainEvent(native);
        if (ctx.session.objects.insert(client_event,
                                       EventObject{EventRef(native), false, nullptr})) {
            record->client_event = client_event;
        } else {
            // The command runs anyway; only its event cannot be kept. Fail the client's event so
            // nothing waits for a notice that will never come.
            status = ctx.insert_refused(client_event);
            fail_event(ctx, client_event, status == kProtocolError ? CL_OUT_OF_RESOURCES : status);
        }
    }
    ctx.session.track(record);
    ctx.session.outbox.watch(record);
    return status;
}

cl_int publish_event(ExecContext& ctx, uint64_t queue_id, QueueObject& queue, uint64_t client_event,
                     cl_event native, std::shared_ptr<void> keep_alive) {
    ctx.session.mark_dirty(queue_id, queue);
    if (!native) return CL_SUCCESS;
    auto record = std::make_shared<CompletionRecord>();
    record->session = ctx.session.id();
    record->queue = queue_id;
    record->profiling = queue.profiling;
    record->native = EventRef(native);
    record->source = std::move(keep_alive);
    return watch_command(ctx, record, client_event);
}

void fail_event(ExecContext& ctx, uint64_t client_event, cl_int status) {
    if (client_event == 0) return;
    ctx.session.failed_events[client_event] = status;
    ctx.session.outbox.push(Outbox::FailedEvent{ctx.session.id(), client_event, status});
}

} // namespace rgpu::daemon
