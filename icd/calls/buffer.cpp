// SPDX-License-Identifier: Apache-2.0
// Buffer entry points: creation, transfers (chunked so network and device copies overlap),
// copy, fill and map/unmap (emulated with reads and writes of the mapped region).
#include "../api.h"
#include "../connection.h"
#include "../enqueue.h"
#include "../entry_points.h"
#include "../image_transfer.h"
#include "../mem_object.h"
#include "../spanning.h"
#include "../svm_space.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace rgpu::icd {
namespace {

constexpr cl_mem_flags kAccessFlags = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY;
constexpr cl_mem_flags kHostAccessFlags =
    CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS;
constexpr cl_mem_flags kKnownFlags = kAccessFlags | kHostAccessFlags | CL_MEM_USE_HOST_PTR |
                                     CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR |
                                     CL_MEM_KERNEL_READ_AND_WRITE;

std::mutex g_live_mutex;
std::unordered_set<const void*> g_live_mems; // guarded by g_live_mutex

bool more_than_one(cl_mem_flags flags) {
    return (flags & (flags - 1)) != 0;
}

/// A frame that sends `size` bytes of the application's memory without copying them. Only for
/// memory the application may not touch until the command completes (OpenCL's own rule).
zmq::message_t borrowed(const void* data, size_t size) {
    return zmq::message_t(const_cast<void*>(data), size, nullptr, nullptr);
}

zmq::message_t chunk_frame(const WriteSource& src, size_t at, size_t n) {
    const auto* bytes = static_cast<const uint8_t*>(src.data) + at;
    switch (src.kind) {
    case WriteSource::Kind::Copy:
        return zmq::message_t(bytes, n);
    case WriteSource::Kind::Borrow:
        return borrowed(bytes, n);
    case WriteSource::Kind::Shared:
    default: {
        auto* keep = new std::shared_ptr<void>(src.owner);
        return zmq::message_t(
            const_cast<uint8_t*>(bytes), n,
            [](void*, void* hint) { delete static_cast<std::shared_ptr<void>*>(hint); }, keep);
    }
    }
}

/// Bounds and flags every transfer entry point checks, in the specification's order.
cl_int check_transfer(Queue* q, Mem* m, size_t offset, size_t size, const void* ptr) {
    if (!q) return CL_INVALID_COMMAND_QUEUE;
    if (!m) return CL_INVALID_MEM_OBJECT;
    if (m->context != q->context) return CL_INVALID_CONTEXT;
    if (!ptr || size == 0 || offset > m->size || size > m->size - offset) return CL_INVALID_VALUE;
    return CL_SUCCESS;
}

cl_int do_read(Queue* q, Mem* m, bool blocking, size_t offset, size_t size, void* ptr,
               const std::vector<uint64_t>& wait, Event* e) {
    return send_read(q, m->id, blocking, offset, size, ptr, wait, e);
}

} // namespace

cl_int send_read(Queue* q, uint64_t mem_id, bool blocking, size_t offset, size_t size, void* ptr,
                 const std::vector<uint64_t>& wait, Event* e, bool svm) {
    Connection* conn = q->connection;
    auto call = conn->read(
        [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateReadBuffer(fbb, q->id, mem_id, offset, size, e ? e->id : 0,
                                               fbb.CreateVector(wait), proto::kTransferChunkBytes,
                                               svm));
        },
        ptr, size, e);
    if (!blocking) {
        conn->flush();
        return CL_SUCCESS;
    }
    return conn->wait(*call).status;
}

void send_write(Connection* conn, uint64_t queue_id, uint64_t mem_id, size_t offset, size_t size,
                const WriteSource& src, uint64_t event_id, const std::vector<uint64_t>& wait,
                bool svm) {
    for (size_t done = 0; done < size;) {
        size_t n = std::min(size - done, conn->transfer_chunk_bytes());
        bool last = done + n == size;
        std::vector<zmq::message_t> bulk;
        bulk.push_back(chunk_frame(src, done, n));
        conn->post(
            [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t frame) {
                return body(wire::CreateWriteBuffer(fbb, queue_id, mem_id, offset + done, n, frame,
                                                    last ? event_id : 0, fbb.CreateVector(wait),
                                                    last, svm));
            },
            std::move(bulk));
        done += n;
    }
}

