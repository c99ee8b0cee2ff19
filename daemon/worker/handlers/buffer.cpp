// SPDX-License-Identifier: Apache-2.0
// Buffers: creation, chunked writes, chunked reads answered with bulk frames, copy and fill.
#include "enqueue.h"
#include "handlers.h"
#include "staging.h"

#include <algorithm>

namespace rgpu::daemon {

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
    if (req.size() > session.device_quota - std::min(session.device_bytes, session.device_quota)) {
        ctx.error_message = "the session's buffers would exceed its device memory quota of " +
                            std::to_string(session.device_quota) + " bytes";
        return CL_MEM_OBJECT_ALLOCATION_FAILURE;
    }
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
    auto* mem = ctx.session.objects.find<MemObject>(req.mem());
    if (!mem) return fail(ctx.fail("unknown buffer " + std::to_string(req.mem())));
    if (!in_range(req.offset(), req.size(), mem->size)) return fail(CL_INVALID_VALUE);
    zmq::message_t* data = ctx.frame(req.data_frame(), req.size());
    if (!data) return fail(ctx.fail("write data frame missing or of the wrong size"));

    if (req.queue() == 0) {
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
    err = clEnqueueWriteBuffer(ctx.session.native(*queue), mem->mem.get(), CL_FALSE, req.offset(),
                               req.size(), source->data.data(), static_cast<cl_uint>(wait.size()),
                               wait.data(), &event);
    if (err != CL_SUCCESS) return fail(err);
    ctx.session.written_by(*queue, *mem);
    if (!req.last_chunk()) {
        clRetainEvent(event);
        ctx.session.write_chunks.emplace_back(event);
        return publish_event(ctx, req.queue(), *queue, 0, event, std::move(source));
    }
    ctx.session.write_chunks.clear();
    return publish_event(ctx, req.queue(), *queue, req.event(), event, std::move(source));
}

cl_int handle_read_buffer(ExecContext& ctx, const wire::ReadBuffer& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return fail(ctx.fail("unknown queue " + std::to_string(req.queue())));
    auto* mem = ctx.session.objects.find<MemObject>(req.mem());
    if (!mem) return fail(ctx.fail("unknown buffer " + std::to_string(req.mem())));
    if (!in_range(req.offset(), req.size(), mem->size) || req.size() == 0)
        return fail(CL_INVALID_VALUE);
    if (req.chunk() < proto::kMinReadChunkBytes || req.chunk() > proto::kMaxReadChunkBytes)
        return fail(ctx.fail("read chunk size out of range"));
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    if (queue->pooled) ctx.session.pool->read_on(*mem, queue->member);

    // One native read per chunk, each answered as soon as it lands, so the client copies
    // chunk i while chunk i+1 is still on the wire.
    for (uint64_t done = 0; done < req.size();) {
        uint64_t n = std::min<uint64_t>(req.chunk(), req.size() - done);
        bool last = done + n == req.size();
        auto record = staged_read(ctx, req.queue(), *queue, done, n);
        cl_event event = nullptr;
        err = clEnqueueReadBuffer(ctx.session.native(*queue), mem->mem.get(), CL_FALSE,
                                  req.offset() + done, n, record->data.data(),
                                  static_cast<cl_uint>(wait.size()), wait.data(), &event);
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
    auto* mem = ctx.session.objects.find<MemObject>(req.mem());
    if (!queue || !mem) return fail(ctx.fail("unknown queue or buffer in fill"));
    if (!req.pattern() || req.pattern()->size() == 0) return fail(CL_INVALID_VALUE);
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    cl_event event = nullptr;
    err = clEnqueueFillBuffer(ctx.session.native(*queue), mem->mem.get(), req.pattern()->data(),
                              req.pattern()->size(), req.offset(), req.size(),
                              static_cast<cl_uint>(wait.size()), wait.data(),
                              req.event() ? &event : nullptr);
    if (err != CL_SUCCESS) return fail(err);
    ctx.session.written_by(*queue, *mem);
    return publish_event(ctx, req.queue(), *queue, req.event(), event);
}

} // namespace rgpu::daemon
