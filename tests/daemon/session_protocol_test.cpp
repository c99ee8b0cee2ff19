// SPDX-License-Identifier: Apache-2.0
// Sessions driven by a raw DEALER socket: how they open, end, time out and come back (the token
// admits, a reattached client gets what it missed, resent commands run once), and the daemon's
// limit on how many there are.
#include "raw_client.h"
#include "shared_daemon.h"

#include <decode.h>
#include <harness.h>
#include <operator_client.h>
#include <protocol.h>

#include <CL/cl.h>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

using namespace rgpu;
using rgpu::test::ask;
using rgpu::test::daemon;
using rgpu::test::RawClient;
namespace req = rgpu::test::req;
using rgpu::SessionInfo;
using namespace std::chrono_literals;

using rgpu::test::build_kernel;
using rgpu::test::expect_rejection;

TEST_CASE("goodbye frees the session" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint32_t before = client.sessions();
    uint64_t session = client.hello();
    CHECK(client.sessions() == before + 1);
    client.send(
        session, 1,
        [](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::Goodbye, wire::CreateGoodbye(fbb).Union());
        },
        false);
    uint32_t after = before + 1;
    for (int i = 0; i < 50 && after != before; ++i) {
        std::this_thread::sleep_for(100ms);
        after = client.sessions();
    }
    CHECK(after == before);
}

TEST_CASE("silent session times out" * doctest::test_suite("daemon")) {
    e2e::DaemonProcess::Options options;
    options.session_timeout_s = 1;
    e2e::DaemonProcess short_lived(options);
    RawClient client(short_lived.endpoint());
    client.hello();
    CHECK(client.sessions() == 1);
    uint32_t sessions = 1;
    for (int i = 0; i < 50 && sessions != 0; ++i) {
        std::this_thread::sleep_for(100ms);
        sessions = client.sessions();
    }
    CHECK(sessions == 0);
    CHECK(short_lived.stop() == 0);
}

TEST_CASE("a worker accepts its session only with the token" * doctest::test_suite("daemon")) {
    RawClient owner(daemon().endpoint());
    uint64_t session = owner.hello();
    RawClient stranger(daemon().endpoint());
    stranger.impersonate(session, owner.worker_endpoint());
    CHECK(stranger.attach(owner.token() ^ 1) == proto::kStatusUnknownSession);
    // Commands from a connection that never attached are refused the same way.
    stranger.send(session, 1, [](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::GetInfo,
            wire::CreateGetInfo(fbb, wire::InfoKind::Device, 0, CL_DEVICE_NAME).Union());
    });
    auto refused = stranger.receive_reply();
    REQUIRE(refused);
    CHECK(RawClient::first_reply(*refused).status() == proto::kStatusUnknownSession);
    // The owner's session is untouched.
    owner.send(session, 1, [](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::GetInfo,
            wire::CreateGetInfo(fbb, wire::InfoKind::Device, 0, CL_DEVICE_NAME).Union());
    });
    auto answered = owner.receive_reply();
    REQUIRE(answered);
    CHECK(RawClient::first_reply(*answered).status() == CL_SUCCESS);
}

namespace {
/// The numbered read reply in `frames`: (message seq, the 4 bytes read).
std::pair<uint64_t, uint32_t> read_reply(const std::vector<zmq::message_t>& frames) {
    const auto* message = proto::decode_daemon_message(frames[0].data(), frames[0].size()).message;
    const auto& reply = *message->replies()->Get(0);
    REQUIRE(reply.status() == CL_SUCCESS);
    REQUIRE(reply.body_as_ReadData() != nullptr);
    REQUIRE(reply.data_frame() == 1);
    REQUIRE(frames.size() == 2);
    uint32_t value = 0;
    REQUIRE(frames[1].size() == sizeof value);
    std::memcpy(&value, frames[1].data(), sizeof value);
    return {message->seq(), value};
}
} // namespace

