// SPDX-License-Identifier: Apache-2.0
// Packed image transfers (see image_transfer.h).
#include "image_transfer.h"

#include "api.h"
#include "connection.h"

#include <image_layout.h>

#include <cstring>

namespace rgpu::icd {
namespace {

std::vector<uint64_t> triple(const size_t v[3]) {
    return {v[0], v[1], v[2]};
}

} // namespace

void gather(uint8_t* packed, const uint8_t* from, const HostLayout& l, size_t size) {
    if (l.row_bytes == 0) {
        std::memcpy(packed, from, size);
        return;
    }
    const size_t slices = size / (l.row_bytes * l.rows);
    for (size_t z = 0; z < slices; ++z)
        for (size_t y = 0; y < l.rows; ++y, packed += l.row_bytes)
            std::memcpy(packed, from + z * l.slice_stride + y * l.row_stride, l.row_bytes);
}

HostLayout host_layout(cl_mem_object_type type, size_t pixel, const size_t region[3],
                       size_t row_pitch, size_t slice_pitch) {
    HostLayout l;
    l.row_bytes = region[0] * pixel;
    l.rows = region[1];
    size_t row = row_pitch ? row_pitch : l.row_bytes;
    if (type == CL_MEM_OBJECT_IMAGE1D_ARRAY) {
        // A 1D array's layers (region[1]) lie slice_pitch apart.
        l.row_stride = slice_pitch ? slice_pitch : row;
        l.slice_stride = l.row_stride * l.rows;
    } else {
        l.row_stride = row;
        l.slice_stride = slice_pitch ? slice_pitch : row * region[1];
    }
    if (l.row_stride == l.row_bytes && l.slice_stride == l.row_bytes * l.rows)
        l.row_bytes = 0; // packed already: plain copies
    return l;
}

void send_image_write(Connection* conn, uint64_t queue_id, const Mem* m, const size_t origin[3],
                      const size_t region[3], const WriteSource& packed, uint64_t event_id,
                      const std::vector<uint64_t>& wait) {
    auto pieces =
        proto::split_region(origin, region, m->image->pixel, conn->transfer_chunk_bytes());
    for (size_t i = 0; i < pieces.size(); ++i) {
        const auto& piece = pieces[i];
        bool last = i + 1 == pieces.size();
        const auto* bytes = static_cast<const uint8_t*>(packed.data) + piece.offset;
        std::vector<zmq::message_t> bulk;
        switch (packed.kind) {
        case WriteSource::Kind::Copy:
            bulk.emplace_back(bytes, piece.bytes);
            break;
        case WriteSource::Kind::Borrow:
            bulk.emplace_back(const_cast<uint8_t*>(bytes), piece.bytes, nullptr, nullptr);
            break;
        case WriteSource::Kind::Shared: {
            auto* keep = new std::shared_ptr<void>(packed.owner);
            bulk.emplace_back(
                const_cast<uint8_t*>(bytes), piece.bytes,
                [](void*, void* hint) { delete static_cast<std::shared_ptr<void>*>(hint); }, keep);
            break;
        }
        }
        conn->post(
            [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t frame) {
                return body(wire::CreateWriteImage(
                    fbb, queue_id, m->id, fbb.CreateVector(triple(piece.origin)),
                    fbb.CreateVector(triple(piece.region)), frame, last ? event_id : 0,
                    fbb.CreateVector(wait), last));
            },
            std::move(bulk));
    }
}

std::shared_ptr<Call> send_image_read(Connection* conn, uint64_t queue_id, const Mem* m,
                                      const size_t origin[3], const size_t region[3],
                                      void* destination, const HostLayout& layout, Event* e,
                                      const std::vector<uint64_t>& wait) {
    uint64_t size = uint64_t{region[0]} * region[1] * region[2] * m->image->pixel;
    return conn->read(
        [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateReadImage(fbb, queue_id, m->id,
                                              fbb.CreateVector(triple(origin)),
                                              fbb.CreateVector(triple(region)), e ? e->id : 0,
                                              fbb.CreateVector(wait), proto::kTransferChunkBytes));
        },
        destination, size, e, layout);
}

} // namespace rgpu::icd
