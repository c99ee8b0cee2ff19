// SPDX-License-Identifier: Apache-2.0
// The supervisor's ZAP handler: over a real CurveZMQ connection, listed client keys connect as
// "client", operator keys as "operator", and other keys do not connect at all.
#include "zap_handler.h"

#include <curve.h>

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

using namespace rgpu;
using namespace rgpu::daemon;

namespace {

/// A CurveZMQ server (ROUTER on a free loopback port) behind a ZAP handler with `access`.
struct Server {
    curve::KeyPair keys = curve::generate();
    zmq::context_t context{1};
    ZapHandler zap;
    zmq::socket_t socket{context, zmq::socket_type::router};
    std::string endpoint;

    explicit Server(CurveAccess access) : zap(context, std::move(access)) {
        socket.set(zmq::sockopt::linger, 0);
        curve::make_server(socket, keys);
        socket.bind("tcp://127.0.0.1:*");
        endpoint = socket.get(zmq::sockopt::last_endpoint);
    }

    /// The role seen on a message from a client with `keys` that takes `server_key` for this
    /// server's; nullopt if nothing arrives.
    std::optional<std::string> role_of(const curve::KeyPair& client_keys,
                                       const std::string& server_key) {
        zmq::context_t client_context(1);
        zmq::socket_t client(client_context, zmq::socket_type::dealer);
        client.set(zmq::sockopt::linger, 0);
        curve::make_client(client, {server_key, client_keys});
        client.connect(endpoint);
        client.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (std::chrono::steady_clock::now() < until) {
            zmq::pollitem_t items[] = {{socket.handle(), 0, ZMQ_POLLIN, 0},
                                       {zap.socket().handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 2, std::chrono::milliseconds(50));
            zap.answer_all();
            zmq::message_t routing, body;
            if (socket.recv(routing, zmq::recv_flags::dontwait)) {
                (void)socket.recv(body);
                return ZapHandler::role_of(body);
            }
        }
        return std::nullopt;
    }
    std::optional<std::string> role_of(const curve::KeyPair& client_keys) {
        return role_of(client_keys, keys.public_key);
    }
};

} // namespace

TEST_CASE("the ZAP handler admits listed keys in their roles and no others" *
          doctest::test_suite("daemon")) {
    const auto client = curve::generate(), op = curve::generate(), stranger = curve::generate();
    CurveAccess access;
    access.clients = std::vector<std::string>{client.public_key};
    access.operators = {op.public_key};
    Server server(access);
    CHECK(server.role_of(client) == "client");
    CHECK(server.role_of(op) == "operator");
    CHECK_FALSE(server.role_of(stranger));
}

TEST_CASE("without a client list the ZAP handler admits any key as a client" *
          doctest::test_suite("daemon")) {
    Server server(CurveAccess{});
    const auto anyone = curve::generate();
    CHECK(server.role_of(anyone) == "client");
    // A client that has the wrong server key never gets through the handshake.
    CHECK_FALSE(server.role_of(anyone, curve::generate().public_key));
}
