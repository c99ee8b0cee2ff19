// SPDX-License-Identifier: Apache-2.0
// The messages a worker sent its client that the client has not yet reported received: kept so
// that, after a reconnect, the client gets every reply, read chunk and event notice exactly once
// even if the connection lost some on the way.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

class ReplayLog {
  public:
    /// Numbers `frames` (a finished DaemonMessage and its bulk frames) if it carries replies or
    /// notices, and keeps a copy (large frames share their buffer: nothing is copied). Messages
    /// without content (acks) stay unnumbered and are not kept.
    void keep(std::vector<zmq::message_t>& frames);
    /// The client received every numbered message up to `seq`: forget them.
    void trim(uint64_t seq);
    /// Copies of the kept messages, oldest first, to send again.
    std::vector<std::vector<zmq::message_t>> copies();

    /// `visit(seq, frames)` for every kept message, oldest first (checkpoints).
    template <class Visit> void for_each(Visit&& visit) const {
        for (const auto& k : kept_)
            visit(k.seq, k.frames);
    }
    /// Puts back a message of a checkpoint (in order), and the number the next one gets.
    void restore(uint64_t seq, std::vector<zmq::message_t> frames);
    void set_next_seq(uint64_t seq) { next_seq_ = std::max(next_seq_, seq); }
    uint64_t next_seq() const { return next_seq_; }

    size_t messages() const { return kept_.size(); }
    uint64_t bytes() const { return bytes_; }
    uint64_t last_seq() const { return next_seq_ - 1; }

  private:
    struct Kept {
        uint64_t seq;
        std::vector<zmq::message_t> frames;
    };
    std::deque<Kept> kept_;
    uint64_t bytes_ = 0;
    uint64_t next_seq_ = 1;
};

} // namespace rgpu::daemon
