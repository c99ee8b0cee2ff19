// SPDX-License-Identifier: Apache-2.0
// Kernels: creation, arguments and NDRange launches.
#include "enqueue.h"
#include "handlers.h"

#include "../pool_queue.h"

#include <algorithm>
#include <array>

#include <string_view>

namespace rgpu::daemon {

namespace {
std::vector<ArgClass> classify_kernel_args(cl_kernel kernel) {
    cl_uint count = 0;
    clGetKernelInfo(kernel, CL_KERNEL_NUM_ARGS, sizeof count, &count, nullptr);
    std::vector<ArgClass> out(count, ArgClass::Unknown);
    for (cl_uint i = 0; i < count; ++i) {
        cl_kernel_arg_address_qualifier address = 0;
        if (clGetKernelArgInfo(kernel, i, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof address, &address,
                               nullptr) != CL_SUCCESS)
            continue;
        char type[64] = {0};
        clGetKernelArgInfo(kernel, i, CL_KERNEL_ARG_TYPE_NAME, sizeof type - 1, type, nullptr);
        if (address == CL_KERNEL_ARG_ADDRESS_LOCAL)
            out[i] = ArgClass::Local;
        else if (address == CL_KERNEL_ARG_ADDRESS_GLOBAL ||
                 address == CL_KERNEL_ARG_ADDRESS_CONSTANT)
            out[i] = ArgClass::Pointer;
        else if (std::string_view(type) == "sampler_t" ||
                 std::string_view(type).find("queue_t") != std::string_view::npos)
            out[i] = ArgClass::Handle;
        else
            out[i] = ArgClass::Value;
    }
    return out;
}
} // namespace

KernelObject kernel_object(cl_kernel kernel, uint64_t program) {
    KernelObject object;
    object.kernel = KernelRef(kernel);
    object.program = program;
    object.args = classify_kernel_args(kernel);
    object.arg_mems.assign(object.args.size(), 0);
    object.saved_args.resize(object.args.size());
    return object;
}

cl_int handle_create_kernel(ExecContext& ctx, const wire::CreateKernel& req) {
    auto* program = ctx.session.objects.find<ProgramObject>(req.program());
    if (!program) return ctx.fail("unknown program " + std::to_string(req.program()));
    if (!req.name()) return CL_INVALID_VALUE;
    cl_int err = CL_SUCCESS;
    cl_kernel kernel = clCreateKernel(program->program.get(), req.name()->c_str(), &err);
    if (err != CL_SUCCESS) return err;
    if (!ctx.session.objects.insert(req.id(), kernel_object(kernel, req.program())))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

namespace {
/// Called after the native clSetKernelArg accepted `index`, so it is below the argument count.
void remember_mem(KernelObject& kernel, uint32_t index, uint64_t mem) {
    if (index < kernel.arg_mems.size()) kernel.arg_mems[index] = mem;
}
} // namespace

cl_int handle_clone_kernel(ExecContext& ctx, const wire::CloneKernel& req) {
    auto* source = ctx.session.objects.find<KernelObject>(req.source());
    if (!source) return ctx.fail("unknown kernel " + std::to_string(req.source()));
    auto* program = ctx.session.objects.find<ProgramObject>(source->program);
    if (!program) return ctx.fail("kernel without its program");
    // A new kernel of the same function with the recorded arguments set again: what
    // clCloneKernel does, which POCL 3.1 cannot do for a kernel with a NULL buffer argument
    // (it crashes).
    char name[256] = {0};
    clGetKernelInfo(source->kernel.get(), CL_KERNEL_FUNCTION_NAME, sizeof name - 1, name, nullptr);
    cl_int err = CL_SUCCESS;
    cl_kernel clone = clCreateKernel(program->program.get(), name, &err);
    if (err != CL_SUCCESS) return err;
    KernelRef ref(clone);
    for (cl_uint i = 0; i < source->saved_args.size(); ++i) {
        const SavedArg& arg = source->saved_args[i];
        cl_mem mem = nullptr;
        cl_sampler sampler = nullptr;
        if (arg.kind == SavedArg::Kind::Mem) {
            auto* buffer = ctx.session.objects.find<MemObject>(arg.mem);
            if (!buffer) continue; // released since: a launch of the clone is refused anyway
            mem = buffer->mem.get();
        } else if (arg.kind == SavedArg::Kind::Sampler) {
            auto* s = ctx.session.objects.find<SamplerObject>(arg.mem);
            if (!s) continue;
            sampler = s->sampler.get();
        }
        if ((err = set_saved_arg(clone, i, arg, mem, sampler)) != CL_SUCCESS) return err;
    }
    if ((err = source->exec_info.apply(clone)) != CL_SUCCESS) return err;
    // The daemon's record of them (launch checks, checkpoints) is copied with them.
    KernelObject object;
    object.kernel = std::move(ref);
    object.program = source->program;
    object.args = source->args;
    object.arg_mems = source->arg_mems;
    object.saved_args = source->saved_args;
    object.exec_info = source->exec_info;
    if (!ctx.session.objects.insert(req.id(), std::move(object)))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

namespace {
cl_int set_kernel_arg(ExecContext& ctx, const wire::SetKernelArg& req);
} // namespace

cl_int handle_set_kernel_arg(ExecContext& ctx, const wire::SetKernelArg& req) {
    cl_int status = set_kernel_arg(ctx, req);
    auto* kernel = ctx.session.objects.find<KernelObject>(req.kernel());
    if (status != CL_SUCCESS || !kernel || req.index() >= kernel->saved_args.size()) return status;
    // Kept for checkpoints: the native kernel cannot be asked for its arguments.
    SavedArg& saved = kernel->saved_args[req.index()];
    saved = SavedArg{};
    switch (req.kind()) {
    case wire::ArgKind::Value:
        saved.kind = SavedArg::Kind::Value;
        saved.value.assign(req.value()->begin(), req.value()->end());
        break;
    case wire::ArgKind::Mem:
        saved.kind = SavedArg::Kind::Mem;
        saved.mem = req.mem();
        break;
    case wire::ArgKind::NullMem:
        saved.kind = SavedArg::Kind::NullMem;
        break;
    case wire::ArgKind::Local:
        saved.kind = SavedArg::Kind::Local;
        saved.local_size = req.local_size();
        break;
    case wire::ArgKind::Sampler:
        saved.kind = SavedArg::Kind::Sampler;
        saved.mem = req.mem();
        break;
    case wire::ArgKind::SvmPointer:
        saved.kind = SavedArg::Kind::SvmPointer;
        saved.address = req.address();
        break;
    default:
        break;
    }
    return status;
}

namespace {
cl_int set_kernel_arg(ExecContext& ctx, const wire::SetKernelArg& req) {
    auto* kernel = ctx.session.objects.find<KernelObject>(req.kernel());
    if (!kernel) return ctx.fail("unknown kernel " + std::to_string(req.kernel()));
    cl_kernel k = kernel->kernel.get();
    // Bytes where the device expects a handle would be dereferenced natively: never pass them.
    ArgClass cls =
        req.index() < kernel->args.size() ? kernel->args[req.index()] : ArgClass::Unknown;
    bool mismatch = false;
    switch (req.kind()) {
    case wire::ArgKind::Value:
        mismatch = cls == ArgClass::Pointer || cls == ArgClass::Handle || cls == ArgClass::Local;
        break;
    case wire::ArgKind::Mem:
    case wire::ArgKind::NullMem:
    case wire::ArgKind::SvmPointer:
        mismatch = cls == ArgClass::Value || cls == ArgClass::Local || cls == ArgClass::Handle;
        break;
    case wire::ArgKind::Local:
        mismatch = cls != ArgClass::Local && cls != ArgClass::Unknown;
        break;
    case wire::ArgKind::Sampler:
        mismatch = cls != ArgClass::Handle && cls != ArgClass::Unknown;
        break;
    default:
        break;
    }
    if (mismatch) return CL_INVALID_ARG_VALUE;
    switch (req.kind()) {
    case wire::ArgKind::Value:
        if (!req.value()) return CL_INVALID_ARG_VALUE;
        remember_mem(*kernel, req.index(), 0);
        return clSetKernelArg(k, req.index(), req.value()->size(), req.value()->data());
    case wire::ArgKind::Mem: {
        auto* mem = ctx.session.objects.find<MemObject>(req.mem());
        if (!mem) return CL_INVALID_MEM_OBJECT;
        cl_mem m = mem->mem.get();
        cl_int err = clSetKernelArg(k, req.index(), sizeof m, &m);
        if (err == CL_SUCCESS) remember_mem(*kernel, req.index(), req.mem());
        return err;
    }
    case wire::ArgKind::Local: {
        // Some runtimes abort on a __local size beyond the device's (POCL does at launch).
        cl_ulong most = 0;
        for (const auto& d : ctx.session.devices) {
            cl_ulong size = 0;
            clGetDeviceInfo(d.device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof size, &size, nullptr);
            most = std::max(most, size);
        }
        if (req.local_size() == 0 || req.local_size() > most)
            return req.local_size() ? CL_MAX_SIZE_RESTRICTION_EXCEEDED : CL_INVALID_ARG_SIZE;
        cl_int err = clSetKernelArg(k, req.index(), req.local_size(), nullptr);
        if (err == CL_SUCCESS) remember_mem(*kernel, req.index(), 0);
        return err;
    }
    case wire::ArgKind::NullMem:
        remember_mem(*kernel, req.index(), 0);
        return clSetKernelArg(k, req.index(), sizeof(cl_mem), nullptr);
    case wire::ArgKind::Sampler: {
        auto* sampler = ctx.session.objects.find<SamplerObject>(req.mem());
        if (!sampler) return CL_INVALID_SAMPLER;
        cl_sampler s = sampler->sampler.get();
        cl_int err = clSetKernelArg(k, req.index(), sizeof s, &s);
        // Checked at launch like a buffer: the native kernel would hold a released sampler.
        if (err == CL_SUCCESS) remember_mem(*kernel, req.index(), req.mem());
        return err;
    }
    case wire::ArgKind::SvmPointer: {
        // Null, or into (or just past) one of the session's allocations, as the specification
        // allows: the kernel dereferences it.
        if (req.address() != 0 && !ctx.session.svm_at(req.address(), 0))
            return CL_INVALID_ARG_VALUE;
        remember_mem(*kernel, req.index(), 0);
        return clSetKernelArgSVMPointer(k, req.index(), reinterpret_cast<void*>(req.address()));
    }
    default:
        return ctx.fail("unknown argument kind");
    }
}

} // namespace

namespace {

std::string kernel_name(cl_kernel kernel) {
    char name[256] = {0};
    clGetKernelInfo(kernel, CL_KERNEL_FUNCTION_NAME, sizeof name - 1, name, nullptr);
    return name;
}

/// The buffers a launch of `kernel` uses (each once).
std::vector<MemObject*> launch_buffers(Session& session, const KernelObject& kernel) {
    std::vector<MemObject*> out;
    for (uint64_t id : kernel.arg_mems)
        if (auto* mem = id ? session.objects.find<MemObject>(id) : nullptr;
            mem && std::find(out.begin(), out.end(), mem) == out.end())
            out.push_back(mem);
    return out;
}

/// A launch on the pooled device: placed on a member (per launch, or where its queue is), then
/// handed to that member's thread, which enqueues it (with the buffers whose newest contents are
/// on another member migrated first). The executor goes on meanwhile: on runtimes that run a
/// command inside clEnqueue* (POCL's basic device) members run in parallel. The kernel's
/// arguments are taken now, as the launch's own.
cl_int launch_on_member(ExecContext& ctx, const wire::NDRangeKernel& req, QueueObject& queue,
                        KernelObject& kernel, uint32_t dims, const size_t* offset,
                        const size_t* global, const size_t* local) {
    Session& session = ctx.session;
    DevicePool& pool = *session.pool;
    std::vector<cl_event> wait;
    std::vector<std::shared_ptr<DeferredEvent>> deferred;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait, &deferred);
    if (err != CL_SUCCESS) return err;
    auto buffers = launch_buffers(session, kernel);
    std::string name = kernel_name(kernel.kernel.get());
    std::vector<EventRef> keep;
    if (pool.per_launch()) {
        auto* context = session.objects.find<ContextObject>(queue.context);
        if (!context) return ctx.fail("queue without its context");
        std::vector<const MemObject*> view(buffers.begin(), buffers.end());
        err = switch_member(session, *context, queue, pool.place_launch(name, view), wait, keep);
        if (err != CL_SUCCESS) return err;
    }
    const uint32_t member = queue.member;
    // The member's own kernel gets the arguments as they are now. (clCloneKernel would do, but
    // POCL 3.1 crashes cloning a kernel with a NULL buffer argument.)
    kernel.member_kernels.resize(pool.size());
    if (!kernel.member_kernels[member]) {
        auto* program = session.objects.find<ProgramObject>(kernel.program);
        if (!program) return ctx.fail("kernel without its program");
        cl_kernel made = clCreateKernel(program->program.get(), name.c_str(), &err);
        if (err != CL_SUCCESS) return err;
        kernel.member_kernels[member] = KernelRef(made);
    }
    std::vector<SavedArg> args = kernel.saved_args;
    std::vector<cl_mem> arg_mems(args.size(), nullptr);
    std::vector<cl_sampler> arg_samplers(args.size(), nullptr);
    for (size_t i = 0; i < args.size(); ++i)
        if (args[i].kind == SavedArg::Kind::Mem) {
            auto* mem = session.objects.find<MemObject>(args[i].mem);
            if (!mem) return CL_INVALID_KERNEL_ARGS; // checked by the caller already
            arg_mems[i] = mem->mem.get();
        } else if (args[i].kind == SavedArg::Kind::Sampler) {
            auto* sampler = session.objects.find<SamplerObject>(args[i].mem);
            if (!sampler) return CL_INVALID_KERNEL_ARGS;
            arg_samplers[i] = sampler->sampler.get();
        }
    // From here on nothing fails: what the member thread uses is retained for it.
    cl_kernel member_kernel = kernel.member_kernels[member].get();
    clRetainKernel(member_kernel);
    for (cl_mem m : arg_mems)
        if (m) clRetainMemObject(m);
    for (cl_sampler s : arg_samplers)
        if (s) clRetainSampler(s);

    // Where the contents go: migrated here unless already here; a launch writes what it may.
    std::vector<cl_mem> elsewhere;
    uint64_t migrated_bytes = 0;
    for (MemObject* mem : buffers) {
        if (mem->resident != 0 && !(mem->resident & (uint64_t{1} << member))) {
            clRetainMemObject(mem->mem.get());
            elsewhere.push_back(mem->mem.get());
            migrated_bytes += mem->size;
        }
        cl_mem_flags flags = 0;
        clGetMemObjectInfo(mem->mem.get(), CL_MEM_FLAGS, sizeof flags, &flags, nullptr);
        if (flags & CL_MEM_READ_ONLY)
            pool.read_on(*mem, member);
        else
            pool.written_on(*mem, member);
    }
    if (!elsewhere.empty()) pool.migrated(member, elsewhere.size(), migrated_bytes);

    auto event = std::make_shared<DeferredEvent>();
    auto migration = elsewhere.empty() ? nullptr : std::make_shared<DeferredEvent>();
    pool.launched(member, name, event, migration, migrated_bytes);
    uint64_t client_event = req.event();
    if (client_event != 0 &&
        !session.objects.insert(client_event, EventObject{EventRef(), false, event})) {
        // The launch runs anyway; only its event cannot be kept.
        cl_int refused = ctx.insert_refused(client_event);
        fail_event(ctx, client_event, refused == kProtocolError ? CL_OUT_OF_RESOURCES : refused);
        client_event = 0;
    }

    // Everything the member thread uses is its own: the client may release any of it meanwhile.
    for (cl_event e : wait)
        clRetainEvent(e);
    cl_command_queue native_queue = queue.queue.get();
    clRetainCommandQueue(native_queue);
    std::array<size_t, 3> offsets{}, globals{}, locals{};
    for (uint32_t i = 0; i < dims; ++i) {
        offsets[i] = offset ? offset[i] : 0;
        globals[i] = global[i];
        locals[i] = local ? local[i] : 0;
    }
    pool.thread(member).post(
        [&session, native_queue, member_kernel, args = std::move(args),
         arg_mems = std::move(arg_mems), arg_samplers = std::move(arg_samplers), dims, offsets,
         globals, locals, has_offset = offset != nullptr, has_local = local != nullptr,
         exec_info = kernel.exec_info, wait = std::move(wait), deferred = std::move(deferred),
         elsewhere = std::move(elsewhere), event, migration, client_event, queue_id = req.queue(),
         profiling = queue.profiling,
         keep = std::make_shared<std::vector<EventRef>>(std::move(keep))] {
            std::vector<cl_event> all = wait;
            cl_int status = CL_SUCCESS;
            for (cl_uint i = 0; i < args.size() && status == CL_SUCCESS; ++i)
                status = set_saved_arg(member_kernel, i, args[i], arg_mems[i], arg_samplers[i]);
            if (status == CL_SUCCESS) status = exec_info.apply(member_kernel);
            for (const auto& earlier : deferred) {
                cl_event native = earlier->wait(); // enqueued by another member's thread
                if (!native) status = CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST;
                all.push_back(native);
            }
            if (status == CL_SUCCESS && !elsewhere.empty()) {
                cl_event moved = nullptr;
                status = clEnqueueMigrateMemObjects(
                    native_queue, static_cast<cl_uint>(elsewhere.size()), elsewhere.data(), 0,
                    static_cast<cl_uint>(all.size()), all.data(), &moved);
                migration->set(status == CL_SUCCESS ? moved : nullptr, status);
                if (status == CL_SUCCESS) all.push_back(moved);
            } else if (migration) {
                migration->set(nullptr, status);
            }
            cl_event done = nullptr;
            if (status == CL_SUCCESS)
                status = clEnqueueNDRangeKernel(
                    native_queue, member_kernel, dims, has_offset ? offsets.data() : nullptr,
                    globals.data(), has_local ? locals.data() : nullptr,
                    static_cast<cl_uint>(all.size()), all.data(), &done);
            if (status == CL_SUCCESS) {
                clFlush(native_queue);
                if (client_event != 0) {
                    auto record = std::make_shared<CompletionRecord>();
                    record->session = session.id();
                    record->queue = queue_id;
                    record->profiling = profiling;
                    record->client_event = client_event;
                    clRetainEvent(done);
                    record->native = EventRef(done);
                    session.track(record);
                    session.outbox.watch(record);
                }
                event->set(done, CL_SUCCESS);
            } else {
                event->set(nullptr, status);
                if (client_event != 0)
                    session.outbox.push(Outbox::FailedEvent{session.id(), client_event, status});
            }
            for (cl_event e : wait)
                clReleaseEvent(e);
            for (cl_mem m : elsewhere)
                clReleaseMemObject(m);
            for (cl_mem m : arg_mems)
                if (m) clReleaseMemObject(m);
            for (cl_sampler s : arg_samplers)
                if (s) clReleaseSampler(s);
            clReleaseKernel(member_kernel);
            clReleaseCommandQueue(native_queue);
        });
    return CL_SUCCESS;
}

} // namespace

cl_int handle_ndrange_kernel(ExecContext& ctx, const wire::NDRangeKernel& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    auto* kernel = ctx.session.objects.find<KernelObject>(req.kernel());
    if (!queue || !kernel) return fail(ctx.fail("unknown queue or kernel in NDRange"));
    for (size_t i = 0; i < kernel->arg_mems.size(); ++i)
        if (uint64_t id = kernel->arg_mems[i]; id && !ctx.session.objects.find<MemObject>(id) &&
                                               !ctx.session.objects.find<SamplerObject>(id)) {
            ctx.error_message = "argument " + std::to_string(i) + " names released object " +
                                std::to_string(kernel->arg_mems[i]);
            return fail(CL_INVALID_KERNEL_ARGS);
        }
    uint32_t dims = req.work_dim();
    if (dims < 1 || dims > 3 || !req.global() || req.global()->size() != dims)
        return fail(CL_INVALID_WORK_DIMENSION);
    size_t global[3], offset[3], local[3];
    bool has_offset = req.offset() && req.offset()->size() == dims;
    bool has_local = req.local() && req.local()->size() == dims;
    for (uint32_t i = 0; i < dims; ++i) {
        global[i] = req.global()->Get(i);
        offset[i] = has_offset ? req.offset()->Get(i) : 0;
        local[i] = has_local ? req.local()->Get(i) : 0;
    }
    if (queue->pooled) {
        cl_int err =
            launch_on_member(ctx, req, *queue, *kernel, dims, has_offset ? offset : nullptr, global,
                             has_local ? local : nullptr);
        return err == CL_SUCCESS ? err : fail(err);
    }
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    cl_event event = nullptr;
    err = clEnqueueNDRangeKernel(queue->queue.get(), kernel->kernel.get(), dims,
                                 has_offset ? offset : nullptr, global, has_local ? local : nullptr,
                                 static_cast<cl_uint>(wait.size()), wait.data(),
                                 req.event() ? &event : nullptr);
    if (err != CL_SUCCESS) return fail(err);
    return publish_event(ctx, req.queue(), *queue, req.event(), event);
}

} // namespace rgpu::daemon
