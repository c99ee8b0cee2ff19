// SPDX-License-Identifier: Apache-2.0
// Decodes an envelope frame in one fixed order: size cap, identifier, Verifier, version.
// Handlers only ever see a message that passed all four.
#pragma once

#include <rgpu/wire/messages_generated.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <zmq.hpp>

namespace rgpu::proto {

struct DecodeError {
    std::string what;
};

template <class T> struct Decoded {
    const T* message = nullptr; ///< Points into the caller's frame; valid while it lives.
    std::string error;          ///< Non-empty when message is null.
    explicit operator bool() const { return message != nullptr; }
};

[[nodiscard]] Decoded<wire::ClientMessage> decode_client_message(const void* data, size_t size);
[[nodiscard]] Decoded<wire::DaemonMessage> decode_daemon_message(const void* data, size_t size);

/// FlatBuffers reads scalars in place, so a frame must be 8-byte aligned before it is decoded.
/// ZeroMQ stores small messages inline at any offset: such a frame is moved into aligned memory
/// (the frame then owns it). Call on every received envelope frame.
void align_frame(zmq::message_t& frame);

/// A printable sample of a rejected frame for the log line (hex of the first bytes).
std::string printable_sample(const void* data, size_t size, size_t max_bytes = 32);

} // namespace rgpu::proto
