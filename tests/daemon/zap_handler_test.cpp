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

/// The role the server sees on a message from a client with `keys`; nullopt if nothing arrives.
std::optional<std::string> role_seen(zmq::context_t& context, ZapHandler& zap,
                                     zmq::socket_t& server, const std::string& endpoint,
                                     const curve::KeyPair& server_keys,
                                     const curve::KeyPair& keys) {
    zmq::context_t client_context(1);
    zmq::socket_t client(client_context, zmq::socket_type::dealer);
    client.set(zmq::sockopt::linger, 0);
    curve::make_client(client, {server_keys.public_key, keys});
    client.connect(endpoint);
    client.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
    (void)context;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < until) {
        zmq::pollitem_t items[] = {{server.handle(), 0, ZMQ_POLLIN, 0},
                                   {zap.socket().handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 2, std::chrono::milliseconds(50));
        zap.answer_all();
        zmq::message_t routing, body;
        if (server.recv(routing, zmq::recv_flags::dontwait)) {
            (void)server.recv(body);
            return ZapHandler::role_of(body);
        }
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("the ZAP handler admits listed keys in their roles and no others" *
          doctest::test_suite("daemon")) {
    const auto server_keys = curve::generate(), client = curve::generate(), op = curve::generate(),
               stranger = curve::generate();
    zmq::context_t context(1);
    CurveAccess access;
    access.clients = std::vector<std::string>{client.public_key};
    access.operators = {op.public_key};
    ZapHandler zap(context, access);
    zmq::socket_t server(context, zmq::socket_type::router);
    server.set(zmq::sockopt::linger, 0);
    curve::make_server(server, server_keys);
    server.bind("tcp://127.0.0.1:*");
    const std::string endpoint = server.get(zmq::sockopt::last_endpoint);

    CHECK(role_seen(context, zap, server, endpoint, server_keys, client) == "client");
    CHECK(role_seen(context, zap, server, endpoint, server_keys, op) == "operator");
    CHECK_FALSE(role_seen(context, zap, server, endpoint, server_keys, stranger));
}

TEST_CASE("without a client list the ZAP handler admits any key as a client" *
          doctest::test_suite("daemon")) {
    const auto server_keys = curve::generate(), anyone = curve::generate();
    zmq::context_t context(1);
    ZapHandler zap(context, CurveAccess{});
    zmq::socket_t server(context, zmq::socket_type::router);
    server.set(zmq::sockopt::linger, 0);
    curve::make_server(server, server_keys);
    server.bind("tcp://127.0.0.1:*");
    const std::string endpoint = server.get(zmq::sockopt::last_endpoint);
    CHECK(role_seen(context, zap, server, endpoint, server_keys, anyone) == "client");
    // A client that has the wrong server key never gets through the handshake.
    const auto other_server = curve::generate();
    CHECK_FALSE(role_seen(context, zap, server, endpoint, other_server, anyone));
}
