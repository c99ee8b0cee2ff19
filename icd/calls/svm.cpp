// SPDX-License-Identifier: Apache-2.0
// Shared virtual memory, coarse-grained buffers: allocations live on the daemon at the address
// its runtime chose and the client reserves the same addresses as their host copy (svm_space.h).
// Map fetches the mapped range into that copy and unmap sends back what may have been written,
// which is exactly the visibility coarse-grained SVM promises the host.
#include "../api.h"
#include "../connection.h"
#include "../enqueue.h"
#include "../entry_points.h"
#include "../lifetime.h"
#include "../svm_space.h"

#include <cstring>
#include <functional>
#include <memory>

namespace rgpu::icd {
namespace {

/// Allocations the daemon made at addresses the client could not reserve are kept until one
/// fits (so the runtime does not hand the same address back), then freed; this many tries.
constexpr int kReserveTries = 16;

constexpr cl_svm_mem_flags kAccessFlags = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY;

uintptr_t address_of(const void* p) {
    return reinterpret_cast<uintptr_t>(p);
}

cl_device_svm_capabilities svm_caps(const Device* d) {
    cl_device_svm_capabilities caps = 0;
    if (auto it = d->info.find(CL_DEVICE_SVM_CAPABILITIES);
        it != d->info.end() && it->second.size() == sizeof caps)
        std::memcpy(&caps, it->second.data(), sizeof caps);
    return caps;
}

bool any_device_has_svm(const Context* c) {
    for (const Device* d : c->devices)
        if (svm_caps(d) & CL_DEVICE_SVM_COARSE_GRAIN_BUFFER) return true;
    return false;
}

void free_on_daemon(Context* c, uint64_t id, size_t size) {
    c->connection->post_release(id);
    c->connection->release_device_memory(size);
}

/// Queues a command that only orders (wait list in, event out): for SVM commands with nothing
/// to move on the daemon.
void post_marker(Queue* q, Event* e, const std::vector<uint64_t>& wait) {
    q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateMarker(fbb, q->id, e ? e->id : 0, fbb.CreateVector(wait)));
    });
}

/// Ends an enqueue: hands out or drops the event, waits when blocking.
cl_int finish_enqueue(Queue* q, Event* e, bool blocking, cl_event* event, cl_uint num_events,
                      const cl_event* wait_list) {
    cl_int status = CL_SUCCESS;
    if (blocking && e) {
        q->connection->wait_events({e});
        status = blocking_result(e->status.load(), num_events, wait_list);
    } else {
        q->connection->flush();
    }
    if (event)
        *event = e;
    else if (e)
        release(e);
    return status;
}

/// Reads [address, address + size) of SVM memory into `destination`.
cl_int read_svm(Queue* q, bool blocking, uintptr_t address, size_t size, void* destination,
                const std::vector<uint64_t>& wait, Event* e) {
    return send_read(q, 0, blocking, address, size, destination, wait, e, true);
}

/// Host memory on both sides: nothing for the daemon to move. The copy runs here once the wait
/// list is done, so the call waits for it even when not blocking (such copies are rare).
cl_int on_host(Queue* q, const std::vector<uint64_t>& wait, Event* e, cl_uint num_events,
               const cl_event* wait_list, const std::function<void()>& work) {
    post_marker(q, e, wait);
    q->connection->wait_events({e});
    cl_int status = e->status.load();
    if (status < 0) return blocking_result(status, num_events, wait_list);
    work();
    return CL_SUCCESS;
}

/// What clEnqueueSVMFree runs once its command completes.
struct FreeJob {
    Queue* queue; ///< Held until the job ran.
    std::vector<void*> pointers;
    void(CL_CALLBACK* fn)(cl_command_queue, cl_uint, void**, void*);
    void* user_data;
};

void CL_CALLBACK run_free_job(cl_event, cl_int, void* data) {
    std::unique_ptr<FreeJob> job(static_cast<FreeJob*>(data));
    if (job->fn)
        job->fn(job->queue, static_cast<cl_uint>(job->pointers.size()), job->pointers.data(),
                job->user_data);
    else
        for (void* p : job->pointers)
            rgpu_clSVMFree(job->queue->context, p);
    drop(job->queue);
}

} // namespace

