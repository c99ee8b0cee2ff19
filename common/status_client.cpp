// SPDX-License-Identifier: Apache-2.0
// A one-shot StatusRequest over its own DEALER socket.
#include "status_client.h"

#include "decode.h"
#include "protocol.h"

#include <zmq.hpp>

namespace rgpu {

std::optional<DaemonStatus> query_status(const std::string& endpoint,
                                         std::chrono::milliseconds timeout, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<DaemonStatus> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    try {
        zmq::context_t context(1);
        zmq::socket_t socket(context, zmq::socket_type::dealer);
        socket.set(zmq::sockopt::linger, 0);
        socket.connect(endpoint);
        flatbuffers::FlatBufferBuilder fbb;
        std::vector<flatbuffers::Offset<wire::Command>> commands{wire::CreateCommand(
            fbb, wire::Request::StatusRequest, wire::CreateStatusRequest(fbb).Union(), true)};
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, 0, 0,
                                             fbb.CreateVector(commands)),
                   proto::kFileIdentifier);
        socket.send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()), zmq::send_flags::none);
        zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, timeout) == 0) return fail("no answer from " + endpoint);
        zmq::message_t frame;
        if (!socket.recv(frame)) return fail("no answer from " + endpoint);
        proto::align_frame(frame);
        auto decoded = proto::decode_daemon_message(frame.data(), frame.size());
        if (!decoded) return fail("invalid answer: " + decoded.error);
        const auto* replies = decoded.message->replies();
        const auto* status =
            replies && replies->size() == 1 ? replies->Get(0)->body_as_StatusReply() : nullptr;
        if (!status) return fail("the answer holds no status");
        return DaemonStatus{status->sessions(), status->devices(), status->rejected_messages()};
    } catch (const zmq::error_t& e) {
        return fail(e.what());
    }
}

} // namespace rgpu
