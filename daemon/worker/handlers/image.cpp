// SPDX-License-Identifier: Apache-2.0
// Images and samplers: creation, packed writes and reads (see image.fbs), copies between images
// and buffers, fills.
#include "enqueue.h"
#include "handlers.h"
#include "staging.h"

#include <image_layout.h>

#include <algorithm>
#include <array>

namespace rgpu::daemon {
namespace {

using Triple = std::array<size_t, 3>;

/// A three-element origin or region from the wire; false if absent or of another length.
bool triple(const flatbuffers::Vector<uint64_t>* v, Triple& out) {
    if (!v || v->size() != 3) return false;
    for (size_t i = 0; i < 3; ++i)
        out[i] = v->Get(i);
    return true;
}

uint64_t packed_bytes(const Triple& region, size_t pixel) {
    // Each factor is bounded by the native checks only later: saturate instead of wrapping.
    unsigned __int128 n = static_cast<unsigned __int128>(region[0]) * region[1] * region[2] * pixel;
    return n > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(n);
}

/// Whether the box at `origin` of extent `region` lies inside the image (as the native call
/// checks; a read splits its region before that call sees it).
bool inside(const ImageShape& shape, const Triple& origin, const Triple& region) {
    Triple whole;
    shape.whole_region(whole.data());
    for (size_t i = 0; i < 3; ++i)
        if (!in_range(origin[i], region[i], whole[i])) return false;
    return true;
}

/// The image `id`, or null (with the client's error) when it is unknown or a buffer.
MemObject* find_image(ExecContext& ctx, uint64_t id) {
    auto* mem = ctx.session.objects.find<MemObject>(id);
    return mem && mem->image ? mem : nullptr;
}

} // namespace

cl_int handle_create_image(ExecContext& ctx, const wire::CreateImage& req) {
    auto& session = ctx.session;
    auto* context = session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    auto shape = ImageShape::of(req);
    if (shape->pixel_bytes == 0) return CL_INVALID_IMAGE_FORMAT_DESCRIPTOR;
    Triple whole;
    shape->whole_region(whole.data());
    const uint64_t size = packed_bytes(whole, shape->pixel_bytes);

    MemObject* parent = nullptr;
    if (req.buffer() != 0) {
        parent = session.objects.find<MemObject>(req.buffer());
        if (!parent) return ctx.fail("unknown buffer " + std::to_string(req.buffer()));
        // As the ICD answers: POCL asserts (ends the worker) on a buffer of another context.
        // Natively compared: a context id may have been released and used again.
        cl_context of = nullptr;
        clGetMemObjectInfo(parent->mem.get(), CL_MEM_CONTEXT, sizeof of, &of, nullptr);
        if (parent->image || of != context->context.get()) {
            ctx.error_message = "an image views a buffer of its own context";
            return CL_INVALID_IMAGE_DESCRIPTOR;
        }
    }
    cl_image_desc desc = shape->native_desc(parent ? parent->mem.get() : nullptr);
    desc.num_mip_levels = req.num_mip_levels();
    desc.num_samples = req.num_samples();
    cl_mem_flags flags = native_mem_flags(req.flags());
    // An image of a buffer takes no host-pointer flags (it shows what the client reports as
    // inherited from the buffer).
    if (parent) flags &= ~cl_mem_flags(CL_MEM_ALLOC_HOST_PTR);
    void* host = nullptr;
    if (req.data_frame() != 0) {
        zmq::message_t* data = ctx.frame(req.data_frame(), size);
        if (!data || parent) return ctx.fail("initial image data missing or of the wrong size");
        host = data->data();
        flags |= CL_MEM_COPY_HOST_PTR;
    }
    // An image of a buffer shares the buffer's memory: only images of their own count.
    if (!parent)
        if (cl_int err = ctx.within_quota(size, "memory objects"); err != CL_SUCCESS) return err;
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateImage(context->context.get(), flags, &shape->format, &desc, host, &err);
    if (err != CL_SUCCESS) return err;
    MemObject object{MemRef(mem), req.context(), size};
    object.image = std::move(shape);
    object.parent = req.buffer();
    if (!session.objects.insert(req.id(), std::move(object))) return ctx.insert_refused(req.id());
    if (parent)
        ++parent->children;
    else
        session.device_bytes += size;
    return CL_SUCCESS;
}

cl_int handle_write_image(ExecContext& ctx, const wire::WriteImage& req) {
    auto fail = [&](cl_int err) {
        ctx.session.write_chunks.clear();
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* mem = find_image(ctx, req.mem());
    if (!mem) return fail(ctx.fail("unknown image " + std::to_string(req.mem())));
    Triple origin, region;
    if (!triple(req.origin(), origin) || !triple(req.region(), region))
        return fail(ctx.fail("image origin and region need three values"));
    const uint64_t bytes = packed_bytes(region, mem->image->pixel_bytes);
    zmq::message_t* data = ctx.frame(req.data_frame(), bytes);
    if (!data) return fail(ctx.fail("image data frame missing or of the wrong size"));

    if (req.queue() == 0) {
        // Initial contents of a large image: written synchronously before any later command.
        cl_int err = CL_SUCCESS;
        cl_command_queue q = internal_queue(ctx, mem->context, err);
        if (err == CL_SUCCESS)
            err = clEnqueueWriteImage(q, mem->mem.get(), CL_TRUE, origin.data(), region.data(), 0,
                                      0, data->data(), 0, nullptr, nullptr);
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
    err = clEnqueueWriteImage(ctx.session.native(*queue), mem->mem.get(), CL_FALSE, origin.data(),
                              region.data(), 0, 0, source->data.data(),
                              static_cast<cl_uint>(wait.size()), wait.data(), &event);
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

cl_int handle_read_image(ExecContext& ctx, const wire::ReadImage& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return fail(ctx.fail("unknown queue " + std::to_string(req.queue())));
    auto* mem = find_image(ctx, req.mem());
    if (!mem) return fail(ctx.fail("unknown image " + std::to_string(req.mem())));
    Triple origin, region;
    if (!triple(req.origin(), origin) || !triple(req.region(), region))
        return fail(ctx.fail("image origin and region need three values"));
    if (req.chunk() < proto::kMinReadChunkBytes || req.chunk() > proto::kMaxReadChunkBytes)
        return fail(ctx.fail("read chunk size out of range"));
    const size_t pixel = mem->image->pixel_bytes;
    if (packed_bytes(region, pixel) == 0 || !inside(*mem->image, origin, region))
        return fail(CL_INVALID_VALUE);
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    if (queue->pooled) ctx.session.pool->read_on(*mem, queue->member);

    // One native read per piece (see split_region), each answered as soon as it lands (as for
    // buffers): the client places each piece by its packed offset.
    auto pieces = proto::split_region(origin.data(), region.data(), pixel, req.chunk());
    for (size_t i = 0; i < pieces.size(); ++i) {
        const auto& piece = pieces[i];
        auto record = staged_read(ctx, req.queue(), *queue, piece.offset, piece.bytes);
        cl_event event = nullptr;
        err = clEnqueueReadImage(ctx.session.native(*queue), mem->mem.get(), CL_FALSE, piece.origin,
                                 piece.region, 0, 0, record->data.data(),
                                 static_cast<cl_uint>(wait.size()), wait.data(), &event);
        if (err != CL_SUCCESS) return fail(err);
        record->native = EventRef(event);
        err = watch_command(ctx, record, i + 1 == pieces.size() ? req.event() : 0);
        if (err != CL_SUCCESS) return err;
    }
    ctx.session.mark_dirty(req.queue(), *queue);
    ctx.replied = true; // pieces answer from the I/O thread
    return CL_SUCCESS;
}

cl_int handle_copy_image(ExecContext& ctx, const wire::CopyImage& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    auto* src = find_image(ctx, req.src());
    auto* dst = find_image(ctx, req.dst());
    if (!queue || !src || !dst) return fail(ctx.fail("unknown queue or image in copy"));
    Triple src_origin, dst_origin, region;
    if (!triple(req.src_origin(), src_origin) || !triple(req.dst_origin(), dst_origin) ||
        !triple(req.region(), region))
        return fail(ctx.fail("image origins and region need three values"));
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    cl_event event = nullptr;
    err = clEnqueueCopyImage(ctx.session.native(*queue), src->mem.get(), dst->mem.get(),
                             src_origin.data(), dst_origin.data(), region.data(),
                             static_cast<cl_uint>(wait.size()), wait.data(),
                             req.event() ? &event : nullptr);
    if (err != CL_SUCCESS) return fail(err);
    ctx.session.written_by(*queue, *dst);
    return publish_event(ctx, req.queue(), *queue, req.event(), event);
}

cl_int handle_fill_image(ExecContext& ctx, const wire::FillImage& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    auto* mem = find_image(ctx, req.mem());
    if (!queue || !mem) return fail(ctx.fail("unknown queue or image in fill"));
    Triple origin, region;
    if (!triple(req.origin(), origin) || !triple(req.region(), region))
        return fail(ctx.fail("image origin and region need three values"));
    // The native call reads four channels of 32 bits, whatever the format.
    if (!req.color() || req.color()->size() != 16) return fail(ctx.fail("fill color of 16 bytes"));
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    cl_event event = nullptr;
    err = clEnqueueFillImage(ctx.session.native(*queue), mem->mem.get(), req.color()->data(),
                             origin.data(), region.data(), static_cast<cl_uint>(wait.size()),
                             wait.data(), req.event() ? &event : nullptr);
    if (err != CL_SUCCESS) return fail(err);
    ctx.session.written_by(*queue, *mem);
    return publish_event(ctx, req.queue(), *queue, req.event(), event);
}

cl_int handle_copy_image_buffer(ExecContext& ctx, const wire::CopyImageBuffer& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    auto* image = find_image(ctx, req.image());
    auto* buffer = ctx.session.objects.find<MemObject>(req.buffer());
    if (!queue || !image || !buffer || buffer->image)
        return fail(ctx.fail("unknown queue, image or buffer in copy"));
    Triple origin, region;
    if (!triple(req.origin(), origin) || !triple(req.region(), region))
        return fail(ctx.fail("image origin and region need three values"));
    std::vector<cl_event> wait;
    cl_int err = resolve_wait_list(ctx, req.wait(), wait);
    if (err != CL_SUCCESS) return fail(err);
    cl_event event = nullptr;
    cl_command_queue q = ctx.session.native(*queue);
    cl_mem native_buffer = buffer->mem.get();
    size_t offset = req.offset();
    if (buffer->parent != 0) {
        // POCL 3.1 crashes copying between an image and a sub-buffer: copy to the same bytes of
        // the sub-buffer's own buffer, with the checks the native call makes on the sub-buffer.
        auto* root = ctx.session.objects.find<MemObject>(buffer->parent);
        cl_device_id device = nullptr;
        cl_uint align_bits = 0;
        clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof device, &device, nullptr);
        clGetDeviceInfo(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits,
                        nullptr);
        const uint64_t bytes = packed_bytes(region, image->image->pixel_bytes);
        if (!root) return fail(ctx.fail("a sub-buffer without its buffer"));
        if (align_bits >= 8 && buffer->origin % (align_bits / 8) != 0)
            return fail(CL_MISALIGNED_SUB_BUFFER_OFFSET);
        if (!in_range(offset, bytes, buffer->size)) return fail(CL_INVALID_VALUE);
        native_buffer = root->mem.get();
        offset += buffer->origin;
    }
    auto n = static_cast<cl_uint>(wait.size());
    cl_event* out = req.event() ? &event : nullptr;
    if (req.to_buffer())
        err = clEnqueueCopyImageToBuffer(q, image->mem.get(), native_buffer, origin.data(),
                                         region.data(), offset, n, wait.data(), out);
    else
        err = clEnqueueCopyBufferToImage(q, native_buffer, image->mem.get(), offset, origin.data(),
                                         region.data(), n, wait.data(), out);
    if (err != CL_SUCCESS) return fail(err);
    ctx.session.written_by(*queue, req.to_buffer() ? *buffer : *image);
    return publish_event(ctx, req.queue(), *queue, req.event(), event);
}

cl_int handle_create_sampler(ExecContext& ctx, const wire::CreateSampler& req) {
    auto* context = ctx.session.objects.find<ContextObject>(req.context());
    if (!context) return ctx.fail("unknown context " + std::to_string(req.context()));
    cl_int err = CL_SUCCESS;
    cl_sampler sampler = clCreateSampler(context->context.get(), req.normalized_coords(),
                                         req.addressing_mode(), req.filter_mode(), &err);
    if (err != CL_SUCCESS) return err;
    SamplerObject object{SamplerRef(sampler), req.context(), req.normalized_coords(),
                         req.addressing_mode(), req.filter_mode()};
    if (!ctx.session.objects.insert(req.id(), std::move(object)))
        return ctx.insert_refused(req.id());
    return CL_SUCCESS;
}

} // namespace rgpu::daemon