void* CL_API_CALL rgpu_clSVMAlloc(cl_context context, cl_svm_mem_flags flags, size_t size,
                                  unsigned int alignment) {
    cl_int err = CL_SUCCESS;
    return guard_create<void*>(&err, [&](cl_int& e) -> void* {
        Context* c = checked<Context>(context);
        if (!c) return e = CL_INVALID_CONTEXT, nullptr;
        constexpr cl_svm_mem_flags kKnown =
            kAccessFlags | CL_MEM_SVM_FINE_GRAIN_BUFFER | CL_MEM_SVM_ATOMICS;
        cl_svm_mem_flags access = flags & kAccessFlags;
        if ((flags & ~kKnown) || (access & (access - 1)) ||
            ((flags & CL_MEM_SVM_ATOMICS) && !(flags & CL_MEM_SVM_FINE_GRAIN_BUFFER)))
            return e = CL_INVALID_VALUE, nullptr;
        // Only coarse-grained buffers are offered (the devices say so), and only by one daemon:
        // an address chosen by one daemon's runtime means nothing to another's.
        if ((flags & CL_MEM_SVM_FINE_GRAIN_BUFFER) || !any_device_has_svm(c) || c->spans())
            return e = CL_INVALID_OPERATION, nullptr;
        if (size == 0 || (alignment & (alignment - 1))) return e = CL_INVALID_VALUE, nullptr;
        for (const Device* d : c->devices)
            if (size > d->max_mem_alloc) return e = CL_INVALID_BUFFER_SIZE, nullptr;
        Connection* conn = c->connection;
        if (!conn->reserve_device_memory(size))
            return e = CL_MEM_OBJECT_ALLOCATION_FAILURE, nullptr;

        std::vector<uint64_t> unusable; // allocated where this process already has memory
        void* result = nullptr;
        for (int attempt = 0; attempt < kReserveTries && !result; ++attempt) {
            uint64_t id = Connection::new_id();
            Answer a = conn->call([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateSvmAlloc(fbb, id, c->id, flags, size, alignment));
            });
            const wire::SvmAllocated* made = a.reply ? a.reply->body_as_SvmAllocated() : nullptr;
            if (a.status != CL_SUCCESS || !made) break;
            uintptr_t address = made->address();
            if (!SvmSpace::instance().reserve(address, size)) {
                unusable.push_back(id);
                continue;
            }
            hold(c);
            SvmSpace::instance().add(SvmAllocation{address, size, c, id, {}});
            result = reinterpret_cast<void*>(address);
        }
        for (uint64_t id : unusable)
            conn->post_release(id);
        if (!result) conn->release_device_memory(size);
        conn->flush();
        return result;
    });
}

