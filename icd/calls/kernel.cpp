// SPDX-License-Identifier: Apache-2.0
// Kernel entry points: creation, arguments (checked locally against the signatures the build
// reply carried) and NDRange launches, all sent without a round trip.
#include "../api.h"
#include "../connection.h"
#include "../enqueue.h"
#include "../entry_points.h"
#include "../spanning.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace rgpu::icd {

cl_int remote_info_value(Connection* conn, wire::InfoKind kind, uint64_t id, cl_uint param,
                         uint32_t extra, size_t size, void* value, size_t* size_ret); // program.cpp

bool is_live_mem(const void* handle); // buffer.cpp

namespace {
/// The most __local memory a kernel of `context` may take (CL_DEVICE_LOCAL_MEM_SIZE, largest
/// over the context's devices); unbounded when the devices do not say.
cl_ulong max_local_mem(const Context* context) {
    cl_ulong most = 0;
    for (const Device* d : context->devices) {
        auto it = d->info.find(CL_DEVICE_LOCAL_MEM_SIZE);
        if (it == d->info.end() || it->second.size() != sizeof(cl_ulong)) return ~cl_ulong(0);
        cl_ulong size = 0;
        std::memcpy(&size, it->second.data(), sizeof size);
        most = std::max(most, size);
    }
    return most ? most : ~cl_ulong(0);
}
} // namespace

namespace {

/// Size of an OpenCL C scalar or vector type by name; 0 when it cannot be told from the name.
size_t type_size(std::string_view name) {
    static const std::pair<std::string_view, size_t> kBase[] = {
        {"char", 1}, {"uchar", 1}, {"short", 2}, {"ushort", 2}, {"half", 2},  {"int", 4},
        {"uint", 4}, {"float", 4}, {"long", 8},  {"ulong", 8},  {"double", 8}};
    for (auto [base, size] : kBase) {
        if (name.substr(0, base.size()) != base) continue;
        std::string_view rest = name.substr(base.size());
        if (rest.empty()) return size;
        int n = 0;
        for (char ch : rest) {
            if (ch < '0' || ch > '9') return 0;
            n = n * 10 + (ch - '0');
        }
        if (n == 3) return size * 4; // 3-component vectors are padded to 4
        if (n == 2 || n == 4 || n == 8 || n == 16) return size * n;
        return 0;
    }
    return 0;
}

/// An image argument's type (image2d_t, image1d_buffer_t, image2d_array_depth_t, ...), not a
/// pointer to a type whose name starts so.
bool is_image_type(std::string_view name) {
    return name.rfind("image", 0) == 0 && name.size() > 2 && name.substr(name.size() - 2) == "_t";
}

/// A buffer argument; without argument info, a pointer-sized value naming a live buffer is one.
bool is_pointer(const KernelArgDesc& arg, size_t size, const void* value) {
    if (arg.address == 0)
        return size == sizeof(cl_mem) && value && is_live_mem(*static_cast<const cl_mem*>(value));
    return arg.address == CL_KERNEL_ARG_ADDRESS_GLOBAL ||
           arg.address == CL_KERNEL_ARG_ADDRESS_CONSTANT;
}

Kernel* make_kernel(Program* p, const KernelDesc& desc) {
    auto* k = new Kernel();
    k->program = p;
    k->id = Connection::new_id();
    k->desc = desc;
    k->arg_set.assign(desc.args.size(), false);
    k->arg_mems.assign(desc.args.size(), nullptr);
    hold(p);
    p->live_kernels.fetch_add(1);
    std::string name = desc.name;
    for (Connection* conn : p->context->parts)
        conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateCreateKernel(fbb, k->id, p->id, fbb.CreateString(name)));
        });
    return k;
}

} // namespace

cl_kernel CL_API_CALL rgpu_clCreateKernel(cl_program program, const char* name,
                                          cl_int* errcode_ret) {
    return guard_create<cl_kernel>(errcode_ret, [&](cl_int& err) -> cl_kernel {
        Program* p = checked<Program>(program);
        if (!p) return err = CL_INVALID_PROGRAM, nullptr;
        if (!name) return err = CL_INVALID_VALUE, nullptr;
        std::lock_guard lock(p->mutex);
        if (!p->built) return err = CL_INVALID_PROGRAM_EXECUTABLE, nullptr;
        const KernelDesc* desc = p->find_kernel(name);
        if (!desc) return err = CL_INVALID_KERNEL_NAME, nullptr;
        return make_kernel(p, *desc);
    });
}

