// SPDX-License-Identifier: Apache-2.0
// Rectangular buffer transfers. A rectangle is a set of rows, each contiguous both in the buffer
// and on the host, so it travels as one plain read, write or copy per row (rows that are
// contiguous on both sides merge): the daemon, pools and spanning contexts need nothing new, and
// each read row lands straight in the application's memory.
#include "../api.h"
#include "../connection.h"
#include "../enqueue.h"
#include "../entry_points.h"
#include "../spanning.h"

#include <algorithm>

namespace rgpu::icd {
namespace {

/// One contiguous run of a rectangle: where it is on each side, and how long.
struct Run {
    size_t a = 0; ///< offset on the first side (the buffer; the source of a copy)
    size_t b = 0; ///< offset on the second side (the host; the destination of a copy)
    size_t size = 0;
};

/// The pitches of one side of a rectangle, defaulted as the specification says.
struct Pitches {
    size_t row = 0;
    size_t slice = 0;
};

Pitches defaulted(const size_t region[3], size_t row, size_t slice) {
    Pitches p{row ? row : region[0], slice};
    if (!p.slice) p.slice = region[1] * p.row;
    return p;
}

/// The specification's pitch rules for one side: CL_INVALID_VALUE when broken.
bool pitches_valid(const size_t region[3], size_t row, size_t slice) {
    if (row != 0 && row < region[0]) return false;
    size_t r = row ? row : region[0];
    if (slice != 0 && (slice < region[1] * r || slice % r != 0)) return false;
    return true;
}

/// The last byte the rectangle touches, plus one.
size_t extent(const size_t origin[3], const size_t region[3], const Pitches& p) {
    return (origin[2] + region[2] - 1) * p.slice + (origin[1] + region[1] - 1) * p.row + origin[0] +
           region[0];
}

size_t offset_of(const size_t origin[3], const Pitches& p, size_t y, size_t z) {
    return (origin[2] + z) * p.slice + (origin[1] + y) * p.row + origin[0];
}

/// The rectangle's rows, merged where they follow each other on both sides.
std::vector<Run> runs(const size_t a_origin[3], const Pitches& a, const size_t b_origin[3],
                      const Pitches& b, const size_t region[3]) {
    std::vector<Run> out;
    for (size_t z = 0; z < region[2]; ++z)
        for (size_t y = 0; y < region[1]; ++y) {
            Run run{offset_of(a_origin, a, y, z), offset_of(b_origin, b, y, z), region[0]};
            if (!out.empty() && out.back().a + out.back().size == run.a &&
                out.back().b + out.back().size == run.b)
                out.back().size += run.size;
            else
                out.push_back(run);
        }
    return out;
}

/// The specification's overlap test for a copy within one buffer (its appendix's
/// check_copy_overlap).
bool copy_overlaps(const size_t src[3], const size_t dst[3], const size_t region[3],
                   size_t row_pitch, size_t slice_pitch) {
    const size_t slice_size = (region[1] - 1) * row_pitch + region[0];
    const size_t block_size = (region[2] - 1) * slice_pitch + slice_size;
    const size_t src_start = src[2] * slice_pitch + src[1] * row_pitch + src[0];
    const size_t dst_start = dst[2] * slice_pitch + dst[1] * row_pitch + dst[0];
    if (dst_start + block_size <= src_start || src_start + block_size <= dst_start) return false;
    const size_t src_dx = src[0] % row_pitch, dst_dx = dst[0] % row_pitch;
    if ((dst_dx >= src_dx + region[0] && dst_dx + region[0] <= src_dx + row_pitch) ||
        (src_dx >= dst_dx + region[0] && src_dx + region[0] <= dst_dx + row_pitch))
        return false;
    const size_t src_dy = (src[1] * row_pitch + src[0]) % slice_pitch;
    const size_t dst_dy = (dst[1] * row_pitch + dst[0]) % slice_pitch;
    if ((dst_dy >= src_dy + slice_size && dst_dy + slice_size <= src_dy + slice_pitch) ||
        (src_dy >= dst_dy + slice_size && src_dy + slice_size <= dst_dy + slice_pitch))
        return false;
    return true;
}

bool region_valid(const size_t region[3]) {
    return region && region[0] && region[1] && region[2];
}

/// Commands of several runs on an out-of-order queue may end in any order: each gets an event
/// of its own, and the application's event is a marker after all of them. On an in-order queue
/// the last run's event is enough. Returns the event id run `i` of `count` carries.
struct RunEvents {
    Queue* queue;
    uint64_t event; ///< the application's (or the blocking call's), 0 if none
    size_t count;
    bool separate;
    std::vector<uint64_t> ids;
    RunEvents(Queue* q, uint64_t e, size_t n)
        : queue(q), event(e), count(n),
          separate(e && n > 1 && (q->properties & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)) {}
    uint64_t id(size_t i) {
        if (separate) return ids.emplace_back(Connection::new_id());
        return i + 1 == count ? event : 0;
    }
    /// After the runs: the marker that carries the event, and the runs' events released.
    void finish() {
        if (!separate) return;
        uint64_t q = queue->id, e = event;
        queue->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateMarker(fbb, q, e, fbb.CreateVector(ids), false));
        });
        for (uint64_t id : ids)
            queue->connection->post_release(id);
    }
};

