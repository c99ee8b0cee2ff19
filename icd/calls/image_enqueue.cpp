// SPDX-License-Identifier: Apache-2.0
// Image commands: read, write, copy, fill, copies between images and buffers, and map (emulated
// with packed reads and writes of the mapped box, like buffer maps). Unmapping is shared with
// buffers (buffer.cpp calls unmap_image).
#include "../api.h"
#include "../connection.h"
#include "../enqueue.h"
#include "../entry_points.h"
#include "../image_transfer.h"
#include "../spanning.h"

#include <cstdlib>

namespace rgpu::icd {
namespace {

Mem* checked_image(cl_mem handle) {
    Mem* m = checked<Mem>(handle);
    return m && m->image ? m : nullptr;
}

/// The box must lie inside the image (a 1D image has one row, a 2D one one slice).
cl_int check_box(const Mem* m, const size_t* origin, const size_t* region) {
    if (!origin || !region) return CL_INVALID_VALUE;
    const size_t* whole = m->image->whole;
    for (int i = 0; i < 3; ++i)
        if (region[i] == 0 || origin[i] > whole[i] || region[i] > whole[i] - origin[i])
            return CL_INVALID_VALUE;
    return CL_SUCCESS;
}

/// Host pitches of a read or write: the specification's CL_INVALID_VALUE cases.
cl_int check_pitches(const Mem* m, const size_t region[3], size_t row_pitch, size_t slice_pitch) {
    const cl_mem_object_type type = m->image->desc.image_type;
    const size_t row = region[0] * m->image->pixel;
    if (row_pitch != 0 && row_pitch < row) return CL_INVALID_VALUE;
    bool has_slices = type == CL_MEM_OBJECT_IMAGE3D || type == CL_MEM_OBJECT_IMAGE1D_ARRAY ||
                      type == CL_MEM_OBJECT_IMAGE2D_ARRAY;
    if (!has_slices && slice_pitch != 0) return CL_INVALID_VALUE;
    size_t r = row_pitch ? row_pitch : row;
    size_t least = type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? r : r * region[1];
    if (slice_pitch != 0 && slice_pitch < least) return CL_INVALID_VALUE;
    return CL_SUCCESS;
}

bool whole_image(const Mem* m, const size_t origin[3], const size_t region[3]) {
    for (int i = 0; i < 3; ++i)
        if (origin[i] != 0 || region[i] != m->image->whole[i]) return false;
    return true;
}

uint64_t packed_size(const Mem* m, const size_t region[3]) {
    return uint64_t{region[0]} * region[1] * region[2] * m->image->pixel;
}

/// The checks clEnqueueReadImage and clEnqueueWriteImage share, in the specification's order;
/// `forbidden`: the host-access flags that rule the transfer out.
cl_int check_transfer(Queue* q, Mem* m, const size_t* origin, const size_t* region,
                      size_t row_pitch, size_t slice_pitch, const void* ptr,
                      cl_mem_flags forbidden) {
    if (!q) return CL_INVALID_COMMAND_QUEUE;
    if (!m) return CL_INVALID_MEM_OBJECT;
    if (m->context != q->context) return CL_INVALID_CONTEXT;
    cl_int err = check_box(m, origin, region);
    if (err == CL_SUCCESS) err = check_pitches(m, region, row_pitch, slice_pitch);
    if (err != CL_SUCCESS) return err;
    if (!ptr) return CL_INVALID_VALUE;
    return (m->flags & forbidden) ? CL_INVALID_OPERATION : CL_SUCCESS;
}

std::vector<uint64_t> triple(const size_t v[3]) {
    return {v[0], v[1], v[2]};
}

} // namespace

cl_int CL_API_CALL rgpu_clEnqueueReadImage(cl_command_queue queue, cl_mem image, cl_bool blocking,
                                           const size_t* origin, const size_t* region,
                                           size_t row_pitch, size_t slice_pitch, void* ptr,
                                           cl_uint num_events, const cl_event* wait_list,
                                           cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        Mem* m = checked_image(image);
        cl_int err = check_transfer(q, m, origin, region, row_pitch, slice_pitch, ptr,
                                    CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS);
        if (err != CL_SUCCESS) return err;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
        bring(q, m, Access::Read, wait, num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_READ_IMAGE) : nullptr;
        HostLayout layout =
            host_layout(m->image->desc.image_type, m->image->pixel, region, row_pitch, slice_pitch);
        auto call = send_image_read(q->connection, q->id, m, origin, region, ptr, layout, e, wait);
        if (event) *event = e;
        if (!blocking) {
            q->connection->flush();
            return CL_SUCCESS;
        }
        return blocking_result(q->connection->wait(*call).status, num_events, wait_list);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueWriteImage(cl_command_queue queue, cl_mem image, cl_bool blocking,
                                            const size_t* origin, const size_t* region,
                                            size_t row_pitch, size_t slice_pitch, const void* ptr,
                                            cl_uint num_events, const cl_event* wait_list,
                                            cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        Mem* m = checked_image(image);
        cl_int err = check_transfer(q, m, origin, region, row_pitch, slice_pitch, ptr,
                                    CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS);
        if (err != CL_SUCCESS) return err;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
        bring(q, m, whole_image(m, origin, region) ? Access::Overwrite : Access::Write, wait,
              num_events, wait_list);
        Event* e = (event || blocking) ? new_command_event(q, CL_COMMAND_WRITE_IMAGE) : nullptr;
        HostLayout layout =
            host_layout(m->image->desc.image_type, m->image->pixel, region, row_pitch, slice_pitch);
        WriteSource src{ptr, WriteSource::Kind::Borrow};
        if (layout.row_bytes) {
            // Pitched rows are packed now, into memory the transport frees when sent.
            const uint64_t size = packed_size(m, region);
            std::shared_ptr<uint8_t[]> packed(new uint8_t[size]);
            gather(packed.get(), static_cast<const uint8_t*>(ptr), layout, size);
            src = {packed.get(), WriteSource::Kind::Shared, packed};
        }
        Connection* conn = q->connection;
        send_image_write(conn, q->id, m, origin, region, src, e ? e->id : 0, wait);
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

cl_int CL_API_CALL rgpu_clEnqueueCopyImage(cl_command_queue queue, cl_mem src_image,
                                           cl_mem dst_image, const size_t* src_origin,
                                           const size_t* dst_origin, const size_t* region,
                                           cl_uint num_events, const cl_event* wait_list,
                                           cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        Mem* s = checked_image(src_image);
        Mem* d = checked_image(dst_image);
        if (!s || !d) return CL_INVALID_MEM_OBJECT;
        if (s->context != q->context || d->context != q->context) return CL_INVALID_CONTEXT;
        if (s->image->format.image_channel_order != d->image->format.image_channel_order ||
            s->image->format.image_channel_data_type != d->image->format.image_channel_data_type)
            return CL_IMAGE_FORMAT_MISMATCH;
        cl_int err = check_box(s, src_origin, region);
        if (err == CL_SUCCESS) err = check_box(d, dst_origin, region);
        if (err != CL_SUCCESS) return err;
        if (s == d) {
            bool overlap = true;
            for (int i = 0; i < 3; ++i)
                if (src_origin[i] + region[i] <= dst_origin[i] ||
                    dst_origin[i] + region[i] <= src_origin[i])
                    overlap = false;
            if (overlap) return CL_MEM_COPY_OVERLAP;
        }
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
        bring(q, s, Access::Read, wait, num_events, wait_list);
        bring(q, d, whole_image(d, dst_origin, region) ? Access::Overwrite : Access::Write, wait,
              num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_COPY_IMAGE) : nullptr;
        q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateCopyImage(
                fbb, q->id, s->id, d->id, fbb.CreateVector(triple(src_origin)),
                fbb.CreateVector(triple(dst_origin)), fbb.CreateVector(triple(region)),
                e ? e->id : 0, fbb.CreateVector(wait)));
        });
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clEnqueueFillImage(cl_command_queue queue, cl_mem image,
                                           const void* fill_color, const size_t* origin,
                                           const size_t* region, cl_uint num_events,
                                           const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        Mem* m = checked_image(image);
        if (!m) return CL_INVALID_MEM_OBJECT;
        if (m->context != q->context) return CL_INVALID_CONTEXT;
        if (!fill_color) return CL_INVALID_VALUE;
        cl_int err = check_box(m, origin, region);
        if (err != CL_SUCCESS) return err;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
        bring(q, m, whole_image(m, origin, region) ? Access::Overwrite : Access::Write, wait,
              num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_FILL_IMAGE) : nullptr;
        q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            // Four channels of 32 bits whatever the format (float4, int4 or uint4).
            auto color = fbb.CreateVector(static_cast<const uint8_t*>(fill_color), 16);
            return body(wire::CreateFillImage(
                fbb, q->id, m->id, color, fbb.CreateVector(triple(origin)),
                fbb.CreateVector(triple(region)), e ? e->id : 0, fbb.CreateVector(wait)));
        });
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

