// SPDX-License-Identifier: Apache-2.0
// One client message (envelope + bulk frames) as a flat byte string: how the worker records
// real sessions (RGPU_CORPUS_DIR) and how the receive-path fuzzer reads its inputs.
//
// Layout: per frame, a 4-byte little-endian length, then that many bytes. Frame 0 is the
// envelope.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace rgpu::proto {

/// The frames [first, end) of `frames` in the record layout.
std::string encode_record(const std::vector<zmq::message_t>& frames, size_t first = 0);
/// The frames of a record; stops at the first truncated frame, at `max_frames`, and never
/// allocates more than `size` bytes in all.
std::vector<zmq::message_t> decode_record(const uint8_t* data, size_t size, size_t max_frames);

} // namespace rgpu::proto