/// Checks shared by the read and write calls; on success `buffer` and `host` are the two sides'
/// pitches.
cl_int check_host_rect(Queue* q, Mem* m, const size_t* buffer_origin, const size_t* host_origin,
                       const size_t* region, size_t buffer_row_pitch, size_t buffer_slice_pitch,
                       size_t host_row_pitch, size_t host_slice_pitch, const void* ptr,
                       Pitches& buffer, Pitches& host) {
    if (!q) return CL_INVALID_COMMAND_QUEUE;
    if (!m) return CL_INVALID_MEM_OBJECT;
    if (m->context != q->context) return CL_INVALID_CONTEXT;
    if (!ptr || !buffer_origin || !host_origin || !region_valid(region) ||
        !pitches_valid(region, buffer_row_pitch, buffer_slice_pitch) ||
        !pitches_valid(region, host_row_pitch, host_slice_pitch))
        return CL_INVALID_VALUE;
    buffer = defaulted(region, buffer_row_pitch, buffer_slice_pitch);
    host = defaulted(region, host_row_pitch, host_slice_pitch);
    if (extent(buffer_origin, region, buffer) > m->size) return CL_INVALID_VALUE;
    return CL_SUCCESS;
}

} // namespace

cl_int CL_API_CALL rgpu_clEnqueueReadBufferRect(cl_command_queue queue, cl_mem buffer,
                                                cl_bool blocking, const size_t* buffer_origin,
                                                const size_t* host_origin, const size_t* region,
                                                size_t buffer_row_pitch, size_t buffer_slice_pitch,
                                                size_t host_row_pitch, size_t host_slice_pitch,
                                                void* ptr, cl_uint num_events,
                                                const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        Mem* m = checked_buffer(buffer);
        Pitches on_buffer, on_host;
        cl_int err = check_host_rect(q, m, buffer_origin, host_origin, region, buffer_row_pitch,
                                     buffer_slice_pitch, host_row_pitch, host_slice_pitch, ptr,
                                     on_buffer, on_host);
        if (err != CL_SUCCESS) return err;
        if (m->flags & (CL_MEM_HOST_WRITE_ONLY | CL_MEM_HOST_NO_ACCESS))
            return CL_INVALID_OPERATION;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
        bring(q, m, Access::Read, wait, num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_READ_BUFFER_RECT) : nullptr;
        auto parts = runs(buffer_origin, on_buffer, host_origin, on_host, region);
        Connection* conn = q->connection;
        RunEvents events(q, e ? e->id : 0, parts.size());
        std::vector<std::shared_ptr<Call>> calls;
        for (size_t i = 0; i < parts.size(); ++i) {
            const Run& run = parts[i];
            uint64_t id = events.id(i);
            // Every run's data counts towards the event: it completes once all have landed.
            calls.push_back(conn->read(
                [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                    return body(wire::CreateReadBuffer(fbb, q->id, m->id, run.a, run.size, id,
                                                       fbb.CreateVector(wait),
                                                       proto::kTransferChunkBytes));
                },
                static_cast<uint8_t*>(ptr) + run.b, run.size, e));
        }
        events.finish();
        conn->flush();
        if (event) *event = e;
        if (!blocking) return CL_SUCCESS;
        cl_int status = CL_SUCCESS;
        for (auto& call : calls)
            if (cl_int s = Connection::wait(*call).status; s != CL_SUCCESS && status == CL_SUCCESS)
                status = s;
        return blocking_result(status, num_events, wait_list);
    });
}

