// SPDX-License-Identifier: Apache-2.0
// Protocol constants shared by the ICD and the daemon: version, limits, chunking.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rgpu::proto {

/// Bumped when a message can no longer be read by the previous release.
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr char kFileIdentifier[] = "RGPU";

/// Upper bound for frame 0 (the FlatBuffers envelope); checked before the Verifier runs.
inline constexpr size_t kMaxEnvelopeBytes = 64u << 20;
/// Upper bound for one bulk frame; transfers larger than this are chunked by the sender.
inline constexpr size_t kMaxBulkFrameBytes = 64u << 20;
/// Upper bound for the number of frames in one message (envelope + bulk).
inline constexpr size_t kMaxFrames = 1024;
/// Bulk data is cut into chunks of this size so that network and device copies overlap.
inline constexpr size_t kTransferChunkBytes = 4u << 20;
/// Bounds of a read's chunk size (ReadBuffer.chunk): tiny chunks would turn one read into
/// millions of replies, huge ones defeat pipelining.
inline constexpr size_t kMinReadChunkBytes = 64u << 10;
inline constexpr size_t kMaxReadChunkBytes = kMaxBulkFrameBytes;
/// A program source too large for the envelope travels in at most this many bulk frames.
inline constexpr uint32_t kMaxSourceFrames = 16;
/// Sub-devices a session makes are named from this index on (served devices below it), so a
/// restored session names them the same whatever the daemon serves; at most this many.
inline constexpr uint32_t kSubDeviceBase = 1u << 16;
inline constexpr uint32_t kMaxSubDevices = 256;
/// The client stops adding bulk frames to a batch once it carries this much.
inline constexpr size_t kBatchBulkBytes = kTransferChunkBytes;
/// Buffers moving straight between daemons (schema/peer.fbs): the piece an importing worker
/// asks for, how many it asks for ahead, how long it waits for any answer from the exporting
/// worker before giving up (the client then moves the contents itself), how long an export
/// waits to be fetched, and how many of each a session has under way at once.
inline constexpr size_t kPeerPieceBytes = kTransferChunkBytes;
inline constexpr uint32_t kPeerPiecesAhead = 4;
inline constexpr int kPeerSilenceMs = 3000;
inline constexpr int kExportPatienceMs = 60000;
inline constexpr size_t kMaxPeerTransfers = 64;
/// Verifier limits: our messages are shallow, but a batch may hold many tables.
inline constexpr unsigned kVerifierMaxDepth = 16;
inline constexpr unsigned kVerifierMaxTables = 4u << 20;

/// Client heartbeat period, and the default lease: how long a session without its client (a
/// lost connection, a detached or vanished client) is kept, executing, for it to come back.
inline constexpr int kHeartbeatMs = 1000;
inline constexpr int kDefaultLeaseMs = 300000;

inline constexpr char kDefaultEndpoint[] = "tcp://127.0.0.1:7878";

/// Reply statuses that exist only on the wire; the ICD maps each to the OpenCL code the
/// specification gives for the failing call and never returns them to an application.
/// A request the daemon refused (unknown ids, bad frames, limits).
inline constexpr int32_t kStatusProtocolError = -9000;
/// The session named in the message does not exist (a restarted daemon, or it ended).
inline constexpr int32_t kStatusUnknownSession = -9001;
/// The session moved to another daemon; the reply's message is that daemon's endpoint.
inline constexpr int32_t kStatusMoved = -9002;
/// True for the wire-only statuses above.
inline constexpr bool is_wire_status(int32_t status) {
    return status <= -9000 && status > -9100;
}

} // namespace rgpu::proto