namespace {

cl_int copy_image_buffer(cl_command_queue queue, cl_mem image_handle, cl_mem buffer_handle,
                         const size_t* origin, const size_t* region, size_t offset, bool to_buffer,
                         cl_uint num_events, const cl_event* wait_list, cl_event* event) {
    Queue* q = checked<Queue>(queue);
    if (!q) return CL_INVALID_COMMAND_QUEUE;
    Mem* image = checked_image(image_handle);
    Mem* buffer = checked<Mem>(buffer_handle);
    if (!image || !buffer || buffer->image) return CL_INVALID_MEM_OBJECT;
    if (image->context != q->context || buffer->context != q->context) return CL_INVALID_CONTEXT;
    cl_int err = check_box(image, origin, region);
    if (err != CL_SUCCESS) return err;
    const uint64_t bytes = packed_size(image, region);
    if (offset > buffer->size || bytes > buffer->size - offset) return CL_INVALID_VALUE;
    std::vector<uint64_t> wait;
    if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
    Mem* src = to_buffer ? image : buffer;
    Mem* dst = to_buffer ? buffer : image;
    bring(q, src, Access::Read, wait, num_events, wait_list);
    bool whole =
        to_buffer ? (offset == 0 && bytes == buffer->size) : whole_image(image, origin, region);
    bring(q, dst, whole ? Access::Overwrite : Access::Write, wait, num_events, wait_list);
    Event* e = event ? new_command_event(q, to_buffer ? CL_COMMAND_COPY_IMAGE_TO_BUFFER
                                                      : CL_COMMAND_COPY_BUFFER_TO_IMAGE)
                     : nullptr;
    q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateCopyImageBuffer(fbb, q->id, image->id, buffer->id,
                                                fbb.CreateVector(triple(origin)),
                                                fbb.CreateVector(triple(region)), offset, to_buffer,
                                                e ? e->id : 0, fbb.CreateVector(wait)));
    });
    if (event) *event = e;
    return CL_SUCCESS;
}

} // namespace