/// What a blocking transfer returns once its command ended with `status`: success, the
/// specification's code for a failed dependency, or the command's own error.
cl_int blocking_result(cl_int status, cl_uint num_events, const cl_event* wait_list) {
    if (status >= 0) return CL_SUCCESS;
    for (cl_uint i = 0; i < num_events; ++i)
        if (checked<Event>(wait_list[i])->status.load() < 0)
            return CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
    return status;
}

void register_live_mem(Mem* m) {
    std::lock_guard lock(g_live_mutex);
    g_live_mems.insert(static_cast<cl_mem>(m));
}

bool reserve_on_every_part(Context* c, size_t size) {
    for (size_t i = 0; i < c->parts.size(); ++i)
        if (!c->parts[i]->reserve_device_memory(size)) {
            while (i-- > 0)
                c->parts[i]->release_device_memory(size);
            return false;
        }
    return true;
}

Mem* new_mem(Context* c, cl_mem_flags flags, size_t size, void* host_ptr) {
    auto* m = new Mem();
    m->context = c;
    m->id = Connection::new_id();
    m->flags = flags;
    m->size = size;
    if (flags & CL_MEM_USE_HOST_PTR) m->host_ptr = host_ptr;
    hold(c);
    register_live_mem(m);
    return m;
}

bool is_live_mem(const void* handle) {
    std::lock_guard lock(g_live_mutex);
    return g_live_mems.count(handle) > 0;
}

namespace {
/// A buffer over SVM memory (CL_MEM_USE_HOST_PTR of an SVM pointer): natively the buffer is
/// that memory, so the daemon makes it over its own allocation (same address); it takes no
/// memory of its own.
Mem* create_over_svm(Context* c, cl_mem_flags flags, size_t size, void* host_ptr) {
    Mem* m = new_mem(c, flags, size, host_ptr);
    m->uses_svm = true;
    c->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateCreateBuffer(fbb, m->id, c->id, flags, size, 0,
                                             reinterpret_cast<uintptr_t>(host_ptr)));
    });
    return m;
}
} // namespace

cl_mem CL_API_CALL rgpu_clCreateBuffer(cl_context context, cl_mem_flags flags, size_t size,
                                       void* host_ptr, cl_int* errcode_ret) {
    return guard_create<cl_mem>(errcode_ret, [&](cl_int& err) -> cl_mem {
        Context* c = checked<Context>(context);
        if (!c) return err = CL_INVALID_CONTEXT, nullptr;
        if (flags == 0) flags = CL_MEM_READ_WRITE;
        if ((flags & ~kKnownFlags) || more_than_one(flags & kAccessFlags) ||
            more_than_one(flags & kHostAccessFlags) ||
            ((flags & CL_MEM_USE_HOST_PTR) &&
             (flags & (CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR))))
            return err = CL_INVALID_VALUE, nullptr;
        if (size == 0) return err = CL_INVALID_BUFFER_SIZE, nullptr;
        bool all_too_small = true;
        for (Device* d : c->devices)
            if (size <= d->max_mem_alloc) all_too_small = false;
        if (all_too_small) return err = CL_INVALID_BUFFER_SIZE, nullptr;
        bool wants_ptr = flags & (CL_MEM_USE_HOST_PTR | CL_MEM_COPY_HOST_PTR);
        if (wants_ptr != (host_ptr != nullptr)) return err = CL_INVALID_HOST_PTR, nullptr;
        if (flags & CL_MEM_USE_HOST_PTR) {
            const auto at = reinterpret_cast<uintptr_t>(host_ptr);
            if (SvmSpace::instance().find(c, at, size, nullptr))
                return create_over_svm(c, flags, size, host_ptr);
            // Starting in SVM memory and running past its allocation: the spec's code.
            if (SvmSpace::instance().find(c, at, 1, nullptr))
                return err = CL_INVALID_BUFFER_SIZE, nullptr;
        }
        // The daemon refuses buffers beyond the session's quota; say so here, synchronously.
        if (!reserve_on_every_part(c, size)) return err = CL_MEM_OBJECT_ALLOCATION_FAILURE, nullptr;
        Mem* m = new_mem(c, flags, size, host_ptr);
        // The initial contents are copied now: COPY_HOST_PTR lets the application reuse its
        // memory as soon as we return. Every daemon of a spanning context gets them, so each
        // holds the newest contents from the start.
        for (Connection* conn : c->parts) {
            bool inline_data = wants_ptr && size <= conn->transfer_chunk_bytes();
            std::vector<zmq::message_t> bulk;
            if (inline_data) bulk.emplace_back(host_ptr, size);
            conn->post(
                [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t frame) {
                    return body(wire::CreateCreateBuffer(fbb, m->id, c->id, flags, size, frame));
                },
                std::move(bulk));
            if (wants_ptr && !inline_data)
                send_write(conn, 0, m->id, 0, size, {host_ptr, WriteSource::Kind::Copy}, 0, {});
        }
        return m;
    });
}

