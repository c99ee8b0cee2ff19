// SPDX-License-Identifier: Apache-2.0
// The supervisor's CurveZMQ gatekeeper: answers libzmq's ZAP requests (RFC 27) for the
// supervisor's endpoint, deciding which public keys may connect and naming each connection's
// role in its messages' "User-Id" property: "operator" (operator and daemon-to-daemon requests
// from any address) or "client". Workers need none: a client reaches a worker only with its
// session's resume token, over a connection encrypted with the daemon's key.
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

struct CurveAccess {
    /// Keys that may open sessions; nullopt: any key (the connection is still encrypted).
    std::optional<std::vector<std::string>> clients;
    /// Keys whose connections may make operator requests from anywhere (and open sessions).
    /// The daemon's own key is one: daemons that share a key pair move sessions between them.
    std::vector<std::string> operators;
};

class ZapHandler {
  public:
    /// Binds the ZAP endpoint of `context` (before any CurveZMQ server socket of it binds).
    ZapHandler(zmq::context_t& context, CurveAccess access);
    zmq::socket_t& socket() { return socket_; }
    /// Answers every request waiting.
    void answer_all();

    /// The role a message's connection was given ("operator", "client"; empty without CurveZMQ).
    static std::string role_of(zmq::message_t& frame);

  private:
    zmq::socket_t socket_;
    std::optional<std::unordered_set<std::string>> clients_;
    std::unordered_set<std::string> operators_;
};

} // namespace rgpu::daemon
