// SPDX-License-Identifier: Apache-2.0
// Frame records: length-prefixed frames.
#include "frame_record.h"

#include <cstring>

namespace rgpu::proto {

std::string encode_record(const std::vector<zmq::message_t>& frames, size_t first) {
    std::string out;
    for (size_t i = first; i < frames.size(); ++i) {
        uint32_t n = static_cast<uint32_t>(frames[i].size());
        uint8_t len[4] = {uint8_t(n), uint8_t(n >> 8), uint8_t(n >> 16), uint8_t(n >> 24)};
        out.append(reinterpret_cast<const char*>(len), 4);
        out.append(static_cast<const char*>(frames[i].data()), n);
    }
    return out;
}

std::vector<zmq::message_t> decode_record(const uint8_t* data, size_t size, size_t max_frames) {
    std::vector<zmq::message_t> frames;
    size_t at = 0;
    while (at + 4 <= size && frames.size() < max_frames) {
        uint32_t n = uint32_t(data[at]) | uint32_t(data[at + 1]) << 8 |
                     uint32_t(data[at + 2]) << 16 | uint32_t(data[at + 3]) << 24;
        at += 4;
        if (n > size - at) break;
        frames.emplace_back(data + at, n);
        at += n;
    }
    return frames;
}

} // namespace rgpu::proto