cl_mem CL_API_CALL rgpu_clCreateSubBuffer(cl_mem buffer, cl_mem_flags flags,
                                          cl_buffer_create_type type, const void* info,
                                          cl_int* errcode_ret) {
    return guard_create<cl_mem>(errcode_ret, [&](cl_int& err) -> cl_mem {
        Mem* parent = checked_buffer(buffer);
        if (!parent || parent->parent) return err = CL_INVALID_MEM_OBJECT, nullptr;
        const cl_mem_flags pf = parent->flags;
        // Access and host-access flags may narrow the parent's, never widen them; host-pointer
        // flags are the parent's alone.
        if ((flags & ~(kAccessFlags | kHostAccessFlags | CL_MEM_KERNEL_READ_AND_WRITE)) ||
            more_than_one(flags & kAccessFlags) || more_than_one(flags & kHostAccessFlags) ||
            ((pf & CL_MEM_WRITE_ONLY) && (flags & (CL_MEM_READ_WRITE | CL_MEM_READ_ONLY))) ||
            ((pf & CL_MEM_READ_ONLY) && (flags & (CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY))) ||
            ((pf & CL_MEM_HOST_WRITE_ONLY) && (flags & CL_MEM_HOST_READ_ONLY)) ||
            ((pf & CL_MEM_HOST_READ_ONLY) && (flags & CL_MEM_HOST_WRITE_ONLY)) ||
            ((pf & CL_MEM_HOST_NO_ACCESS) &&
             (flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_WRITE_ONLY))))
            return err = CL_INVALID_VALUE, nullptr;
        if (type != CL_BUFFER_CREATE_TYPE_REGION || !info) return err = CL_INVALID_VALUE, nullptr;
        cl_buffer_region region;
        std::memcpy(&region, info, sizeof region);
        if (region.size == 0) return err = CL_INVALID_BUFFER_SIZE, nullptr;
        if (region.origin > parent->size || region.size > parent->size - region.origin)
            return err = CL_INVALID_VALUE, nullptr;
        // The origin must suit some device of the context (CL_DEVICE_MEM_BASE_ADDR_ALIGN, bits).
        bool aligned = false;
        for (const Device* d : parent->context->devices) {
            cl_uint bits = 0;
            if (auto it = d->info.find(CL_DEVICE_MEM_BASE_ADDR_ALIGN);
                it != d->info.end() && it->second.size() == sizeof bits)
                std::memcpy(&bits, it->second.data(), sizeof bits);
            size_t bytes = bits / 8;
            if (bytes == 0 || region.origin % bytes == 0) aligned = true;
        }
        if (!aligned) return err = CL_MISALIGNED_SUB_BUFFER_OFFSET, nullptr;

        Context* c = parent->context;
        // Unnamed access flags come from the parent, and host-pointer flags always do.
        cl_mem_flags inherited =
            pf & (CL_MEM_USE_HOST_PTR | CL_MEM_ALLOC_HOST_PTR | CL_MEM_COPY_HOST_PTR);
        if (!(flags & kAccessFlags)) inherited |= pf & kAccessFlags;
        if (!(flags & kHostAccessFlags)) inherited |= pf & kHostAccessFlags;
        void* host =
            parent->host_ptr ? static_cast<uint8_t*>(parent->host_ptr) + region.origin : nullptr;
        Mem* m = new_mem(c, flags | inherited, region.size, host);
        m->parent = parent;
        m->origin = region.origin;
        m->uses_svm = parent->uses_svm;
        retain(parent); // as natively: the parent's reference count shows it
        for (Connection* conn : c->parts)
            conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateCreateSubBuffer(fbb, m->id, parent->id, flags,
                                                        region.origin, region.size));
            });
        return m;
    });
}

