// SPDX-License-Identifier: Apache-2.0
// Command queue entry points: creation, flush/finish, markers and barriers.
#include "../api.h"
#include "../connection.h"
#include "../enqueue.h"
#include "../entry_points.h"
#include "../spanning.h"

namespace rgpu::icd {
namespace {

constexpr cl_command_queue_properties kKnownProperties =
    CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE | CL_QUEUE_PROFILING_ENABLE | CL_QUEUE_ON_DEVICE |
    CL_QUEUE_ON_DEVICE_DEFAULT;

cl_command_queue create_queue(Context* c, Device* d, cl_command_queue_properties properties,
                              std::vector<cl_queue_properties> array, cl_int& err) {
    if (!c) {
        err = CL_INVALID_CONTEXT;
        return nullptr;
    }
    if (!d || !c->has(d)) {
        err = CL_INVALID_DEVICE;
        return nullptr;
    }
    if (properties & ~kKnownProperties) {
        err = CL_INVALID_VALUE;
        return nullptr;
    }
    // On-device queues need device-side enqueue, which rgpu does not offer.
    if ((properties & (CL_QUEUE_ON_DEVICE | CL_QUEUE_ON_DEVICE_DEFAULT)) ||
        (properties & ~d->queue_properties)) {
        err = CL_INVALID_QUEUE_PROPERTIES;
        return nullptr;
    }
    auto* q = new Queue();
    q->context = c;
    q->device = d;
    q->connection = d->connection;
    q->id = Connection::new_id();
    q->properties = properties;
    q->properties_array = std::move(array);
    hold(c);
    q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateCreateQueue(fbb, q->id, c->id, d->index, properties));
    });
    return q;
}

} // namespace

cl_command_queue CL_API_CALL rgpu_clCreateCommandQueue(cl_context context, cl_device_id device,
                                                       cl_command_queue_properties properties,
                                                       cl_int* errcode_ret) {
    return guard_create<cl_command_queue>(errcode_ret, [&](cl_int& err) {
        return create_queue(checked<Context>(context), checked<Device>(device), properties, {},
                            err);
    });
}

cl_command_queue CL_API_CALL rgpu_clCreateCommandQueueWithProperties(
    cl_context context, cl_device_id device, const cl_queue_properties* properties,
    cl_int* errcode_ret) {
    return guard_create<cl_command_queue>(errcode_ret, [&](cl_int& err) -> cl_command_queue {
        cl_command_queue_properties bits = 0;
        std::vector<cl_queue_properties> array;
        if (properties) {
            for (const cl_queue_properties* p = properties; *p; p += 2) {
                if (p[0] == CL_QUEUE_PROPERTIES) {
                    bits = static_cast<cl_command_queue_properties>(p[1]);
                } else if (p[0] == CL_QUEUE_SIZE) {
                    err = CL_INVALID_QUEUE_PROPERTIES; // only meaningful for on-device queues
                    return nullptr;
                } else {
                    err = CL_INVALID_VALUE;
                    return nullptr;
                }
                array.push_back(p[0]);
                array.push_back(p[1]);
            }
            array.push_back(0);
        }
        return create_queue(checked<Context>(context), checked<Device>(device), bits,
                            std::move(array), err);
    });
}

cl_int CL_API_CALL rgpu_clRetainCommandQueue(cl_command_queue queue) {
    return retain_handle<Queue>(queue, CL_INVALID_COMMAND_QUEUE);
}

cl_int CL_API_CALL rgpu_clReleaseCommandQueue(cl_command_queue queue) {
    Queue* q = checked<Queue>(queue);
    if (!q) return CL_INVALID_COMMAND_QUEUE;
    q->connection->flush(); // releasing a queue flushes it
    return release(q) ? CL_SUCCESS : CL_INVALID_COMMAND_QUEUE;
}

void destroy(Queue* q) {
    Context* c = q->context;
    q->connection->post_release(q->id);
    q->magic = Magic::Dead;
    delete q;
    drop(c);
}

