// SPDX-License-Identifier: Apache-2.0
// Shared virtual memory: allocations, copies between them and kernel exec info. Reads, writes
// and fills of SVM memory are the buffer handlers' (their `svm` form).
#include "enqueue.h"
#include "handlers.h"

namespace rgpu::daemon {

cl_int handle_svm_alloc(ExecContext& ctx, const wire::SvmAlloc& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    // Coarse-grained buffers only: fine grain would need the client's copy to be the device's
    // memory at every moment, which no network can give.
    constexpr uint64_t kAccess = CL_MEM_READ_WRITE | CL_MEM_WRITE_ONLY | CL_MEM_READ_ONLY;
    const uint32_t alignment = req.alignment();
    if ((req.flags() & ~kAccess) != 0 || req.size() == 0 || (alignment & (alignment - 1)) != 0)
        return CL_INVALID_VALUE;
    auto& session = ctx.session;
    if (cl_int err = ctx.within_quota(req.size(), "memory"); err != CL_SUCCESS) return err;
    if (session.objects.full()) return ctx.insert_refused(req.id());
    void* pointer = clSVMAlloc(context->context.get(), req.flags(), req.size(), alignment);
    if (!pointer) return CL_MEM_OBJECT_ALLOCATION_FAILURE;
    SvmObject object{std::make_shared<SvmMemory>(context->context.get(), pointer), req.context(),
                     req.size()};
    const uint64_t address = object.address();
    if (!session.objects.insert(req.id(), std::move(object))) return ctx.insert_refused(req.id());
    session.svm_ranges[address] = req.id();
    session.note_svm_use();
    session.device_bytes += req.size();
    ctx.reply(CL_SUCCESS, wire::ReplyBody::SvmAllocated, [&](flatbuffers::FlatBufferBuilder& fbb) {
        return wire::CreateSvmAllocated(fbb, address);
    });
    return CL_SUCCESS;
}

cl_int handle_svm_copy(ExecContext& ctx, const wire::SvmCopy& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return fail(ctx.fail("unknown queue " + std::to_string(req.queue())));
    SvmObject* dst = ctx.session.svm_at(req.dst(), req.size());
    SvmObject* src = ctx.session.svm_at(req.src(), req.size());
    if (!dst || !src || req.size() == 0) {
        ctx.error_message = "the ranges are not inside the session's SVM allocations";
        return fail(CL_INVALID_VALUE);
    }
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    cl_event event = nullptr;
    // Always with an event: both allocations stay allocated until the copy completes.
    err =
        clEnqueueSVMMemcpy(ctx.session.native(*queue), CL_FALSE, reinterpret_cast<void*>(req.dst()),
                           reinterpret_cast<const void*>(req.src()), req.size(),
                           static_cast<cl_uint>(wait.size()), wait.data(), &event);
    if (err != CL_SUCCESS) return fail(err);
    return publish_event(ctx, req.queue(), *queue, req.event(), event,
                         both(dst->memory, src->memory));
}

cl_int handle_set_kernel_exec_info(ExecContext& ctx, const wire::SetKernelExecInfo& req) {
    auto* kernel = ctx.session.objects.find<KernelObject>(req.kernel());
    if (!kernel) return ctx.fail("unknown kernel " + std::to_string(req.kernel()));
    KernelExecInfo info = kernel->exec_info;
    switch (req.param()) {
    case CL_KERNEL_EXEC_INFO_SVM_PTRS:
        info.svm_pointers.clear();
        if (req.svm_pointers())
            for (uint64_t address : *req.svm_pointers()) {
                // Only the session's own memory: a kernel reaches what it is told it may.
                if (!ctx.session.svm_at(address, 0)) return CL_INVALID_VALUE;
                info.svm_pointers.push_back(reinterpret_cast<void*>(address));
            }
        info.svm_pointers_set = true;
        break;
    case CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM:
        // System SVM is never offered through rgpu, whatever the device has.
        if (req.fine_grain_system()) return CL_INVALID_OPERATION;
        info.fine_grain_system = CL_FALSE;
        info.fine_grain_system_set = true;
        break;
    default:
        return CL_INVALID_VALUE;
    }
    KernelExecInfo only_new;
    if (req.param() == CL_KERNEL_EXEC_INFO_SVM_PTRS) {
        only_new.svm_pointers = info.svm_pointers;
        only_new.svm_pointers_set = true;
    } else {
        only_new.fine_grain_system_set = true;
    }
    cl_int err = only_new.apply(kernel->kernel.get());
    if (err == CL_SUCCESS) kernel->exec_info = std::move(info);
    return err;
}

} // namespace rgpu::daemon
