// SPDX-License-Identifier: Apache-2.0
// DaemonMessage encoding.
#include "message_writer.h"

#include <protocol.h>

namespace rgpu::daemon {

void MessageWriter::add_reply(uint64_t seq, int32_t status, wire::ReplyBody type,
                              flatbuffers::Offset<void> body, std::string_view message,
                              zmq::message_t* data) {
    auto text = message.empty() ? 0 : fbb_.CreateString(message.data(), message.size());
    uint32_t frame = 0;
    if (data) {
        bulk_.push_back(std::move(*data));
        frame = static_cast<uint32_t>(bulk_.size()); // frame 0 is the envelope
    }
    wire::ReplyBuilder reply(fbb_);
    reply.add_seq(seq);
    reply.add_status(status);
    if (type != wire::ReplyBody::NONE) {
        reply.add_body_type(type);
        reply.add_body(body);
    }
    reply.add_data_frame(frame);
    if (!text.IsNull()) reply.add_message(text);
    replies_.push_back(reply.Finish());
}

std::vector<zmq::message_t> MessageWriter::finish(uint64_t session, uint64_t acked_seq) {
    auto replies = replies_.empty() ? 0 : fbb_.CreateVector(replies_);
    auto notices = notices_.empty() ? 0 : fbb_.CreateVectorOfStructs(notices_);
    auto output =
        output_.empty()
            ? 0
            : fbb_.CreateVector(reinterpret_cast<const uint8_t*>(output_.data()), output_.size());
    wire::DaemonMessageBuilder msg(fbb_);
    msg.add_version(proto::kProtocolVersion);
    msg.add_session(session);
    msg.add_acked_seq(acked_seq);
    // Always present, so the I/O thread can number the message in place (ReplayLog).
    fbb_.ForceDefaults(true);
    msg.add_seq(0);
    fbb_.ForceDefaults(false);
    if (released_) msg.add_released(true);
    if (!replies.IsNull()) msg.add_replies(replies);
    if (!notices.IsNull()) msg.add_events(notices);
    if (!output.IsNull()) msg.add_output(output);
    fbb_.Finish(msg.Finish(), proto::kFileIdentifier);

    std::vector<zmq::message_t> frames;
    frames.reserve(1 + bulk_.size());
    frames.emplace_back(fbb_.GetBufferPointer(), fbb_.GetSize());
    for (auto& b : bulk_)
        frames.push_back(std::move(b));
    fbb_.Clear();
    replies_.clear();
    notices_.clear();
    bulk_.clear();
    output_.clear();
    released_ = false;
    return frames;
}

} // namespace rgpu::daemon
