// SPDX-License-Identifier: Apache-2.0
#include "zap_handler.h"

#include <curve.h>
#include <printable.h>

#include <spdlog/spdlog.h>

#include <array>
#include <iterator>
#include <zmq_addon.hpp>

namespace rgpu::daemon {

ZapHandler::ZapHandler(zmq::context_t& context, CurveAccess access)
    : socket_(context, zmq::socket_type::rep),
      operators_(access.operators.begin(), access.operators.end()) {
    if (access.clients) clients_.emplace(access.clients->begin(), access.clients->end());
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("inproc://zeromq.zap.01");
}

void ZapHandler::answer_all() {
    for (;;) {
        std::vector<zmq::message_t> request;
        try {
            if (!zmq::recv_multipart(socket_, std::back_inserter(request),
                                     zmq::recv_flags::dontwait))
                return;
        } catch (const zmq::error_t& e) {
            spdlog::error("ZAP: {}", e.what());
            return;
        }
        // version, request id, domain, address, routing id, mechanism, credentials...
        std::string status = "400", text = "not a CurveZMQ request", role;
        std::string address = request.size() > 3 ? request[3].to_string() : "?";
        if (request.size() >= 7 && request[0].to_string() == "1.0" &&
            request[5].to_string() == "CURVE" && request[6].size() == 32) {
            const std::string key = curve::z85_of(request[6].data());
            if (operators_.count(key)) {
                status = "200", text = "OK", role = "operator";
            } else if (!clients_ || clients_->count(key)) {
                status = "200", text = "OK", role = "client";
            } else {
                text = "key not allowed";
                spdlog::warn("refused a connection from {}: its key {} is not an allowed client",
                             printable(address, 64), key);
            }
        }
        std::array<zmq::const_buffer, 6> reply{
            zmq::str_buffer("1.0"),
            zmq::buffer(request.size() > 1 ? request[1].data() : nullptr,
                        request.size() > 1 ? request[1].size() : 0),
            zmq::buffer(status),
            zmq::buffer(text),
            zmq::buffer(role),
            zmq::const_buffer(nullptr, 0)};
        (void)zmq::send_multipart(socket_, reply);
    }
}

std::string ZapHandler::role_of(zmq::message_t& frame) {
    const char* user = zmq_msg_gets(frame.handle(), "User-Id");
    return user ? user : "";
}

} // namespace rgpu::daemon
