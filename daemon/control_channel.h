// SPDX-License-Identifier: Apache-2.0
// The supervisor <-> worker channel: a SOCK_SEQPACKET socket pair, one verified
// control::ControlMessage per packet.
//
// The worker runs client kernels, so on a CPU device a hostile kernel can write anything to the
// worker's end: the supervisor verifies every packet as it verifies client messages.
#pragma once

#include <rgpu/wire/control_generated.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rgpu::daemon {

/// Largest control packet either side sends or accepts.
inline constexpr size_t kMaxControlBytes = 64 * 1024;

class ControlChannel {
  public:
    /// Takes ownership of `fd` (closed by the destructor).
    explicit ControlChannel(int fd) : fd_(fd) {}
    ~ControlChannel();
    ControlChannel(const ControlChannel&) = delete;
    ControlChannel& operator=(const ControlChannel&) = delete;

    /// A connected pair of descriptors, both close-on-exec; throws std::system_error.
    static std::pair<int, int> make_pair();

    int fd() const { return fd_; }
    /// Sends the finished buffer of `fbb` (built with file identifier "RGPC"). False when the
    /// peer is gone. Never blocks for long: packets are small and the peer drains them.
    bool send(const flatbuffers::FlatBufferBuilder& fbb);

    enum class Status { Message, Nothing, Closed, Invalid };
    /// Reads one packet without blocking. On Message, `*message` points into the channel's
    /// buffer and stays valid until the next receive().
    Status receive(const control::ControlMessage** message, std::string* error);

  private:
    int fd_;
    std::vector<uint8_t> buffer_;
};

} // namespace rgpu::daemon
