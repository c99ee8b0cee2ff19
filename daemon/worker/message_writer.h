// SPDX-License-Identifier: Apache-2.0
// Builds one DaemonMessage (replies, event notices, ack) and its bulk frames.
#pragma once

#include <rgpu/wire/messages_generated.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

class MessageWriter {
  public:
    flatbuffers::FlatBufferBuilder& builder() { return fbb_; }

    /// `body` must have been built with builder(); `data`, if given, travels as a bulk frame.
    void add_reply(uint64_t seq, int32_t status, wire::ReplyBody type = wire::ReplyBody::NONE,
                   flatbuffers::Offset<void> body = 0, std::string_view message = {},
                   zmq::message_t* data = nullptr);
    void add_notice(const wire::EventNotice& notice) { notices_.push_back(notice); }
    /// Kernel output (printf) for the client's standard output.
    void add_output(std::string_view bytes) { output_.append(bytes); }
    bool empty() const { return replies_.empty() && notices_.empty() && output_.empty(); }
    /// Marks the message as the worker's release of the client's connection.
    void set_released() { released_ = true; }

    /// Frame 0 followed by the bulk frames; the writer is empty afterwards.
    std::vector<zmq::message_t> finish(uint64_t session, uint64_t acked_seq);

  private:
    flatbuffers::FlatBufferBuilder fbb_{1024};
    std::vector<flatbuffers::Offset<wire::Reply>> replies_;
    std::vector<wire::EventNotice> notices_;
    std::vector<zmq::message_t> bulk_;
    std::string output_;
    bool released_ = false;
};

} // namespace rgpu::daemon