cl_mem CL_API_CALL rgpu_clCreateBufferWithProperties(cl_context context,
                                                     const cl_mem_properties* properties,
                                                     cl_mem_flags flags, size_t size,
                                                     void* host_ptr, cl_int* errcode_ret) {
    if (properties && properties[0] != 0) {
        if (errcode_ret)
            *errcode_ret = checked<Context>(context) ? CL_INVALID_PROPERTY : CL_INVALID_CONTEXT;
        return nullptr;
    }
    cl_mem mem = rgpu_clCreateBuffer(context, flags, size, host_ptr, errcode_ret);
    // An empty list given is reported back as given: one zero.
    if (mem && properties) checked<Mem>(mem)->properties.assign(1, 0);
    return mem;
}

cl_int CL_API_CALL rgpu_clRetainMemObject(cl_mem mem) {
    return retain_handle<Mem>(mem, CL_INVALID_MEM_OBJECT);
}

cl_int CL_API_CALL rgpu_clReleaseMemObject(cl_mem mem) {
    return release_handle<Mem>(mem, CL_INVALID_MEM_OBJECT);
}

void destroy(Mem* m) {
    {
        std::lock_guard lock(g_live_mutex);
        g_live_mems.erase(static_cast<cl_mem>(m));
    }
    std::vector<std::pair<void(CL_CALLBACK*)(cl_mem, void*), void*>> callbacks;
    {
        std::lock_guard lock(m->mutex);
        callbacks.swap(m->destructor_callbacks);
        for (auto& map : m->mappings)
            if (map.staging) std::free(map.pointer);
    }
    for (auto it = callbacks.rbegin(); it != callbacks.rend(); ++it)
        it->first(m, it->second);
    Context* c = m->context;
    Mem* parent = m->parent;
    release_arrivals(m);
    for (Connection* conn : c->parts) {
        if (!parent && !m->uses_svm) conn->release_device_memory(m->size);
        conn->post_release(m->id);
    }
    m->magic = Magic::Dead;
    delete m;
    if (parent) release(parent);
    drop(c);
}

cl_int CL_API_CALL rgpu_clSetMemObjectDestructorCallback(cl_mem mem,
                                                         void(CL_CALLBACK* pfn)(cl_mem, void*),
                                                         void* user_data) {
    Mem* m = checked<Mem>(mem);
    if (!m) return CL_INVALID_MEM_OBJECT;
    if (!pfn) return CL_INVALID_VALUE;
    std::lock_guard lock(m->mutex);
    m->destructor_callbacks.emplace_back(pfn, user_data);
    return CL_SUCCESS;
}

