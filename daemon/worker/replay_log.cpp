// SPDX-License-Identifier: Apache-2.0
// ReplayLog: numbering, keeping and forgetting what was sent to the client.
#include "replay_log.h"

#include <rgpu/wire/messages_generated.h>

#include <cstring>

namespace rgpu::daemon {

void ReplayLog::keep(std::vector<zmq::message_t>& frames) {
    if (frames.empty()) return;
    // Our own message, finished by MessageWriter (which always writes the seq field, so it can
    // be numbered here, in the order messages leave).
    auto* message = flatbuffers::GetMutableRoot<wire::DaemonMessage>(frames[0].data());
    bool content = (message->replies() && message->replies()->size()) ||
                   (message->events() && message->events()->size()) ||
                   (message->output() && message->output()->size());
    if (!content) return;
    // The generated class hides its Table base; the field's address is all that is needed.
    uint8_t* field =
        reinterpret_cast<flatbuffers::Table*>(message)->GetAddressOf(wire::DaemonMessage::VT_SEQ);
    if (!field) return; // not from MessageWriter: cannot be numbered, sent once
    uint64_t seq = next_seq_++;
    std::memcpy(field, &seq, sizeof seq); // little-endian, as FlatBuffers stores it
    Kept kept{seq, {}};
    kept.frames.resize(frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
        kept.frames[i].copy(frames[i]);
        bytes_ += frames[i].size();
    }
    kept_.push_back(std::move(kept));
}

void ReplayLog::trim(uint64_t seq) {
    while (!kept_.empty() && kept_.front().seq <= seq) {
        for (auto& f : kept_.front().frames)
            bytes_ -= f.size();
        kept_.pop_front();
    }
}

void ReplayLog::restore(uint64_t seq, std::vector<zmq::message_t> frames) {
    for (auto& f : frames)
        bytes_ += f.size();
    kept_.push_back(Kept{seq, std::move(frames)});
    next_seq_ = std::max(next_seq_, seq + 1);
}

std::vector<std::vector<zmq::message_t>> ReplayLog::copies() {
    std::vector<std::vector<zmq::message_t>> out;
    out.reserve(kept_.size());
    for (auto& k : kept_) {
        std::vector<zmq::message_t> frames(k.frames.size());
        for (size_t i = 0; i < frames.size(); ++i)
            frames[i].copy(k.frames[i]);
        out.push_back(std::move(frames));
    }
    return out;
}

} // namespace rgpu::daemon