cl_int CL_API_CALL rgpu_clEnqueueWriteBufferRect(cl_command_queue queue, cl_mem buffer,
                                                 cl_bool blocking, const size_t* buffer_origin,
                                                 const size_t* host_origin, const size_t* region,
                                                 size_t buffer_row_pitch, size_t buffer_slice_pitch,
                                                 size_t host_row_pitch, size_t host_slice_pitch,
                                                 const void* ptr, cl_uint num_events,
                                                 const cl_event* wait_list, cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        Mem* m = checked_buffer(buffer);
        Pitches on_buffer, on_host;
        cl_int err = check_host_rect(q, m, buffer_origin, host_origin, region, buffer_row_pitch,
                                     buffer_slice_pitch, host_row_pitch, host_slice_pitch, ptr,
                                     on_buffer, on_host);
        if (err != CL_SUCCESS) return err;
        if (m->flags & (CL_MEM_HOST_READ_ONLY | CL_MEM_HOST_NO_ACCESS)) return CL_INVALID_OPERATION;
        std::vector<uint64_t> wait;
        if ((err = check_wait_list(q, num_events, wait_list, wait)) != CL_SUCCESS) return err;
        bring(q, m, Access::Write, wait, num_events, wait_list);
        // A blocking write waits for its event, so it needs one of its own.
        Event* e =
            (event || blocking) ? new_command_event(q, CL_COMMAND_WRITE_BUFFER_RECT) : nullptr;
        auto parts = runs(buffer_origin, on_buffer, host_origin, on_host, region);
        Connection* conn = q->connection;
        RunEvents events(q, e ? e->id : 0, parts.size());
        for (size_t i = 0; i < parts.size(); ++i) {
            const Run& run = parts[i];
            // Borrowed: the application may not touch the memory until the command completes.
            send_write(conn, q->id, m->id, run.a, run.size,
                       {static_cast<const uint8_t*>(ptr) + run.b, WriteSource::Kind::Borrow},
                       events.id(i), wait);
        }
        events.finish();
        conn->flush();
        if (blocking) {
            conn->wait_events({e});
            cl_int status = e->status.load();
            if (event)
                *event = e;
            else
                release(e);
            return blocking_result(status, num_events, wait_list);
        }
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

cl_int CL_API_CALL rgpu_clEnqueueCopyBufferRect(cl_command_queue queue, cl_mem src_buffer,
                                                cl_mem dst_buffer, const size_t* src_origin,
                                                const size_t* dst_origin, const size_t* region,
                                                size_t src_row_pitch, size_t src_slice_pitch,
                                                size_t dst_row_pitch, size_t dst_slice_pitch,
                                                cl_uint num_events, const cl_event* wait_list,
                                                cl_event* event) {
    return guard([&] {
        Queue* q = checked<Queue>(queue);
        if (!q) return CL_INVALID_COMMAND_QUEUE;
        Mem* s = checked_buffer(src_buffer);
        Mem* d = checked_buffer(dst_buffer);
        if (!s || !d) return CL_INVALID_MEM_OBJECT;
        if (s->context != q->context || d->context != q->context) return CL_INVALID_CONTEXT;
        if (!src_origin || !dst_origin || !region_valid(region) ||
            !pitches_valid(region, src_row_pitch, src_slice_pitch) ||
            !pitches_valid(region, dst_row_pitch, dst_slice_pitch))
            return CL_INVALID_VALUE;
        Pitches from = defaulted(region, src_row_pitch, src_slice_pitch);
        Pitches to = defaulted(region, dst_row_pitch, dst_slice_pitch);
        if (extent(src_origin, region, from) > s->size || extent(dst_origin, region, to) > d->size)
            return CL_INVALID_VALUE;
        if (s == d) {
            if (from.row != to.row || from.slice != to.slice) return CL_INVALID_VALUE;
            if (copy_overlaps(src_origin, dst_origin, region, from.row, from.slice))
                return CL_MEM_COPY_OVERLAP;
        }
        std::vector<uint64_t> wait;
        cl_int err = check_wait_list(q, num_events, wait_list, wait);
        if (err != CL_SUCCESS) return err;
        bring(q, s, Access::Read, wait, num_events, wait_list);
        bring(q, d, Access::Write, wait, num_events, wait_list);
        Event* e = event ? new_command_event(q, CL_COMMAND_COPY_BUFFER_RECT) : nullptr;
        auto parts = runs(src_origin, from, dst_origin, to, region);
        RunEvents events(q, e ? e->id : 0, parts.size());
        for (size_t i = 0; i < parts.size(); ++i) {
            const Run& run = parts[i];
            uint64_t id = events.id(i);
            q->connection->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateCopyBuffer(fbb, q->id, s->id, d->id, run.a, run.b, run.size,
                                                   id, fbb.CreateVector(wait)));
            });
        }
        events.finish();
        if (event) *event = e;
        return CL_SUCCESS;
    });
}

} // namespace rgpu::icd