cl_int CL_API_CALL rgpu_clGetMemObjectInfo(cl_mem mem, cl_mem_info param, size_t size, void* value,
                                           size_t* size_ret) {
    Mem* m = checked<Mem>(mem);
    if (!m) return CL_INVALID_MEM_OBJECT;
    switch (param) {
    case CL_MEM_TYPE:
        return info_value(m->image ? m->image->desc.image_type
                                   : cl_mem_object_type{CL_MEM_OBJECT_BUFFER},
                          size, value, size_ret);
    case CL_MEM_FLAGS:
        return info_value(m->flags, size, value, size_ret);
    case CL_MEM_SIZE:
        return info_value(m->size, size, value, size_ret);
    case CL_MEM_HOST_PTR:
        return info_value(m->host_ptr, size, value, size_ret);
    case CL_MEM_MAP_COUNT: {
        std::lock_guard lock(m->mutex);
        return info_value(static_cast<cl_uint>(m->mappings.size()), size, value, size_ret);
    }
    case CL_MEM_REFERENCE_COUNT:
        return info_value(m->refs.load(), size, value, size_ret);
    case CL_MEM_CONTEXT:
        return info_value(static_cast<cl_context>(m->context), size, value, size_ret);
    case CL_MEM_ASSOCIATED_MEMOBJECT:
        return info_value(static_cast<cl_mem>(m->parent), size, value, size_ret);
    case CL_MEM_OFFSET:
        return info_value(m->origin, size, value, size_ret);
    case CL_MEM_USES_SVM_POINTER:
        return info_value(static_cast<cl_bool>(m->uses_svm ? CL_TRUE : CL_FALSE), size, value,
                          size_ret);
    case CL_MEM_PROPERTIES:
        return info_vector(m->properties, size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL rgpu_clEnqueueWriteBuffer(cl_command_queue queue, cl_mem buffer,
                                             cl_bool blocking, size_t offset, size_t size,
                                             const void* ptr, cl_uint num_events,
                                             const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        Mem* m = checked_buffer(buffer);
        cl_int err = check_transfer(q, m, offset, size, ptr);
        if (err != CL_SUCCESS) return err;
        if (m->flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS)) return CL_INVALID_OPERATION;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
        bring(q, m, offset == 0 && size == m->size ? Access::Overwrite : Access::Write, wait,
              num_events, wait_list);
        // A blocking write must wait for completion anyway, so it needs an event of its own.
        Event* e = (event || blocking) ? new_command_event(q, CL_COMMAND_WRITE_BUFFER) : nullptr;
        Connection* conn = q->connection;
        send_write(conn, q->id, m->id, offset, size, {ptr, WriteSource::Kind::Borrow},
                   e ? e->id : 0, wait);
        if (blocking) {
            conn->wait_events({e});
            cl_int status = e->status.load();
            if (event)
                *event = e;
            else
                release(e);
            return blocking_result(status, num_events, wait_list);
        }
        conn->flush();
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clEnqueueReadBuffer(cl_command_queue queue, cl_mem buffer, cl_bool blocking,
                                            size_t offset, size_t size, void* ptr,
                                            cl_uint num_events, const cl_event* wait_list,
                                            cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        Mem* m = checked_buffer(buffer);
        cl_int err = check_transfer(q, m, offset, size, ptr);
        if (err != CL_SUCCESS) return err;
        if (m->flags & (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS))
            return CL_INVALID_OPERATION;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
        bring(q, m, Access::Read, wait, num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_READ_BUFFER) : nullptr;
        if (event) *event = e;
        return blocking_result(do_read(q, m, blocking, offset, size, ptr, wait, e), num_events,
                               wait_list);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueCopyBuffer(cl_command_queue queue, cl_mem src, cl_mem dst,
                                            size_t src_offset, size_t dst_offset, size_t size,
                                            cl_uint num_events, const cl_event* wait_list,
                                            cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        Mem* s = checked_buffer(src);
        Mem* d = checked_buffer(dst);
        if (!s || !d) return CL_INVALID_MEM_OBJECT;
        if (s->context != q->context || d->context != q->context) return CL_INVALID_CONTEXT;
        if (size == 0 || src_offset > s->size || size > s->size - src_offset ||
            dst_offset > d->size || size > d->size - dst_offset)
            return CL_INVALID_VALUE;
        if (s == d && src_offset < dst_offset + size && dst_offset < src_offset + size)
            return CL_MEM_COPY_OVERLAP;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        bring(q, s, Access::Read, wait, num_events, wait_list);
        bring(q, d, dst_offset == 0 && size == d->size ? Access::Overwrite : Access::Write, wait,
              num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_COPY_BUFFER) : nullptr;
        q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateCopyBuffer(fbb, q->id, s->id, d->id, src_offset, dst_offset,
                                               size, e ? e->id : 0, fbb.CreateVector(wait)));
        });
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clEnqueueFillBuffer(cl_command_queue queue, cl_mem buffer,
                                            const void* pattern, size_t pattern_size, size_t offset,
                                            size_t size, cl_uint num_events,
                                            const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        Mem* m = checked_buffer(buffer);
        if (!m) return CL_INVALID_MEM_OBJECT;
        if (m->context != q->context) return CL_INVALID_CONTEXT;
        bool power_of_two = pattern_size && (pattern_size & (pattern_size - 1)) == 0;
        if (!pattern || !power_of_two || pattern_size > 128 || offset % pattern_size ||
            size % pattern_size || offset > m->size || size > m->size - offset)
            return CL_INVALID_VALUE;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        bring(q, m, offset == 0 && size == m->size ? Access::Overwrite : Access::Write, wait,
              num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_FILL_BUFFER) : nullptr;
        q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            auto bytes = fbb.CreateVector(static_cast<const uint8_t*>(pattern), pattern_size);
            return body(wire::CreateFillBuffer(fbb, q->id, m->id, bytes, offset, size,
                                               e ? e->id : 0, fbb.CreateVector(wait)));
        });
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

void* CL_API_CALL rgpu_clEnqueueMapBuffer(cl_command_queue queue, cl_mem buffer, cl_bool blocking,
                                          cl_map_flags flags, size_t offset, size_t size,
                                          cl_uint num_events, const cl_event* wait_list,
                                          cl_event* event, cl_int* errcode_ret) {
    return guard_create<void*>(errcode_ret, [&](cl_int& err) -> void* {
        Queue* q = checked<Queue>(queue);
        Mem* m = checked_buffer(buffer);
        if (!q) return err = CL_INVALID_COMMAND_QUEUE, nullptr;
        if (!m) return err = CL_INVALID_MEM_OBJECT, nullptr;
        if (m->context != q->context) return err = CL_INVALID_CONTEXT, nullptr;
        constexpr cl_map_flags kKnown = CL_MAP_READ | CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION;
        if ((m->flags & CL_MEM_HOST_NO_ACCESS) ||
            ((m->flags & CL_MEM_HOST_WRITE_ONLY) && (flags & CL_MAP_READ)) ||
            ((m->flags & CL_MEM_HOST_READ_ONLY) &&
             (flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION))))
            return err = CL_INVALID_OPERATION, nullptr;
        if (size == 0 || offset > m->size || size > m->size - offset || (flags & ~kKnown) ||
            ((flags & CL_MAP_WRITE_INVALIDATE_REGION) && (flags & (CL_MAP_READ | CL_MAP_WRITE))))
            return err = CL_INVALID_VALUE, nullptr;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return nullptr;
        Mapping map;
        map.offset = offset;
        map.size = size;
        map.flags = flags;
        if (m->host_ptr) {
            map.pointer = static_cast<uint8_t*>(m->host_ptr) + offset;
        } else {
            map.pointer = std::aligned_alloc(128, (size + 127) / 128 * 128);
            if (!map.pointer) return err = CL_OUT_OF_HOST_MEMORY, nullptr;
            map.staging = true;
        }
        // Mapped for writing only, the region's contents are not wanted: the unmap moves what
        // the rest of the buffer needs.
        if (!(flags & CL_MAP_WRITE_INVALIDATE_REGION))
            bring(q, m, Access::Read, wait, num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_MAP_BUFFER) : nullptr;
        if (flags & CL_MAP_WRITE_INVALIDATE_REGION) {
            // Nothing to fetch; a marker keeps the event and wait-list semantics.
            q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateMarker(fbb, q->id, e ? e->id : 0, fbb.CreateVector(wait)));
            });
            if (blocking && e) q->connection->wait_events({e});
        } else {
            err = blocking_result(do_read(q, m, blocking, offset, size, map.pointer, wait, e),
                                  num_events, wait_list);
        }
        if (err != CL_SUCCESS) {
            if (map.staging) std::free(map.pointer);
            return nullptr;
        }
        {
            std::lock_guard lock(m->mutex);
            m->mappings.push_back(map);
        }
        if (event) *event = e;
        return map.pointer;
    });
}