cl_int CL_API_CALL rgpu_clEnqueueCopyImageToBuffer(cl_command_queue queue, cl_mem src_image,
                                                   cl_mem dst_buffer, const size_t* src_origin,
                                                   const size_t* region, size_t dst_offset,
                                                   cl_uint num_events, const cl_event* wait_list,
                                                   cl_event* event) {
    return guard([&] {
        return copy_image_buffer(queue, src_image, dst_buffer, src_origin, region, dst_offset, true,
                                 num_events, wait_list, event);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueCopyBufferToImage(cl_command_queue queue, cl_mem src_buffer,
                                                   cl_mem dst_image, size_t src_offset,
                                                   const size_t* dst_origin, const size_t* region,
                                                   cl_uint num_events, const cl_event* wait_list,
                                                   cl_event* event) {
    return guard([&] {
        return copy_image_buffer(queue, dst_image, src_buffer, dst_origin, region, src_offset,
                                 false, num_events, wait_list, event);
    });
}

void* CL_API_CALL rgpu_clEnqueueMapImage(cl_command_queue queue, cl_mem image, cl_bool blocking,
                                         cl_map_flags flags, const size_t* origin,
                                         const size_t* region, size_t* image_row_pitch,
                                         size_t* image_slice_pitch, cl_uint num_events,
                                         const cl_event* wait_list, cl_event* event,
                                         cl_int* errcode_ret) {
    return guard_create<void*>(errcode_ret, [&](cl_int& err) -> void* {
        Queue* q = checked<Queue>(queue);
        if (!q) return err = CL_INVALID_COMMAND_QUEUE, nullptr;
        Mem* m = checked_image(image);
        if (!m) return err = CL_INVALID_MEM_OBJECT, nullptr;
        if (m->context != q->context) return err = CL_INVALID_CONTEXT, nullptr;
        if ((err = check_box(m, origin, region)) != CL_SUCCESS) return nullptr;
        const ImageShape& shape = *m->image;
        const cl_mem_object_type type = shape.desc.image_type;
        bool has_slices = type == CL_MEM_OBJECT_IMAGE3D || type == CL_MEM_OBJECT_IMAGE1D_ARRAY ||
                          type == CL_MEM_OBJECT_IMAGE2D_ARRAY;
        if (!image_row_pitch || (has_slices && !image_slice_pitch))
            return err = CL_INVALID_VALUE, nullptr;
        constexpr cl_map_flags kKnown = CL_MAP_READ | CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION;
        if ((flags & ~kKnown) ||
            ((flags & CL_MAP_WRITE_INVALIDATE_REGION) && (flags & (CL_MAP_READ | CL_MAP_WRITE))))
            return err = CL_INVALID_VALUE, nullptr;
        if ((m->flags & CL_MEM_HOST_NO_ACCESS) ||
            ((m->flags & CL_MEM_HOST_WRITE_ONLY) && (flags & CL_MAP_READ)) ||
            ((m->flags & CL_MEM_HOST_READ_ONLY) &&
             (flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION))))
            return err = CL_INVALID_OPERATION, nullptr;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return nullptr;
        Mapping map;
        map.flags = flags;
        for (int i = 0; i < 3; ++i) {
            map.origin[i] = origin[i];
            map.region[i] = region[i];
        }
        size_t row_pitch = 0, slice_pitch = 0;
        if (m->host_ptr) {
            // CL_MEM_USE_HOST_PTR: the application's own memory, at its pitches.
            row_pitch = shape.row_pitch;
            slice_pitch = shape.slice_pitch;
            size_t at =
                type == CL_MEM_OBJECT_IMAGE1D_ARRAY
                    ? origin[1] * slice_pitch + origin[0] * shape.pixel
                    : origin[2] * slice_pitch + origin[1] * row_pitch + origin[0] * shape.pixel;
            map.pointer = static_cast<uint8_t*>(m->host_ptr) + at;
            map.layout = host_layout(type, shape.pixel, region, row_pitch, slice_pitch);
        } else {
            size_t size = packed_size(m, region);
            map.pointer = std::aligned_alloc(128, (size + 127) / 128 * 128);
            if (!map.pointer) return err = CL_OUT_OF_HOST_MEMORY, nullptr;
            map.staging = true;
            row_pitch = region[0] * shape.pixel;
            slice_pitch = type == CL_MEM_OBJECT_IMAGE1D_ARRAY ? row_pitch : row_pitch * region[1];
        }
        if (!(flags & CL_MAP_WRITE_INVALIDATE_REGION))
            bring(q, m, Access::Read, wait, num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_MAP_IMAGE) : nullptr;
        if (flags & CL_MAP_WRITE_INVALIDATE_REGION) {
            q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateMarker(fbb, q->id, e ? e->id : 0, fbb.CreateVector(wait)));
            });
            q->connection->flush();
            if (blocking && e) q->connection->wait_events({e});
        } else {
            auto call = send_image_read(q->connection, q->id, m, origin, region, map.pointer,
                                        map.layout, e, wait);
            q->connection->flush();
            if (blocking)
                err = blocking_result(q->connection->wait(*call).status, num_events, wait_list);
        }
        if (err != CL_SUCCESS) {
            if (map.staging) std::free(map.pointer);
            return nullptr;
        }
        *image_row_pitch = row_pitch;
        if (image_slice_pitch) *image_slice_pitch = has_slices ? slice_pitch : 0;
        {
            std::lock_guard lock(m->mutex);
            m->mappings.push_back(map);
        }
        if (event) *event = e;
        return map.pointer;
    });
}