void CL_API_CALL rgpu_clSVMFree(cl_context context, void* pointer) {
    (void)guard([&] {
        Context* c = checked<Context>(context);
        SvmAllocation a;
        // Not ours, or of another context: nothing is freed (the specification leaves it
        // undefined; doing nothing is the safe choice).
        if (!c || !pointer || !SvmSpace::instance().find(c, address_of(pointer), 0, &a) ||
            a.address != address_of(pointer) || !SvmSpace::instance().remove(a.address, &a))
            return CL_SUCCESS;
        SvmSpace::instance().unreserve(a.address, a.size);
        free_on_daemon(c, a.id, a.size);
        c->connection->flush();
        drop(c);
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clEnqueueSVMFree(
    cl_command_queue queue, cl_uint num_pointers, void** pointers,
    void(CL_CALLBACK* fn)(cl_command_queue, cl_uint, void**, void*), void* user_data,
    cl_uint num_events, const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        if ((num_pointers == 0) != (pointers == nullptr)) return CL_INVALID_VALUE;
        for (cl_uint i = 0; i < num_pointers; ++i)
            if (!pointers[i]) return CL_INVALID_VALUE;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        // The frees (or the application's function) run once the command completes: after
        // everything it waits for, as natively.
        Event* e = new_command_event(q, CL_COMMAND_SVM_FREE);
        post_marker(q, e, wait);
        hold(q);
        auto* job =
            new FreeJob{q, std::vector<void*>(pointers, pointers + num_pointers), fn, user_data};
        rgpu_clSetEventCallback(e, CL_COMPLETE, run_free_job, job);
        return finish_enqueue(q, e, false, event, num_events, wait_list);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueSVMMemcpy(cl_command_queue queue, cl_bool blocking, void* dst,
                                           const void* src, size_t size, cl_uint num_events,
                                           const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        if (!dst || !src) return CL_INVALID_VALUE;
        uintptr_t d = address_of(dst), s = address_of(src);
        if (d < s + size && s < d + size && size) return CL_MEM_COPY_OVERLAP;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        SvmSpace& space = SvmSpace::instance();
        const bool dst_svm = space.find(q->context, d, size, nullptr);
        const bool src_svm = space.find(q->context, s, size, nullptr);
        Event* e = new_command_event(q, CL_COMMAND_SVM_MEMCPY);
        if (size == 0) {
            post_marker(q, e, wait);
        } else if (dst_svm && src_svm) {
            q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(
                    wire::CreateSvmCopy(fbb, q->id, d, s, size, e->id, fbb.CreateVector(wait)));
            });
        } else if (dst_svm) {
            // The source is the application's until the command completes (OpenCL's rule).
            send_write(q->connection, q->id, 0, d, size, {src, WriteSource::Kind::Borrow}, e->id,
                       wait, true);
        } else if (src_svm) {
            err = read_svm(q, blocking, s, size, dst, wait, e);
            if (err != CL_SUCCESS) {
                release(e);
                return blocking_result(err, num_events, wait_list);
            }
        } else {
            err = on_host(q, wait, e, num_events, wait_list, [&] { std::memmove(dst, src, size); });
            if (err != CL_SUCCESS) {
                release(e);
                return err;
            }
        }
        return finish_enqueue(q, e, blocking, event, num_events, wait_list);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueSVMMemFill(cl_command_queue queue, void* pointer,
                                            const void* pattern, size_t pattern_size, size_t size,
                                            cl_uint num_events, const cl_event* wait_list,
                                            cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        bool power_of_two = pattern_size && (pattern_size & (pattern_size - 1)) == 0;
        uintptr_t at = address_of(pointer);
        if (!pointer || !pattern || !power_of_two || pattern_size > 128 || at % pattern_size ||
            size % pattern_size)
            return CL_INVALID_VALUE;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        Event* e = new_command_event(q, CL_COMMAND_SVM_MEMFILL);
        if (size == 0) {
            post_marker(q, e, wait);
        } else if (SvmSpace::instance().find(q->context, at, size, nullptr)) {
            q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                auto bytes = fbb.CreateVector(static_cast<const uint8_t*>(pattern), pattern_size);
                return body(wire::CreateFillBuffer(fbb, q->id, 0, bytes, at, size, e->id,
                                                   fbb.CreateVector(wait), true));
            });
        } else {
            std::vector<uint8_t> copy(static_cast<const uint8_t*>(pattern),
                                      static_cast<const uint8_t*>(pattern) + pattern_size);
            err = on_host(q, wait, e, num_events, wait_list, [&] {
                for (size_t done = 0; done < size; done += pattern_size)
                    std::memcpy(static_cast<uint8_t*>(pointer) + done, copy.data(), pattern_size);
            });
            if (err != CL_SUCCESS) {
                release(e);
                return err;
            }
        }
        return finish_enqueue(q, e, false, event, num_events, wait_list);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueSVMMap(cl_command_queue queue, cl_bool blocking,
                                        cl_map_flags flags, void* pointer, size_t size,
                                        cl_uint num_events, const cl_event* wait_list,
                                        cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        constexpr cl_map_flags kKnown = CL_MAP_READ | CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION;
        if (!pointer || size == 0 || (flags & ~kKnown) ||
            ((flags & CL_MAP_WRITE_INVALIDATE_REGION) && (flags & (CL_MAP_READ | CL_MAP_WRITE))))
            return CL_INVALID_VALUE;
        uintptr_t at = address_of(pointer);
        if (!SvmSpace::instance().find(q->context, at, size, nullptr)) return CL_INVALID_VALUE;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        Event* e = new_command_event(q, CL_COMMAND_SVM_MAP);
        // The host copy gets the device's contents, unless the mapping discards them.
        if (flags & CL_MAP_WRITE_INVALIDATE_REGION) {
            post_marker(q, e, wait);
        } else if ((err = read_svm(q, blocking, at, size, pointer, wait, e)) != CL_SUCCESS) {
            release(e);
            return blocking_result(err, num_events, wait_list);
        }
        SvmSpace::instance().push_mapping(q->context, SvmMapping{at, size, flags});
        return finish_enqueue(q, e, blocking, event, num_events, wait_list);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueSVMUnmap(cl_command_queue queue, void* pointer, cl_uint num_events,
                                          const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        if (!pointer) return CL_INVALID_VALUE;
        uintptr_t at = address_of(pointer);
        if (!SvmSpace::instance().find(q->context, at, 0, nullptr)) return CL_INVALID_VALUE;
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        SvmMapping map;
        bool mapped = SvmSpace::instance().pop_mapping(q->context, at, &map);
        Event* e = new_command_event(q, CL_COMMAND_SVM_UNMAP);
        if (mapped && (map.flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION))) {
            // The host copy is the application's to leave alone until it maps again.
            send_write(q->connection, q->id, 0, map.address, map.size,
                       {pointer, WriteSource::Kind::Borrow}, e->id, wait, true);
        } else {
            post_marker(q, e, wait);
        }
        return finish_enqueue(q, e, false, event, num_events, wait_list);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueSVMMigrateMem(cl_command_queue queue, cl_uint num_pointers,
                                               const void** pointers, const size_t* sizes,
                                               cl_mem_migration_flags flags, cl_uint num_events,
                                               const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        constexpr cl_mem_migration_flags kKnown =
            CL_MIGRATE_MEM_OBJECT_HOST | CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED;
        if (num_pointers == 0 || !pointers || (flags & ~kKnown)) return CL_INVALID_VALUE;
        for (cl_uint i = 0; i < num_pointers; ++i) {
            size_t size = sizes ? sizes[i] : 0;
            if (!pointers[i] ||
                !SvmSpace::instance().find(q->context, address_of(pointers[i]), size, nullptr))
                return CL_INVALID_VALUE;
        }
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        // Where SVM memory lives is the device runtime's business: only the ordering remains.
        Event* e = new_command_event(q, CL_COMMAND_SVM_MIGRATE_MEM);
        post_marker(q, e, wait);
        return finish_enqueue(q, e, false, event, num_events, wait_list);
    });
}

cl_int CL_API_CALL rgpu_clSetKernelArgSVMPointer(cl_kernel kernel, cl_uint index,
                                                 const void* value) {
    return guard([&] {
        Kernel* k = checked<Kernel>(kernel);
        if (!k) return CL_INVALID_KERNEL;
        if (index >= k->desc.args.size()) return CL_INVALID_ARG_INDEX;
        const KernelArgDesc& arg = k->desc.args[index];
        if (arg.address != CL_KERNEL_ARG_ADDRESS_GLOBAL &&
            arg.address != CL_KERNEL_ARG_ADDRESS_CONSTANT)
            return CL_INVALID_ARG_VALUE;
        Context* c = k->program->context;
        uintptr_t at = address_of(value);
        // Into (or just past) an allocation of the kernel's context, or null.
        if (value && !SvmSpace::instance().find(c, at, 0, nullptr)) return CL_INVALID_ARG_VALUE;
        for (Connection* conn : c->parts)
            conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateSetKernelArg(fbb, k->id, index, wire::ArgKind::SvmPointer,
                                                     0, 0, 0, at));
            });
        std::lock_guard lock(k->mutex);
        k->arg_set[index] = true;
        k->arg_mems[index] = nullptr;
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clSetKernelExecInfo(cl_kernel kernel, cl_kernel_exec_info param,
                                            size_t size, const void* value) {
    return guard([&] {
        Kernel* k = checked<Kernel>(kernel);
        if (!k) return CL_INVALID_KERNEL;
        Context* c = k->program->context;
        std::vector<uint64_t> pointers;
        cl_bool fine_grain_system = CL_FALSE;
        if (param == CL_KERNEL_EXEC_INFO_SVM_PTRS) {
            // No pointers at all (size 0, NULL) forgets those set before.
            if ((!value && size != 0) || size % sizeof(void*)) return CL_INVALID_VALUE;
            for (size_t i = 0; i < size / sizeof(void*); ++i) {
                const void* p = nullptr;
                std::memcpy(&p, static_cast<const uint8_t*>(value) + i * sizeof p, sizeof p);
                if (!SvmSpace::instance().find(c, address_of(p), 0, nullptr))
                    return CL_INVALID_VALUE;
                pointers.push_back(address_of(p));
            }
        } else if (param == CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM) {
            if (!value || size != sizeof(cl_bool)) return CL_INVALID_VALUE;
            std::memcpy(&fine_grain_system, value, sizeof fine_grain_system);
            // No rgpu device offers system SVM.
            if (fine_grain_system) return CL_INVALID_OPERATION;
        } else {
            return CL_INVALID_VALUE;
        }
        for (Connection* conn : c->parts)
            conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateSetKernelExecInfo(fbb, k->id, fbb.CreateVector(pointers),
                                                          fine_grain_system, param));
            });
        return CL_SUCCESS;
    });
}

} // namespace rgpu::icd
