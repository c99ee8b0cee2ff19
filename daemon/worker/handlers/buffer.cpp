// SPDX-License-Identifier: Apache-2.0
// Buffers: creation, chunked writes, chunked reads answered with bulk frames, copy and fill.
#include "enqueue.h"
#include "handlers.h"
#include "staging.h"

#include <algorithm>

namespace rgpu::daemon {

namespace {

/// A buffer over SVM memory (CL_MEM_USE_HOST_PTR of an SVM address): it is that memory, so it
/// takes none of the quota and keeps the allocation alive.
cl_int create_svm_buffer(ExecContext& ctx, const wire::CreateBuffer& req, ContextObject& context,
                         cl_mem_flags flags) {
    SvmObject* svm = ctx.session.svm_at(req.svm_address(), req.size());
    if (!svm || req.data_frame() != 0)
        return ctx.fail("a buffer over SVM memory outside the session's allocations");
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(context.context.get(), flags | CL_MEM_USE_HOST_PTR, req.size(),
                                reinterpret_cast<void*>(req.svm_address()), &err);
    if (err != CL_SUCCESS) return err;
    MemObject object{MemRef(mem), req.context(), req.size()};
    object.svm = svm->memory;
    if (!ctx.session.objects.insert(req.id(), std::move(object)))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

/// What a transfer touches: a buffer, or SVM memory (`mem` null, `svm` the allocation, `offset`
/// then an address in it). Null when the request names neither, with the reason in ctx.
struct TransferTarget {
    MemObject* mem = nullptr;
    SvmObject* svm = nullptr;
    explicit operator bool() const { return mem || svm; }
};

template <class Request>
TransferTarget transfer_target(ExecContext& ctx, const Request& req, cl_int& err) {
    TransferTarget target;
    if (req.svm()) {
        target.svm = ctx.session.svm_at(req.offset(), req.size());
        if (!target.svm) {
            ctx.error_message = "the range is not inside one of the session's SVM allocations";
            err = CL_INVALID_VALUE;
        }
        return target;
    }
    target.mem = ctx.session.objects.find<MemObject>(req.mem());
    if (!target.mem)
        err = ctx.fail("unknown buffer " + std::to_string(req.mem()));
    else if (!in_range(req.offset(), req.size(), target.mem->size))
        err = CL_INVALID_VALUE;
    if (err != CL_SUCCESS) target.mem = nullptr;
    return target;
}

void* address(uint64_t value) {
    return reinterpret_cast<void*>(value);
}

} // namespace

cl_int handle_create_buffer(ExecContext& ctx, const wire::CreateBuffer& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    cl_mem_flags flags = native_mem_flags(req.flags());
    void* host = nullptr;
    if (req.data_frame() != 0) {
        zmq::message_t* data = ctx.frame(req.data_frame(), req.size());
        if (!data) return ctx.fail("initial data frame missing or of the wrong size");
        host = data->data();
        flags |= CL_MEM_COPY_HOST_PTR;
    }
    auto& session = ctx.session;
    if (req.svm_address() != 0) return create_svm_buffer(ctx, req, *context, flags);
    if (cl_int err = ctx.within_quota(req.size(), "buffers"); err != CL_SUCCESS) return err;
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(context->context.get(), flags, req.size(), host, &err);
    if (err != CL_SUCCESS) return err;
    if (!session.objects.insert(req.id(), MemObject{MemRef(mem), req.context(), req.size()}))
        return ctx.insert_refused(req.id());
    session.device_bytes += req.size();
    return CL_SUCCESS;
}

cl_int handle_create_sub_buffer(ExecContext& ctx, const wire::CreateSubBuffer& req) {
    auto* parent = ctx.session.objects.find<MemObject>(req.parent());
    if (!parent) return ctx.fail("unknown buffer " + std::to_string(req.parent()));
    if (parent->parent != 0) return CL_INVALID_MEM_OBJECT;
    cl_buffer_region region{req.origin(), req.size()};
    cl_int err = CL_SUCCESS;
    // Shares its parent's memory: nothing counts against the quota.
    cl_mem mem = clCreateSubBuffer(parent->mem.get(), native_mem_flags(req.flags()),
                                   CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS) return err;
    MemObject object{MemRef(mem), parent->context, req.size()};
    object.parent = req.parent();
    object.origin = req.origin();
    if (!ctx.session.objects.insert(req.id(), std::move(object)))
        return ctx.insert_refused(req.id());
    ++parent->children;
    return CL_SUCCESS;
}

cl_int handle_write_buffer(ExecContext& ctx, const wire::WriteBuffer& req) {
    auto fail = [&](cl_int err) {
        ctx.session.write_chunks.clear();
        fail_event(ctx, req.event(), err);
        return err;
    };
    cl_int bad = CL_SUCCESS;
    TransferTarget target = transfer_target(ctx, req, bad);
    if (!target) return fail(bad);
    MemObject* mem = target.mem;
    zmq::message_t* data = ctx.frame(req.data_frame(), req.size());
    if (!data) return fail(ctx.fail("write data frame missing or of the wrong size"));

    if (req.queue() == 0) {
        if (!mem) return fail(ctx.fail("SVM memory has no initial contents"));
        // Initial contents of a large buffer: written synchronously before any later command.
        cl_int err = CL_SUCCESS;
        cl_command_queue q = internal_queue(ctx, mem->context, err);
        if (err == CL_SUCCESS)
            err = clEnqueueWriteBuffer(q, mem->mem.get(), CL_TRUE, req.offset(), req.size(),
                                       data->data(), 0, nullptr, nullptr);
        return err == CL_SUCCESS ? err : fail(err);
    }

    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return fail(ctx.fail("unknown queue " + std::to_string(req.queue())));
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    if (req.last_chunk())
        for (auto& chunk : ctx.session.write_chunks)
            wait.push_back(chunk.get());

    auto source = hold_write(ctx, std::move(*data));
    cl_event event = nullptr;
    if (mem)
        err = clEnqueueWriteBuffer(ctx.session.native(*queue), mem->mem.get(), CL_FALSE,
                                   req.offset(), req.size(), source->data.data(),
                                   static_cast<cl_uint>(wait.size()), wait.data(), &event);
    else
        err = clEnqueueSVMMemcpy(ctx.session.native(*queue), CL_FALSE, address(req.offset()),
                                 source->data.data(), req.size(), static_cast<cl_uint>(wait.size()),
                                 wait.data(), &event);
    if (err != CL_SUCCESS) return fail(err);
    if (mem) ctx.session.written_by(*queue, *mem);
    auto keep = both(std::move(source), target.svm ? target.svm->memory : nullptr);
    if (!req.last_chunk()) {
        clRetainEvent(event);
        ctx.session.write_chunks.emplace_back(event);
        return publish_event(ctx, req.queue(), *queue, 0, event, std::move(keep));
    }
    ctx.session.write_chunks.clear();
    return publish_event(ctx, req.queue(), *queue, req.event(), event, std::move(keep));
}

cl_int handle_read_buffer(ExecContext& ctx, const wire::ReadBuffer& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return fail(ctx.fail("unknown queue " + std::to_string(req.queue())));
    cl_int bad = CL_SUCCESS;
    TransferTarget target = transfer_target(ctx, req, bad);
    if (!target) return fail(bad);
    MemObject* mem = target.mem;
    if (req.size() == 0) return fail(CL_INVALID_VALUE);
    if (req.chunk() < proto::kMinReadChunkBytes || req.chunk() > proto::kMaxReadChunkBytes)
        return fail(ctx.fail("read chunk size out of range"));
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    if (queue->pooled && mem) ctx.session.pool->read_on(*mem, queue->member);

    // One native read per chunk, each answered as soon as it lands, so the client copies
    // chunk i while chunk i+1 is still on the wire.
    for (uint64_t done = 0; done < req.size();) {
        uint64_t n = std::min<uint64_t>(req.chunk(), req.size() - done);
        bool last = done + n == req.size();
        auto record = staged_read(ctx, req.queue(), *queue, done, n);
        cl_event event = nullptr;
        if (mem) {
            err = clEnqueueReadBuffer(ctx.session.native(*queue), mem->mem.get(), CL_FALSE,
                                      req.offset() + done, n, record->data.data(),
                                      static_cast<cl_uint>(wait.size()), wait.data(), &event);
        } else {
            err = clEnqueueSVMMemcpy(ctx.session.native(*queue), CL_FALSE, record->data.data(),
                                     address(req.offset() + done), n,
                                     static_cast<cl_uint>(wait.size()), wait.data(), &event);
            record->source = target.svm->memory;
        }
        if (err != CL_SUCCESS) return fail(err);
        record->native = EventRef(event);
        err = watch_command(ctx, record, last ? req.event() : 0);
        if (err != CL_SUCCESS) return err;
        done += n;
    }
    ctx.session.mark_dirty(req.queue(), *queue);
    ctx.replied = true; // chunks answer from the I/O thread
    return CL_SUCCESS;
}

cl_int handle_copy_buffer(ExecContext& ctx, const wire::CopyBuffer& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    auto* src = ctx.session.objects.find<MemObject>(req.src());
    auto* dst = ctx.session.objects.find<MemObject>(req.dst());
    if (!queue || !src || !dst) return fail(ctx.fail("unknown queue or buffer in copy"));
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    cl_event event = nullptr;
    err = clEnqueueCopyBuffer(ctx.session.native(*queue), src->mem.get(), dst->mem.get(),
                              req.src_offset(), req.dst_offset(), req.size(),
                              static_cast<cl_uint>(wait.size()), wait.data(),
                              req.event() ? &event : nullptr);
    if (err != CL_SUCCESS) return fail(err);
    ctx.session.written_by(*queue, *dst);
    return publish_event(ctx, req.queue(), *queue, req.event(), event);
}

cl_int handle_fill_buffer(ExecContext& ctx, const wire::FillBuffer& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return fail(ctx.fail("unknown queue in fill"));
    if (req.svm()) {
        // The buffer path leaves the range to the native call; SVM memory has no size there.
        if (!ctx.session.svm_at(req.offset(), req.size())) {
            ctx.error_message = "the range is not inside one of the session's SVM allocations";
            return fail(CL_INVALID_VALUE);
        }
    }
    SvmObject* svm = req.svm() ? ctx.session.svm_at(req.offset(), req.size()) : nullptr;
    auto* mem = req.svm() ? nullptr : ctx.session.objects.find<MemObject>(req.mem());
    if (!req.svm() && !mem) return fail(ctx.fail("unknown buffer in fill"));
    if (!req.pattern() || req.pattern()->size() == 0) return fail(CL_INVALID_VALUE);
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    cl_event event = nullptr;
    if (mem)
        err = clEnqueueFillBuffer(ctx.session.native(*queue), mem->mem.get(), req.pattern()->data(),
                                  req.pattern()->size(), req.offset(), req.size(),
                                  static_cast<cl_uint>(wait.size()), wait.data(),
                                  req.event() ? &event : nullptr);
    else
        // Always with an event: the memory is kept allocated until the fill completes.
        err = clEnqueueSVMMemFill(ctx.session.native(*queue), address(req.offset()),
                                  req.pattern()->data(), req.pattern()->size(), req.size(),
                                  static_cast<cl_uint>(wait.size()), wait.data(), &event);
    if (err != CL_SUCCESS) return fail(err);
    if (mem) ctx.session.written_by(*queue, *mem);
    return publish_event(ctx, req.queue(), *queue, req.event(), event, svm ? svm->memory : nullptr);
}

} // namespace rgpu::daemon
