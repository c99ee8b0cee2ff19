// SPDX-License-Identifier: Apache-2.0
// The limits one session runs under: chosen by the supervisor (flags), announced to the client
// in Welcome, enforced by the session's worker.
#pragma once

#include <protocol.h>
#include <rgpu/wire/handshake_generated.h>

#include <cstdint>

namespace rgpu::daemon {

struct SessionLimits {
    uint32_t max_frames = static_cast<uint32_t>(proto::kMaxFrames);
    uint64_t max_envelope_bytes = proto::kMaxEnvelopeBytes;
    uint64_t max_bulk_frame_bytes = proto::kMaxBulkFrameBytes;
    uint64_t max_device_memory = 0; ///< 0: what the device has
    uint32_t max_objects = 65536;
    /// Credits (see wire::SessionLimits): what the client may have sent and the worker not yet
    /// executed. The bytes bound a session's backlog of received data; the commands bound its
    /// backlog of envelopes.
    uint32_t max_commands_in_flight = 16384;
    uint64_t max_bytes_in_flight = 256u << 20;
    /// Host memory a session's transfers may hold in the worker: read data on its way to the
    /// client, write data waiting for its native copy (worker-only).
    uint64_t max_staging = 64u << 20;
    /// Host memory (RLIMIT_DATA) of the session's worker; 0: its device memory quota + 4 GiB,
    /// since a CPU device's buffers are host memory (worker-only).
    uint64_t max_worker_memory = 0;

    flatbuffers::Offset<wire::SessionLimits> write(flatbuffers::FlatBufferBuilder& fbb) const {
        return wire::CreateSessionLimits(fbb, max_frames, max_envelope_bytes, max_bulk_frame_bytes,
                                         max_device_memory, max_objects, max_commands_in_flight,
                                         max_bytes_in_flight);
    }
    /// Values from the wire; absent fields keep the defaults above.
    static SessionLimits read(const wire::SessionLimits* in) {
        SessionLimits out;
        if (!in) return out;
        if (in->max_frames()) out.max_frames = in->max_frames();
        if (in->max_envelope_bytes()) out.max_envelope_bytes = in->max_envelope_bytes();
        if (in->max_bulk_frame_bytes()) out.max_bulk_frame_bytes = in->max_bulk_frame_bytes();
        out.max_device_memory = in->max_device_memory();
        if (in->max_objects()) out.max_objects = in->max_objects();
        out.max_commands_in_flight = in->max_commands_in_flight();
        out.max_bytes_in_flight = in->max_bytes_in_flight();
        return out;
    }
};

} // namespace rgpu::daemon
