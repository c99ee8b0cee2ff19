// SPDX-License-Identifier: Apache-2.0
// Event entry points: the client-side mirror of daemon events, completed by pushed notices.
#include "../api.h"
#include "../connection.h"
#include "../enqueue.h"
#include "../entry_points.h"
#include "../spanning.h"

namespace rgpu::icd {

Event* new_command_event(Queue* queue, cl_command_type type) {
    auto* e = new Event();
    e->context = queue->context;
    e->queue = queue;
    e->connection = queue->connection;
    e->id = Connection::new_id();
    e->command_type = type;
    e->profiling = (queue->properties & CL_QUEUE_PROFILING_ENABLE) != 0;
    hold(queue);
    hold(queue->context);
    queue->connection->track_event(e);
    return e;
}

cl_int check_wait_list(Queue* q, cl_uint count, const cl_event* list, std::vector<uint64_t>& ids) {
    if ((count == 0) != (list == nullptr)) return CL_INVALID_EVENT_WAIT_LIST;
    ids.clear();
    for (cl_uint i = 0; i < count; ++i) {
        Event* e = checked<Event>(list[i]);
        if (!e) return CL_INVALID_EVENT_WAIT_LIST;
        if (e->context != q->context) return CL_INVALID_CONTEXT;
    }
    // Only a valid list crosses daemons: an event of another daemon is stood for by its proxy.
    for (cl_uint i = 0; i < count; ++i)
        ids.push_back(event_id_on(static_cast<Event*>(list[i]), q->connection));
    return CL_SUCCESS;
}

void destroy(Event* e) {
    uint64_t id = e->id;
    Context* c = e->context;
    Queue* q = e->queue;
    release_proxies(e);
    if (e->command_type == CL_COMMAND_USER)
        for (Connection* conn : c->parts)
            conn->post_release(id);
    else if (!e->notice_only)
        e->connection->post_release(id);
    e->magic = Magic::Dead;
    delete e;
    if (q) drop(q);
    drop(c);
}

cl_int CL_API_CALL rgpu_clRetainEvent(cl_event event) {
    return retain_handle<Event>(event, CL_INVALID_EVENT);
}

cl_int CL_API_CALL rgpu_clReleaseEvent(cl_event event) {
    return release_handle<Event>(event, CL_INVALID_EVENT);
}

cl_int CL_API_CALL rgpu_clWaitForEvents(cl_uint num_events, const cl_event* event_list) {
    return guard([&] {
        if (num_events == 0 || !event_list) return CL_INVALID_VALUE;
        std::vector<Event*> events;
        for (cl_uint i = 0; i < num_events; ++i) {
            Event* e = checked<Event>(event_list[i]);
            if (!e) return CL_INVALID_EVENT;
            if (!events.empty() && e->context != events.front()->context) return CL_INVALID_CONTEXT;
            events.push_back(e);
        }
        // Each daemon wakes the waiters of its own events.
        for (Event* e : events)
            e->connection->wait_events({e});
        for (Event* e : events)
            if (e->status.load() < 0) return CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clGetEventInfo(cl_event event, cl_event_info param, size_t size,
                                       void* value, size_t* size_ret) {
    Event* e = checked<Event>(event);
    if (!e) return CL_INVALID_EVENT;
    switch (param) {
    case CL_EVENT_COMMAND_QUEUE:
        return info_value(static_cast<cl_command_queue>(e->queue), size, value, size_ret);
    case CL_EVENT_CONTEXT:
        return info_value(static_cast<cl_context>(e->context), size, value, size_ret);
    case CL_EVENT_COMMAND_TYPE:
        return info_value(e->command_type, size, value, size_ret);
    case CL_EVENT_COMMAND_EXECUTION_STATUS:
        return info_value(e->status.load(), size, value, size_ret);
    case CL_EVENT_REFERENCE_COUNT:
        return info_value(e->refs.load(), size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL rgpu_clGetEventProfilingInfo(cl_event event, cl_profiling_info param,
                                                size_t size, void* value, size_t* size_ret) {
    Event* e = checked<Event>(event);
    if (!e) return CL_INVALID_EVENT;
    if (!e->queue || !e->profiling || e->status.load() != CL_COMPLETE)
        return CL_PROFILING_INFO_NOT_AVAILABLE;
    switch (param) {
    case CL_PROFILING_COMMAND_QUEUED:
        return info_value(e->times[0], size, value, size_ret);
    case CL_PROFILING_COMMAND_SUBMIT:
        return info_value(e->times[1], size, value, size_ret);
    case CL_PROFILING_COMMAND_START:
        return info_value(e->times[2], size, value, size_ret);
    case CL_PROFILING_COMMAND_END:
    case CL_PROFILING_COMMAND_COMPLETE:
        return info_value(e->times[3], size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

cl_event CL_API_CALL rgpu_clCreateUserEvent(cl_context context, cl_int* errcode_ret) {
    return guard_create<cl_event>(errcode_ret, [&](cl_int& err) -> cl_event {
        Context* c = checked<Context>(context);
        if (!c) {
            err = CL_INVALID_CONTEXT;
            return nullptr;
        }
        auto* e = new Event();
        e->context = c;
        e->connection = c->connection;
        e->id = Connection::new_id();
        e->command_type = CL_COMMAND_USER;
        e->status.store(CL_SUBMITTED);
        hold(c);
        // On every daemon of the context, so that any queue's wait list may name it.
        for (Connection* conn : c->parts)
            conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateCreateUserEvent(fbb, e->id, c->id));
            });
        return e;
    });
}

cl_int CL_API_CALL rgpu_clSetUserEventStatus(cl_event event, cl_int status) {
    return guard([&] {
        Event* e = checked<Event>(event);
        if (!e || e->command_type != CL_COMMAND_USER) return CL_INVALID_EVENT;
        if (status > CL_COMPLETE) return CL_INVALID_VALUE;
        std::vector<EventCallback> callbacks;
        std::vector<std::function<void(cl_int)>> hooks;
        {
            std::lock_guard lock(e->mutex);
            if (e->status.load() <= CL_COMPLETE) return CL_INVALID_OPERATION;
            e->status.store(status);
            callbacks.swap(e->callbacks);
            hooks.swap(e->hooks);
        }
        uint64_t id = e->id;
        for (Connection* conn : e->context->parts) {
            conn->post([id, status](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateSetUserEventStatus(fbb, id, status));
            });
            conn->flush();
            conn->notify_event_waiters();
        }
        for (auto& hook : hooks)
            hook(status);
        for (const auto& cb : callbacks)
            cb.fn(e, cb.status_for(status), cb.data);
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clSetEventCallback(cl_event event, cl_int type,
                                           void(CL_CALLBACK* pfn)(cl_event, cl_int, void*),
                                           void* user_data) {
    return guard([&] {
        Event* e = checked<Event>(event);
        if (!e) return CL_INVALID_EVENT;
        if (!pfn || (type != CL_COMPLETE && type != CL_SUBMITTED && type != CL_RUNNING))
            return CL_INVALID_VALUE;
        EventCallback cb{pfn, user_data, type};
        {
            std::lock_guard lock(e->mutex);
            if (!e->complete()) {
                e->callbacks.push_back(cb);
                return CL_SUCCESS;
            }
        }
        pfn(e, cb.status_for(e->status.load()), user_data);
        return CL_SUCCESS;
    });
}

} // namespace rgpu::icd