void unmap_image(Queue* q, Mem* m, const Mapping& map, Event* e, std::vector<uint64_t>& wait,
                 cl_uint num_events, const cl_event* wait_list) {
    Connection* conn = q->connection;
    bool writes = map.flags & (CL_MAP_WRITE | CL_MAP_WRITE_INVALIDATE_REGION);
    if (!writes) {
        if (map.staging) std::free(map.pointer);
        conn->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateMarker(fbb, q->id, e ? e->id : 0, fbb.CreateVector(wait)));
        });
        return;
    }
    bring(q, m, whole_image(m, map.origin, map.region) ? Access::Overwrite : Access::Write, wait,
          num_events, wait_list);
    WriteSource src{nullptr, WriteSource::Kind::Copy};
    if (map.staging) {
        // Packed staging memory goes to the transport, which frees it once sent.
        src = {map.pointer, WriteSource::Kind::Shared,
               std::shared_ptr<void>(map.pointer, [](void* p) { std::free(p); })};
    } else if (map.layout.row_bytes) {
        const uint64_t size = packed_size(m, map.region);
        std::shared_ptr<uint8_t[]> packed(new uint8_t[size]);
        gather(packed.get(), static_cast<const uint8_t*>(map.pointer), map.layout, size);
        src = {packed.get(), WriteSource::Kind::Shared, packed};
    } else {
        src = {map.pointer, WriteSource::Kind::Borrow};
    }
    send_image_write(conn, q->id, m, map.origin, map.region, src, e ? e->id : 0, wait);
}

} // namespace rgpu::icd