cl_int CL_API_CALL rgpu_clGetCommandQueueInfo(cl_command_queue queue, cl_command_queue_info param,
                                              size_t size, void* value, size_t* size_ret) {
    Queue* q = checked<Queue>(queue);
    if (!q) return CL_INVALID_COMMAND_QUEUE;
    switch (param) {
    case CL_QUEUE_CONTEXT:
        return info_value(static_cast<cl_context>(q->context), size, value, size_ret);
    case CL_QUEUE_DEVICE:
        return info_value(static_cast<cl_device_id>(q->device), size, value, size_ret);
    case CL_QUEUE_REFERENCE_COUNT:
        return info_value(q->refs.load(), size, value, size_ret);
    case CL_QUEUE_PROPERTIES:
        return info_value(q->properties, size, value, size_ret);
    case CL_QUEUE_PROPERTIES_ARRAY:
        return info_vector(q->properties_array, size, value, size_ret);
    case CL_QUEUE_DEVICE_DEFAULT:
        return info_value(cl_command_queue{nullptr}, size, value, size_ret);
    case CL_QUEUE_SIZE:
        return CL_INVALID_COMMAND_QUEUE; // only on-device queues have a size
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL rgpu_clFlush(cl_command_queue queue) {
    Queue* q = checked<Queue>(queue);
    if (!q) return CL_INVALID_COMMAND_QUEUE;
    q->connection->flush();
    return CL_SUCCESS;
}

cl_int CL_API_CALL rgpu_clFinish(cl_command_queue queue) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        Connection* conn = q->connection;
        uint64_t id = q->id;
        Answer a = conn->call([id](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateFinishQueue(fbb, id));
        });
        if (a.status != CL_SUCCESS) return a.status;
        // A command that failed on the daemon without anyone waiting surfaces here.
        cl_int late = conn->take_async_error();
        return late == CL_SUCCESS ? CL_SUCCESS : CL_OUT_OF_RESOURCES;
    });
}

namespace {
cl_int enqueue_marker(cl_command_queue queue, cl_uint num_events, const cl_event* wait_list,
                      cl_event* event, bool barrier, cl_command_type type) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        Event* e = event ? new_command_event(q, type) : nullptr;
        uint64_t eid = e ? e->id : 0;
        q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateMarker(fbb, q->id, eid, fbb.CreateVector(wait), barrier));
        });
        if (event) *event = e;
        return CL_SUCCESS;
    });
}
} // namespace

cl_int CL_API_CALL rgpu_clEnqueueMarkerWithWaitList(cl_command_queue queue, cl_uint num_events,
                                                    const cl_event* wait_list, cl_event* event) {
    return enqueue_marker(queue, num_events, wait_list, event, false, CL_COMMAND_MARKER);
}

cl_int CL_API_CALL rgpu_clEnqueueBarrierWithWaitList(cl_command_queue queue, cl_uint num_events,
                                                     const cl_event* wait_list, cl_event* event) {
    return enqueue_marker(queue, num_events, wait_list, event, true, CL_COMMAND_BARRIER);
}

cl_int CL_API_CALL rgpu_clEnqueueMarker(cl_command_queue queue, cl_event* event) {
    if (!event) return checked<Queue>(queue) ? CL_INVALID_VALUE : CL_INVALID_COMMAND_QUEUE;
    return enqueue_marker(queue, 0, nullptr, event, false, CL_COMMAND_MARKER);
}

cl_int CL_API_CALL rgpu_clEnqueueBarrier(cl_command_queue queue) {
    return enqueue_marker(queue, 0, nullptr, nullptr, true, CL_COMMAND_BARRIER);
}

cl_int CL_API_CALL rgpu_clEnqueueWaitForEvents(cl_command_queue queue, cl_uint num_events,
                                               const cl_event* event_list) {
    if (num_events == 0 || !event_list)
        return checked<Queue>(queue) ? CL_INVALID_VALUE : CL_INVALID_COMMAND_QUEUE;
    return enqueue_marker(queue, num_events, event_list, nullptr, true, CL_COMMAND_BARRIER);
}

cl_int CL_API_CALL rgpu_clEnqueueMigrateMemObjects(cl_command_queue queue, cl_uint num_mems,
                                                   const cl_mem* mems, cl_mem_migration_flags flags,
                                                   cl_uint num_events, const cl_event* wait_list,
                                                   cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        if (num_mems == 0 || !mems) return CL_INVALID_VALUE;
        if (flags & ~cl_mem_migration_flags(CL_MIGRATE_MEM_OBJECT_HOST |
                                            CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED))
            return CL_INVALID_VALUE;
        for (cl_uint i = 0; i < num_mems; ++i) {
            Mem* m = checked<Mem>(mems[i]);
            if (!m) return CL_INVALID_MEM_OBJECT;
            if (m->context != q->context) return CL_INVALID_CONTEXT;
        }
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        // Across daemons of a spanning context the contents move to the queue's daemon (unless
        // they are not wanted there). On the daemon a buffer lives on the one device of the
        // queue already, and its host side is the ICD's: the command orders like a migration
        // (its wait list, its event, the queue's order), so it travels as a marker. (On an
        // out-of-order queue without a wait list a marker also waits for earlier commands:
        // correct, less parallel.)
        if (!(flags & CL_MIGRATE_MEM_OBJECT_HOST))
            for (cl_uint i = 0; i < num_mems; ++i)
                bring(q, checked<Mem>(mems[i]),
                      (flags & CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED) ? Access::Overwrite
                                                                        : Access::Read,
                      wait, num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_MIGRATE_MEM_OBJECTS) : nullptr;
        uint64_t eid = e ? e->id : 0;
        q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateMarker(fbb, q->id, eid, fbb.CreateVector(wait), false));
        });
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

} // namespace rgpu::icd