cl_int CL_API_CALL rgpu_clCreateKernelsInProgram(cl_program program, cl_uint num_kernels,
                                                 cl_kernel* kernels, cl_uint* num_kernels_ret) {
    return guard([&] {
        Program* p = checked<Program>(program);
        if (!p) return CL_INVALID_PROGRAM;
        std::lock_guard lock(p->mutex);
        if (!p->built) return CL_INVALID_PROGRAM_EXECUTABLE;
        auto count = static_cast<cl_uint>(p->kernels.size());
        if (kernels && num_kernels < count) return CL_INVALID_VALUE;
        if (kernels)
            for (cl_uint i = 0; i < count; ++i)
                kernels[i] = make_kernel(p, p->kernels[i]);
        if (num_kernels_ret) *num_kernels_ret = count;
        return CL_SUCCESS;
    });
}

cl_kernel CL_API_CALL rgpu_clCloneKernel(cl_kernel source_kernel, cl_int* errcode_ret) {
    return guard_create<cl_kernel>(errcode_ret, [&](cl_int& err) -> cl_kernel {
        Kernel* source = checked<Kernel>(source_kernel);
        if (!source) return err = CL_INVALID_KERNEL, nullptr;
        Program* p = source->program;
        auto* k = new Kernel();
        k->program = p;
        k->id = Connection::new_id();
        k->desc = source->desc;
        {
            // A copy of the arguments as they are now; later changes to either stay its own.
            std::lock_guard lock(source->mutex);
            k->arg_set = source->arg_set;
            k->arg_mems = source->arg_mems;
        }
        hold(p);
        p->live_kernels.fetch_add(1);
        uint64_t id = k->id, from = source->id;
        for (Connection* conn : p->context->parts)
            conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateCloneKernel(fbb, id, from));
            });
        return k;
    });
}

cl_int CL_API_CALL rgpu_clRetainKernel(cl_kernel kernel) {
    return retain_handle<Kernel>(kernel, CL_INVALID_KERNEL);
}

cl_int CL_API_CALL rgpu_clReleaseKernel(cl_kernel kernel) {
    return release_handle<Kernel>(kernel, CL_INVALID_KERNEL);
}

void destroy(Kernel* k) {
    Program* p = k->program;
    for (Connection* conn : p->context->parts)
        conn->post_release(k->id);
    k->magic = Magic::Dead;
    delete k;
    p->live_kernels.fetch_sub(1);
    drop(p);
}

