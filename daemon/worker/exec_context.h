// SPDX-License-Identifier: Apache-2.0
// What a request handler gets: its session, its command's sequence number, the message's bulk
// frames, and the way to answer.
#pragma once

#include "message_writer.h"
#include "session.h"

#include <protocol.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

/// Status for protocol violations (unknown ids, bad frames): not an OpenCL code.
inline constexpr cl_int kProtocolError = proto::kStatusProtocolError;

struct ExecContext {
    Session& session;
    uint64_t seq;
    std::vector<zmq::message_t>& frames;
    bool replied = false;
    std::string error_message; ///< Detail sent with a failing status.

    /// Sends a reply now; `fill` builds the body into the writer's builder.
    template <class Fill>
    void reply(cl_int status, wire::ReplyBody type, Fill&& fill, zmq::message_t* data = nullptr) {
        MessageWriter writer;
        auto body = fill(writer.builder());
        writer.add_reply(seq, status, type, body.Union(), {}, data);
        send(writer);
    }
    void reply_status(cl_int status, std::string_view message = {}) {
        MessageWriter writer;
        writer.add_reply(seq, status, wire::ReplyBody::NONE, 0, message);
        send(writer);
    }
    /// Records a protocol violation: returns kProtocolError so handlers can `return fail(...)`.
    cl_int fail(std::string message) {
        error_message = std::move(message);
        return kProtocolError;
    }
    /// Why ObjectTable::insert(id, ...) refused: the session's object limit
    /// (CL_OUT_OF_HOST_MEMORY, the spec's code for every create call), or a client that named an
    /// id twice (a protocol error).
    cl_int insert_refused(uint64_t id) {
        if (session.objects.full()) {
            error_message = "the session holds its maximum of " +
                            std::to_string(session.limits().max_objects) + " objects";
            return CL_OUT_OF_HOST_MEMORY;
        }
        return fail("object id " + std::to_string(id) + " is already in use");
    }
    /// CL_SUCCESS when `bytes` more fit in the session's device memory quota; otherwise
    /// CL_MEM_OBJECT_ALLOCATION_FAILURE, saying that the session's `what` would exceed it.
    cl_int within_quota(uint64_t bytes, std::string_view what) {
        const uint64_t quota = session.device_quota;
        if (bytes <= quota - std::min(session.device_bytes, quota)) return CL_SUCCESS;
        error_message = "the session's " + std::string(what) +
                        " would exceed its device memory quota of " + std::to_string(quota) +
                        " bytes";
        return CL_MEM_OBJECT_ALLOCATION_FAILURE;
    }
    /// The bulk frame `index` if it exists and holds exactly `size` bytes, else null.
    zmq::message_t* frame(uint32_t index, uint64_t size) {
        if (index == 0 || index >= frames.size() || frames[index].size() != size) return nullptr;
        return &frames[index];
    }

  private:
    void send(MessageWriter& writer) {
        replied = true;
        session.outbox.push(Outbox::Message{session.id(), writer.finish(session.id(), seq)});
    }
};

} // namespace rgpu::daemon