cl_int CL_API_CALL rgpu_clEnqueueUnmapMemObject(cl_command_queue queue, cl_mem memobj,
                                                void* mapped_ptr, cl_uint num_events,
                                                const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        Mem* m = checked<Mem>(memobj);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        if (!m) return CL_INVALID_MEM_OBJECT;
        if (m->context != q->context) return CL_INVALID_CONTEXT;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        Mapping map;
        {
            std::lock_guard lock(m->mutex);
            auto it = std::find_if(m->mappings.begin(), m->mappings.end(),
                                   [&](const Mapping& x) { return x.pointer == mapped_ptr; });
            if (it == m->mappings.end()) return CL_INVALID_VALUE;
            map = *it;
            m->mappings.erase(it);
        }
        if (m->image) {
            Event* e = event ? new_command_event(q, CL_COMMAND_UNMAP_MEM_OBJECT) : nullptr;
            unmap_image(q, m, map, e, wait, num_events, wait_list);
            q->connection->flush();
            if (event) *event = e;
            return CL_SUCCESS;
        }
        bool writes = map.flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION);
        if (writes)
            bring(q, m, map.offset == 0 && map.size == m->size ? Access::Overwrite : Access::Write,
                  wait, num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_UNMAP_MEM_OBJECT) : nullptr;
        Connection* conn = q->connection;
        if (writes) {
            // Staging memory is handed to the transport, which frees it once the last chunk is
            // sent.
            WriteSource src{map.pointer, WriteSource::Kind::Borrow};
            if (map.staging)
                src = {map.pointer, WriteSource::Kind::Shared,
                       std::shared_ptr<void>(map.pointer, [](void* p) { std::free(p); })};
            send_write(conn, q->id, m->id, map.offset, map.size, src, e ? e->id : 0, wait);
        } else {
            if (map.staging) std::free(map.pointer);
            conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateMarker(fbb, q->id, e ? e->id : 0, fbb.CreateVector(wait)));
            });
        }
        conn->flush();
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

} // namespace rgpu::icd