cl_int CL_API_CALL rgpu_clSetKernelArg(cl_kernel kernel, cl_uint index, size_t size,
                                       const void* value) {
    return guard([&] {
        Kernel* k = checked<Kernel>(kernel);
        if (!k) return CL_INVALID_KERNEL;
        if (index >= k->desc.args.size()) return CL_INVALID_ARG_INDEX;
        const KernelArgDesc& arg = k->desc.args[index];
        wire::ArgKind kind = wire::ArgKind::Value;
        uint64_t mem_id = 0;
        if (arg.address == CL_KERNEL_ARG_ADDRESS_LOCAL) {
            if (value) return CL_INVALID_ARG_VALUE;
            if (size == 0) return CL_INVALID_ARG_SIZE;
            // More __local memory than any device of the context has can never launch (and
            // some runtimes abort on it): the spec's code for a size beyond a device maximum.
            if (size > max_local_mem(k->program->context)) return CL_MAX_SIZE_RESTRICTION_EXCEEDED;
            kind = wire::ArgKind::Local;
        } else if (is_pointer(arg, size, value)) {
            if (size != sizeof(cl_mem)) return CL_INVALID_ARG_SIZE;
            cl_mem handle = value ? *static_cast<const cl_mem*>(value) : nullptr;
            if (!handle) {
                kind = wire::ArgKind::NullMem;
            } else {
                Mem* m = checked<Mem>(handle);
                if (!m) return CL_INVALID_MEM_OBJECT;
                if (m->context != k->program->context) return CL_INVALID_MEM_OBJECT;
                // An image argument takes an image, a pointer a buffer; an image's access must
                // allow what the kernel declares (POCL 3.1 checks neither).
                const bool image_arg = is_image_type(arg.type_name);
                if (arg.address != 0 && image_arg != (m->image != nullptr))
                    return CL_INVALID_MEM_OBJECT;
                if (image_arg) {
                    const bool read_only = m->flags & CL_MEM_READ_ONLY;
                    const bool write_only = m->flags & CL_MEM_WRITE_ONLY;
                    if ((arg.access == CL_KERNEL_ARG_ACCESS_WRITE_ONLY && read_only) ||
                        (arg.access == CL_KERNEL_ARG_ACCESS_READ_ONLY && write_only) ||
                        (arg.access == CL_KERNEL_ARG_ACCESS_READ_WRITE &&
                         (read_only || write_only)))
                        return CL_INVALID_ARG_VALUE;
                }
                kind = wire::ArgKind::Mem;
                mem_id = m->id;
            }
        } else if (arg.type_name == "sampler_t") {
            if (size != sizeof(cl_sampler)) return CL_INVALID_ARG_SIZE;
            Sampler* s = value ? checked<Sampler>(*static_cast<const cl_sampler*>(value)) : nullptr;
            if (!s || s->context != k->program->context) return CL_INVALID_SAMPLER;
            kind = wire::ArgKind::Sampler;
            mem_id = s->id;
        } else {
            if (!value) return CL_INVALID_ARG_VALUE;
            size_t expected = type_size(arg.type_name);
            if (expected && size != expected) return CL_INVALID_ARG_SIZE;
        }
        for (Connection* conn : k->program->context->parts)
            conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                auto bytes = kind == wire::ArgKind::Value
                                 ? fbb.CreateVector(static_cast<const uint8_t*>(value), size)
                                 : 0;
                return body(wire::CreateSetKernelArg(fbb, k->id, index, kind, bytes, mem_id,
                                                     kind == wire::ArgKind::Local ? size : 0));
            });
        std::lock_guard lock(k->mutex);
        k->arg_set[index] = true;
        k->arg_mems[index] =
            kind == wire::ArgKind::Mem
                ? static_cast<const void*>(value ? *static_cast<const cl_mem*>(value) : nullptr)
                : nullptr;
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clGetKernelInfo(cl_kernel kernel, cl_kernel_info param, size_t size,
                                        void* value, size_t* size_ret) {
    Kernel* k = checked<Kernel>(kernel);
    if (!k) return CL_INVALID_KERNEL;
    switch (param) {
    case CL_KERNEL_FUNCTION_NAME:
        return info_string(k->desc.name, size, value, size_ret);
    case CL_KERNEL_NUM_ARGS:
        return info_value(static_cast<cl_uint>(k->desc.args.size()), size, value, size_ret);
    case CL_KERNEL_REFERENCE_COUNT:
        return info_value(k->refs.load(), size, value, size_ret);
    case CL_KERNEL_CONTEXT:
        return info_value(static_cast<cl_context>(k->program->context), size, value, size_ret);
    case CL_KERNEL_PROGRAM:
        return info_value(static_cast<cl_program>(k->program), size, value, size_ret);
    case CL_KERNEL_ATTRIBUTES:
        return info_string(k->desc.attributes, size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL rgpu_clGetKernelWorkGroupInfo(cl_kernel kernel, cl_device_id device,
                                                 cl_kernel_work_group_info param, size_t size,
                                                 void* value, size_t* size_ret) {
    return guard([&] {
        Kernel* k = checked<Kernel>(kernel);
        if (!k) return CL_INVALID_KERNEL;
        Context* c = k->program->context;
        Device* d = device ? checked<Device>(device) : nullptr;
        if (device && (!d || !c->has(d))) return CL_INVALID_DEVICE;
        if (!d) {
            if (c->devices.size() != 1) return CL_INVALID_DEVICE;
            d = c->devices.front();
        }
        return remote_info_value(d->connection, wire::InfoKind::KernelWorkGroup, k->id, param,
                                 d->index, size, value, size_ret);
    });
}

cl_int CL_API_CALL rgpu_clGetKernelArgInfo(cl_kernel kernel, cl_uint index,
                                           cl_kernel_arg_info param, size_t size, void* value,
                                           size_t* size_ret) {
    Kernel* k = checked<Kernel>(kernel);
    if (!k) return CL_INVALID_KERNEL;
    if (index >= k->desc.args.size()) return CL_INVALID_ARG_INDEX;
    const KernelArgDesc& arg = k->desc.args[index];
    if (arg.address == 0) return CL_KERNEL_ARG_INFO_NOT_AVAILABLE;
    switch (param) {
    case CL_KERNEL_ARG_ADDRESS_QUALIFIER:
        return info_value(arg.address, size, value, size_ret);
    case CL_KERNEL_ARG_ACCESS_QUALIFIER:
        return info_value(arg.access, size, value, size_ret);
    case CL_KERNEL_ARG_TYPE_QUALIFIER:
        return info_value(arg.type_qualifier, size, value, size_ret);
    case CL_KERNEL_ARG_TYPE_NAME:
        return info_string(arg.type_name, size, value, size_ret);
    case CL_KERNEL_ARG_NAME:
        return info_string(arg.name, size, value, size_ret);
    default:
        return CL_INVALID_VALUE;
    }
}

cl_int CL_API_CALL rgpu_clEnqueueNDRangeKernel(cl_command_queue queue, cl_kernel kernel,
                                               cl_uint work_dim, const size_t* global_offset,
                                               const size_t* global_size, const size_t* local_size,
                                               cl_uint num_events, const cl_event* wait_list,
                                               cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        Kernel* k = checked<Kernel>(kernel);
        if (!k) return CL_INVALID_KERNEL;
        if (k->program->context != q->context) return CL_INVALID_CONTEXT;
        if (work_dim < 1 || work_dim > 3) return CL_INVALID_WORK_DIMENSION;
        // Since OpenCL 2.1 a NULL or zero global size is a no-op that still honours its wait
        // list and event.
        bool empty = !global_size;
        for (cl_uint i = 0; !empty && i < work_dim; ++i)
            empty = global_size[i] == 0;
        const Device* d = q->device;
        size_t group = 1;
        for (cl_uint i = 0; !empty && local_size && i < work_dim; ++i) {
            if (local_size[i] == 0) return CL_INVALID_WORK_GROUP_SIZE;
            if (i < d->max_work_item_sizes.size() && local_size[i] > d->max_work_item_sizes[i])
                return CL_INVALID_WORK_ITEM_SIZE;
            if (global_size[i] % local_size[i]) return CL_INVALID_WORK_GROUP_SIZE;
            group *= local_size[i];
        }
        if (!empty && local_size && d->max_work_group_size && group > d->max_work_group_size)
            return CL_INVALID_WORK_GROUP_SIZE;
        // The kernel's own limits, from its build: checked here so that the error comes from
        // this call, as it does natively, not later from the daemon.
        const KernelDesc& desc = k->desc;
        if (!empty && local_size && desc.work_group_size && group > desc.work_group_size)
            return CL_INVALID_WORK_GROUP_SIZE;
        if (!empty && local_size && desc.compile_work_group_size[0] != 0)
            for (cl_uint i = 0; i < 3; ++i)
                if ((i < work_dim ? local_size[i] : 1) != desc.compile_work_group_size[i])
                    return CL_INVALID_WORK_GROUP_SIZE;
        // No local size for a kernel declared with reqd_work_group_size: OpenCL 1.2's rule, which
        // the POCL runtimes rgpu serves apply, refuses the launch at once. (OpenCL 3.0 devices
        // that run it with the required size would need this answer from the daemon.)
        if (!empty && !local_size && desc.compile_work_group_size[0] != 0)
            return CL_INVALID_WORK_GROUP_SIZE;
        std::vector<const void*> mems;
        {
            std::lock_guard lock(k->mutex);
            for (bool set : k->arg_set)
                if (!set) return CL_INVALID_KERNEL_ARGS;
            // A buffer released since it was set would be a dangling handle natively.
            for (const void* m : k->arg_mems)
                if (m && !is_live_mem(m)) return CL_INVALID_KERNEL_ARGS;
            if (q->context->spans()) mems = k->arg_mems;
        }
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        // Across daemons, each buffer argument's newest contents go where the kernel runs; a
        // buffer the kernel may write is newest there afterwards.
        for (const void* handle : mems)
            if (Mem* m =
                    handle ? checked<Mem>(static_cast<cl_mem>(const_cast<void*>(handle))) : nullptr)
                bring(q, m, (m->flags & CL_MEM_READ_ONLY) ? Access::Read : Access::Write, wait,
                      num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_NDRANGE_KERNEL) : nullptr;
        if (empty) {
            q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateMarker(fbb, q->id, e ? e->id : 0, fbb.CreateVector(wait)));
            });
            if (event) *event = e;
            return CL_SUCCESS;
        }
        uint64_t offsets[3], globals[3], locals[3];
        for (cl_uint i = 0; i < work_dim; ++i) {
            offsets[i] = global_offset ? global_offset[i] : 0;
            globals[i] = global_size[i];
            locals[i] = local_size ? local_size[i] : 0;
        }
        q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            auto off = global_offset ? fbb.CreateVector(offsets, work_dim) : 0;
            auto loc = local_size ? fbb.CreateVector(locals, work_dim) : 0;
            return body(wire::CreateNDRangeKernel(
                fbb, q->id, k->id, work_dim, off, fbb.CreateVector(globals, work_dim), loc,
                e ? e->id : 0, wait.empty() ? 0 : fbb.CreateVector(wait)));
        });
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clEnqueueTask(cl_command_queue queue, cl_kernel kernel, cl_uint num_events,
                                      const cl_event* wait_list, cl_event* event) {
    const size_t one = 1;
    return rgpu_clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &one, &one, num_events, wait_list,
                                       event);
}

} // namespace rgpu::icd