TEST_CASE("a reattached client gets what it missed and resent commands run once" *
          doctest::test_suite("daemon")) {
    RawClient first(daemon().endpoint());
    uint64_t session = first.hello();
    const uint32_t pattern = 0x5eed1234;
    const std::vector<uint64_t> no_wait;
    auto read = [&](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::ReadBuffer,
                              wire::CreateReadBuffer(fbb, 2, 3, 0, sizeof pattern, 0,
                                                     fbb.CreateVector(no_wait), 64u << 10)
                                  .Union());
    };
    auto batch = [&] {
        std::vector<zmq::message_t> bulk;
        bulk.emplace_back(&pattern, sizeof pattern);
        return std::make_pair(std::vector<RawClient::BatchCommand>{{test::req::context(1)},
                                                                   {test::req::queue(2, 1)},
                                                                   {test::req::buffer(3, 1, 4, 1)},
                                                                   {read}},
                              std::move(bulk));
    };
    auto [commands, bulk] = batch();
    first.send_batch(session, 1, commands, std::move(bulk));
    auto got = first.receive_reply();
    REQUIRE(got);
    auto [seq, value] = read_reply(*got);
    CHECK(seq >= 1);
    CHECK(value == pattern);

    // The connection is lost before the client confirmed the read: on a new one the worker
    // sends it again, numbered the same, right after the Attach reply.
    RawClient second(daemon().endpoint());
    second.impersonate(session, first.worker_endpoint());
    REQUIRE(second.attach(first.token()) == CL_SUCCESS);
    auto again = second.receive_reply();
    REQUIRE(again);
    CHECK(read_reply(*again) == std::make_pair(seq, pattern));

    // The client sends its last batch again (it did not know it arrived): nothing runs twice.
    // Had it run, creating object 1 again would be refused with an error reply.
    auto [same, same_bulk] = batch();
    second.send_batch(session, 1, same, std::move(same_bulk));
    CHECK_FALSE(second.receive_reply(500ms));
    // The session goes on from where it was: the next read is the next numbered message.
    second.send(session, 5, read, false);
    auto next = second.receive_reply();
    REQUIRE(next);
    CHECK(read_reply(*next) == std::make_pair(seq + 1, pattern));

    // The old connection is no longer the session's.
    first.send(session, 6, read, false);
    auto refused = first.receive_reply();
    REQUIRE(refused);
    CHECK(RawClient::first_reply(*refused).status() == proto::kStatusUnknownSession);
}

TEST_CASE("a resumed Hello finds the session only with its token" * doctest::test_suite("daemon")) {
    RawClient owner(daemon().endpoint());
    uint64_t session = owner.hello();
    auto resume = [&](uint64_t token) {
        RawClient back(daemon().endpoint());
        auto frames = back.ask_supervisor([&](flatbuffers::FlatBufferBuilder& fbb) {
            auto h = wire::CreateHello(fbb, fbb.CreateString("resuming"), 1, session, token);
            return std::make_pair(wire::Request::Hello, h.Union());
        });
        const auto& reply = RawClient::first_reply(frames);
        const auto* welcome = reply.body_as_Welcome();
        return std::make_tuple(reply.status(), welcome ? welcome->session() : 0,
                               welcome && welcome->worker_endpoint()
                                   ? welcome->worker_endpoint()->str()
                                   : std::string());
    };
    auto [status, id, worker] = resume(owner.token());
    CHECK(status == CL_SUCCESS);
    CHECK(id == session);
    CHECK(owner.worker_endpoint().substr(owner.worker_endpoint().rfind(':')) ==
          worker.substr(worker.rfind(':')));
    CHECK(std::get<0>(resume(owner.token() ^ 1)) == proto::kStatusUnknownSession);
    // The daemon holds no more sessions than before.
    CHECK(owner.sessions() >= 1);
}

TEST_CASE("a killed session's client is told at once" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    RawClient operator_(daemon().endpoint());
    CHECK(operator_.kill(session) == CL_SUCCESS);
    auto reason = client.wait_session_ended(10s);
    REQUIRE(reason);
    CHECK(*reason == "ended by the operator");
    CHECK(client.ended_status() == CL_OUT_OF_RESOURCES);
    CHECK(operator_.kill(session) == CL_INVALID_VALUE); // gone
}

TEST_CASE("sessions beyond the daemon's limit are refused" * doctest::test_suite("daemon")) {
    e2e::DaemonProcess::Options options;
    options.extra_args = {"--max-sessions", "1", "--warm-workers", "1"};
    e2e::DaemonProcess limited(options);
    RawClient first(limited.endpoint());
    uint64_t session = first.hello();
    RawClient second(limited.endpoint());
    second.send(0, 0, [](flatbuffers::FlatBufferBuilder& fbb) {
        auto h = wire::CreateHello(fbb, fbb.CreateString("second"), 2);
        return std::make_pair(wire::Request::Hello, h.Union());
    });
    auto refused = second.receive_reply();
    REQUIRE(refused);
    const auto& reply = RawClient::first_reply(*refused);
    CHECK(reply.status() == CL_OUT_OF_RESOURCES);
    REQUIRE(reply.message() != nullptr);
    CHECK(reply.message()->str() == "the daemon already serves its maximum of 1 sessions");
    // Once the first leaves, there is room again.
    first.send(
        session, 1,
        [](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::Goodbye, wire::CreateGoodbye(fbb).Union());
        },
        false);
    uint32_t sessions = 1;
    for (int i = 0; i < 50 && sessions != 0; ++i) {
        std::this_thread::sleep_for(100ms);
        sessions = second.sessions();
    }
    REQUIRE(sessions == 0);
    RawClient third(limited.endpoint());
    third.hello("third");
    CHECK(limited.stop() == 0);
}
