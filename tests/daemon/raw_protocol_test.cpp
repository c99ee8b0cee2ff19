// SPDX-License-Identifier: Apache-2.0
// The daemon's receive path under bad input, driven by a raw DEALER socket: every malformed or
// hostile message gets an error reply naming the problem, and the daemon keeps serving.
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

namespace {

constexpr int32_t kProtocolError = proto::kStatusProtocolError;

/// Expects the next reply to be a protocol error whose message is exactly `text`.
void expect_rejection(RawClient& client, const std::string& text) {
    auto frames = client.receive_reply();
    REQUIRE(frames);
    const auto& reply = RawClient::first_reply(*frames);
    CHECK(reply.status() == kProtocolError);
    REQUIRE(reply.message() != nullptr);
    CHECK(reply.message()->str() == text);
}

/// Creates program 3 in context 1 from `source`, builds it (waiting for the reply) and creates
/// kernel 4 named `name`; `seq` moves past the three commands.
void build_kernel(RawClient& client, uint64_t session, uint64_t& seq, const std::string& source,
                  const std::string& name) {
    client.send(session, seq++, req::program(3, 1, source), false);
    client.send(session, seq++, req::build(3));
    auto built = client.receive_reply(60s);
    REQUIRE(built);
    REQUIRE(RawClient::first_reply(*built).status() == CL_SUCCESS);
    client.send(session, seq++, req::kernel(4, 3, name), false);
}

} // namespace

TEST_CASE("garbage envelope gets an error reply" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    std::vector<zmq::message_t> frames;
    frames.emplace_back(std::string("this is not a flatbuffer"));
    client.send_frames(std::move(frames));
    expect_rejection(client, "envelope lacks the RGPU file identifier");
    CHECK(daemon().alive());
    CHECK(client.sessions() == 0);
}

TEST_CASE("truncated envelope gets an error reply" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    std::vector<zmq::message_t> frames;
    frames.emplace_back(std::string("xxxxRGPU"));
    client.send_frames(std::move(frames));
    expect_rejection(client, "envelope failed FlatBuffers verification");
    CHECK(daemon().alive());
}

TEST_CASE("command without a session is refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    client.send(0, 0, [](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::CreateContext,
                              wire::CreateCreateContext(fbb, 1).Union());
    });
    expect_rejection(client,
                     "only Hello, StatusRequest and operator requests may come without a session");
}

TEST_CASE("unknown session is refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    client.send(12345, 1, [](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::FinishQueue, wire::CreateFinishQueue(fbb, 1).Union());
    });
    auto frames = client.receive_reply();
    REQUIRE(frames);
    CHECK(RawClient::first_reply(*frames).status() == proto::kStatusUnknownSession);
}

TEST_CASE("sequence gap is refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    client.send(session, 5, [](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::FinishQueue, wire::CreateFinishQueue(fbb, 1).Union());
    });
    expect_rejection(client, "sequence gap: expected 1");
}

TEST_CASE("unknown object ids are refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    client.send(session, 1, req::queue(2, 99));
    expect_rejection(client, "unknown context 99");
    client.send(session, 2, req::release(77));
    expect_rejection(client, "release of unknown object 77");
}

TEST_CASE("bulk frame that does not match is refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    client.send(session, 1, req::context(1));
    auto ack = client.receive_reply();
    REQUIRE(ack);
    CHECK(RawClient::first_reply(*ack).status() == CL_SUCCESS);
    // Claims 4096 bytes of initial data in frame 1 but sends 16.
    std::vector<zmq::message_t> bulk;
    bulk.emplace_back(16);
    client.send(session, 2, req::buffer(2, 1, 4096, 1), true, std::move(bulk));
    expect_rejection(client, "initial data frame missing or of the wrong size");
    // The same id may not be taken twice either.
    client.send(session, 3, req::context(1));
    expect_rejection(client, "object id 1 is already in use");
}

TEST_CASE("bytes for a buffer argument are refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    client.send(session, seq++, req::context(1), false);
    client.send(
        session, seq++,
        [](flatbuffers::FlatBufferBuilder& fbb) {
            auto src = fbb.CreateString("__kernel void k(__global int* p) { p[0] = 1; }");
            return std::make_pair(wire::Request::CreateProgramWithSource,
                                  wire::CreateCreateProgramWithSource(fbb, 2, 1, src).Union());
        },
        false);
    client.send(session, seq++, [](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::BuildProgram,
                              wire::CreateBuildProgram(fbb, 2).Union());
    });
    auto built = client.receive_reply(60s);
    REQUIRE(built);
    REQUIRE(RawClient::first_reply(*built).status() == CL_SUCCESS);
    client.send(
        session, seq++,
        [](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(
                wire::Request::CreateKernel,
                wire::CreateCreateKernel(fbb, 3, 2, fbb.CreateString("k")).Union());
        },
        false);
    // A pointer-sized value where the kernel takes a buffer: natively this would be dereferenced.
    uint64_t bogus = 0xdeadbeef;
    client.send(session, seq++, [&](flatbuffers::FlatBufferBuilder& fbb) {
        auto bytes = fbb.CreateVector(reinterpret_cast<const uint8_t*>(&bogus), sizeof bogus);
        return std::make_pair(
            wire::Request::SetKernelArg,
            wire::CreateSetKernelArg(fbb, 3, 0, wire::ArgKind::Value, bytes).Union());
    });
    auto reply = client.receive_reply();
    REQUIRE(reply);
    CHECK(RawClient::first_reply(*reply).status() == CL_INVALID_ARG_VALUE);
    CHECK(daemon().alive());
}

TEST_CASE("a launch naming a released buffer is refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    auto post = [&](auto build) { client.send(session, seq++, build, false); };
    post(req::context(1));
    post(req::queue(2, 1));
    build_kernel(client, session, seq, "__kernel void k(__global int* p) { p[0] = 1; }", "k");
    post(req::buffer(5, 1, 64));
    post([](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::SetKernelArg,
            wire::CreateSetKernelArg(fbb, 4, 0, wire::ArgKind::Mem, 0, 5).Union());
    });
    post(req::release(5));
    std::vector<uint64_t> global{1};
    client.send(session, seq++, [&](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::NDRangeKernel,
            wire::CreateNDRangeKernel(fbb, 2, 4, 1, 0, fbb.CreateVector(global)).Union());
    });
    auto reply = client.receive_reply();
    REQUIRE(reply);
    const auto& r = RawClient::first_reply(*reply);
    CHECK(r.status() == CL_INVALID_KERNEL_ARGS);
    REQUIRE(r.message() != nullptr);
    CHECK(r.message()->str() == "argument 0 names released object 5");
    CHECK(daemon().alive());
}

TEST_CASE("too many frames are refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    std::vector<zmq::message_t> frames;
    for (size_t i = 0; i < proto::kMaxFrames + 5; ++i)
        frames.emplace_back(1);
    client.send_frames(std::move(frames));
    expect_rejection(client, "message has more than the allowed number of frames");
    CHECK(daemon().alive());
}

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

TEST_CASE("info that holds daemon handles is refused" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    client.send(session, 1, req::context(1), false);
    client.send(session, 2, [](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::GetInfo,
            wire::CreateGetInfo(fbb, wire::InfoKind::Context, 1, CL_CONTEXT_DEVICES).Union());
    });
    expect_rejection(client, "GetInfo parameter 4225 holds daemon handles; the client answers it");
    client.send(session, 3, [](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::GetInfo,
            wire::CreateGetInfo(fbb, wire::InfoKind::Context, 1, CL_CONTEXT_NUM_DEVICES).Union());
    });
    auto reply = client.receive_reply();
    REQUIRE(reply);
    CHECK(RawClient::first_reply(*reply).status() == CL_SUCCESS);
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

TEST_CASE("client names cannot forge or flood log lines" * doctest::test_suite("daemon")) {
    e2e::DaemonProcess::Options options;
    options.log_level = "info";
    e2e::DaemonProcess logged(options);
    RawClient client(logged.endpoint());
    std::string name = "evil\n2026-01-01 00:00:00.000 info rgpu-daemon: FORGED\x1b[31m";
    name += std::string(100000, 'A');
    client.hello(name);
    std::string log = logged.log_tail(1 << 20);
    CHECK(log.find("\nFORGED") == std::string::npos);
    CHECK(log.find("\n2026-01-01") == std::string::npos);
    CHECK(log.find("evil\\x0a2026-01-01") != std::string::npos);
    CHECK(log.find("\x1b") == std::string::npos);
    CHECK(log.find("...(" + std::to_string(name.size()) + " bytes)") != std::string::npos);
    CHECK(log.size() < 20000);
    CHECK(logged.stop() == 0);
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

TEST_CASE("device memory and objects are bounded per session" * doctest::test_suite("daemon")) {
    e2e::DaemonProcess::Options options;
    options.extra_args = {"--max-device-memory", "1048576", "--max-objects", "16"};
    e2e::DaemonProcess limited(options);
    RawClient client(limited.endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    client.send(session, seq++, req::context(1), false);
    auto create_buffer = [&](uint64_t id, uint64_t size) {
        client.send(session, seq++, req::buffer(id, 1, size));
        auto frames = client.receive_reply();
        REQUIRE(frames);
        const auto& reply = RawClient::first_reply(*frames);
        return std::make_pair(reply.status(), reply.message() ? reply.message()->str() : "");
    };
    CHECK(create_buffer(2, 768 * 1024).first == CL_SUCCESS);
    auto over = create_buffer(3, 512 * 1024);
    CHECK(over.first == CL_MEM_OBJECT_ALLOCATION_FAILURE);
    CHECK(over.second ==
          "the session's buffers would exceed its device memory quota of 1048576 bytes");
    // Releasing makes room again.
    client.send(session, seq++, req::release(2), false);
    CHECK(create_buffer(3, 512 * 1024).first == CL_SUCCESS);
    // Objects: the context and buffer 3 hold two of sixteen.
    for (uint64_t id = 10; id < 24; ++id)
        REQUIRE(create_buffer(id, 16).first == CL_SUCCESS);
    auto full = create_buffer(24, 16);
    CHECK(full.first == CL_OUT_OF_HOST_MEMORY);
    CHECK(full.second == "the session holds its maximum of 16 objects");
    CHECK(limited.stop() == 0);
}

TEST_CASE("a buffer is released only after its sub-buffers" * doctest::test_suite("daemon")) {
    // Else a client could free its quota while sub-buffers keep the memory, and a checkpoint
    // would hold sub-buffers without their parent.
    e2e::DaemonProcess::Options options;
    options.extra_args = {"--max-device-memory", "1048576"};
    e2e::DaemonProcess limited(options);
    RawClient client(limited.endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    auto answer = [&](auto build) { return ask(client, session, seq, build); };
    client.send(session, seq++, req::context(1), false);
    REQUIRE(answer(req::buffer(2, 1, 768 * 1024)).first == CL_SUCCESS);
    REQUIRE(answer([](flatbuffers::FlatBufferBuilder& fbb) {
                return std::make_pair(wire::Request::CreateSubBuffer,
                                      wire::CreateCreateSubBuffer(fbb, 3, 2, 0, 0, 4096).Union());
            }).first == CL_SUCCESS);
    auto early = answer(req::release(2));
    CHECK(early.first == kProtocolError);
    CHECK(early.second == "release of buffer 2 before its 1 sub-buffer(s)");
    // Still counted: no room for another large buffer.
    CHECK(answer(req::buffer(4, 1, 512 * 1024)).first == CL_MEM_OBJECT_ALLOCATION_FAILURE);
    REQUIRE(answer(req::release(3)).first == CL_SUCCESS);
    REQUIRE(answer(req::release(2)).first == CL_SUCCESS);
    CHECK(answer(req::buffer(4, 1, 512 * 1024)).first == CL_SUCCESS);
    CHECK(limited.stop() == 0);
}

TEST_CASE("an image views only a buffer of its own context" * doctest::test_suite("daemon")) {
    // POCL asserts on a buffer of another context, which would end the session's worker; the
    // receive-path fuzzer found it. An image is no buffer to view either.
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    auto answer = [&](auto build) { return ask(client, session, seq, build); };
    auto image_of = [](uint64_t id, uint64_t context, uint64_t buffer) {
        return [=](flatbuffers::FlatBufferBuilder& fbb) {
            auto image =
                wire::CreateCreateImage(fbb, id, context, CL_MEM_READ_WRITE, CL_R, CL_FLOAT,
                                        CL_MEM_OBJECT_IMAGE1D_BUFFER, 16, 0, 0, 0, buffer);
            return std::make_pair(wire::Request::CreateImage, image.Union());
        };
    };
    client.send(session, seq++, req::context(1), false);
    client.send(session, seq++, req::context(2), false);
    REQUIRE(answer(req::buffer(3, 2, 4096)).first == CL_SUCCESS);
    const auto other = answer(image_of(4, 1, 3));
    CHECK(other.first == CL_INVALID_IMAGE_DESCRIPTOR);
    CHECK(other.second == "an image views a buffer of its own context");
    REQUIRE(answer(image_of(4, 2, 3)).first == CL_SUCCESS);
    CHECK(answer(image_of(5, 2, 4)).first == CL_INVALID_IMAGE_DESCRIPTOR);
    // A read far beyond the image is refused before it is split into pieces (the fuzzer's
    // region asked for 8 GiB of piece descriptions).
    client.send(session, seq++, req::queue(9, 2), false);
    CHECK(answer([](flatbuffers::FlatBufferBuilder& fbb) {
              std::vector<uint64_t> origin{0, 0, 0}, region{1, uint64_t{1} << 40, 1};
              auto read =
                  wire::CreateReadImage(fbb, 9, 4, fbb.CreateVector(origin),
                                        fbb.CreateVector(region), 0, 0, proto::kMinReadChunkBytes);
              return std::make_pair(wire::Request::ReadImage, read.Union());
          }).first == CL_INVALID_VALUE);
    // A context id released and used again names another native context.
    client.send(session, seq++, req::context(6), false);
    REQUIRE(answer(req::buffer(7, 6, 4096)).first == CL_SUCCESS);
    REQUIRE(answer(req::release(6)).first == CL_SUCCESS);
    client.send(session, seq++, req::context(6), false);
    CHECK(answer(image_of(8, 6, 7)).first == CL_INVALID_IMAGE_DESCRIPTOR);
    // The worker lives on and the image is usable.
    CHECK(answer(req::release(4)).first == CL_SUCCESS);
    CHECK(answer(req::release(3)).first == CL_SUCCESS);
}

namespace {
/// Resident memory of process `pid` in bytes (0 if it cannot be read).
uint64_t resident_bytes(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return 0;
}
} // namespace

TEST_CASE("queued reads of a client that never reads cost a bounded amount" *
          doctest::test_suite("daemon")) {
    e2e::DaemonProcess::Options options;
    options.extra_args = {"--max-staging", "33554432"};
    // Under ASan freed blocks sit in its quarantine (256 MiB by default) and count as resident.
    if (const char* asan = std::getenv("ASAN_OPTIONS"))
        options.extra_env = {std::string("ASAN_OPTIONS=") + asan + ":quarantine_size_mb=4"};
    e2e::DaemonProcess bounded(options);
    RawClient client(bounded.endpoint());
    uint64_t session = client.hello();
    std::string error;
    auto sessions = rgpu::list_sessions(bounded.endpoint(), 5s, &error);
    REQUIRE_MESSAGE(sessions, error);
    REQUIRE(sessions->size() == 1);
    const pid_t worker = static_cast<pid_t>(sessions->front().worker_pid);
    uint64_t seq = 1;
    const uint64_t size = 16u << 20;
    client.send(session, seq++, req::context(1), false);
    client.send(session, seq++, req::queue(2, 1), false);
    client.send(session, seq++, req::buffer(3, 1, size));
    auto created = client.receive_reply();
    REQUIRE(created);
    REQUIRE(RawClient::first_reply(*created).status() == CL_SUCCESS);
    std::this_thread::sleep_for(300ms);
    const uint64_t before = resident_bytes(worker);
    // 48 reads of 16 MiB (768 MiB) queued at once, and none of their data read back.
    const std::vector<uint64_t> no_wait;
    for (int i = 0; i < 48; ++i)
        client.send(
            session, seq++,
            [&](flatbuffers::FlatBufferBuilder& fbb) {
                return std::make_pair(wire::Request::ReadBuffer,
                                      wire::CreateReadBuffer(fbb, 2, 3, 0, size, 0,
                                                             fbb.CreateVector(no_wait), 4u << 20)
                                          .Union());
            },
            false);
    uint64_t peak = 0;
    for (int i = 0; i < 30; ++i) {
        std::this_thread::sleep_for(100ms);
        peak = std::max(peak, resident_bytes(worker));
    }
    MESSAGE("worker resident before " << before / 1048576 << " MiB, peak " << peak / 1048576
                                      << " MiB");
    CHECK(peak > 0);
    // The staging budget (32 MiB) plus what the kernel's socket buffers took off ZeroMQ.
    CHECK(peak < before + (160u << 20));
    CHECK(bounded.stop() == 0);
}

TEST_CASE("a client beyond its credit is refused and only it" * doctest::test_suite("daemon")) {
    // The worker's executor is held up (a read needs staging room that only a kernel which never
    // ends would free), so every later message stays in flight; an honest client would stop at
    // the announced credit, this one goes on and is refused.
    e2e::DaemonProcess::Options options;
    options.extra_args = {"--max-commands-in-flight",
                          "16",
                          "--max-bytes-in-flight",
                          "65536",
                          "--max-staging",
                          "1048576"};
    e2e::DaemonProcess limited(options);
    RawClient client(limited.endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    auto post = [&](auto build) { client.send(session, seq++, build, false); };
    post(req::context(1));
    post(req::queue(2, 1));
    build_kernel(client, session, seq,
                 "__kernel void spin(__global volatile int* flag) { while (flag[0] == 0) {} }",
                 "spin");
    // The flag starts at zero (initial data), the read target is large enough for two chunks.
    std::vector<zmq::message_t> zero;
    zero.emplace_back(4);
    std::memset(zero.back().data(), 0, 4);
    client.send(session, seq++, req::buffer(5, 1, 4, 1), false, std::move(zero));
    post(req::buffer(6, 1, 2u << 20));
    post([](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::SetKernelArg,
            wire::CreateSetKernelArg(fbb, 4, 0, wire::ArgKind::Mem, 0, 5).Union());
    });
    std::vector<uint64_t> global{1};
    post([&](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::NDRangeKernel,
            wire::CreateNDRangeKernel(fbb, 2, 4, 1, 0, fbb.CreateVector(global)).Union());
    });
    // One message: a command whose reply proves the executor took the message up, then a read
    // of two 1 MiB chunks behind the kernel: the second waits for room the first never frees.
    const std::vector<uint64_t> no_wait;
    client.send_batch(session, seq,
                      {{req::buffer(7, 1, 64), true},
                       {[&](flatbuffers::FlatBufferBuilder& fbb) {
                            return std::make_pair(wire::Request::ReadBuffer,
                                                  wire::CreateReadBuffer(fbb, 2, 6, 0, 2u << 20, 0,
                                                                         fbb.CreateVector(no_wait),
                                                                         1u << 20)
                                                      .Union());
                        },
                        false}});
    seq += 2;
    auto taken = client.receive_reply(10s);
    REQUIRE(taken);
    REQUIRE(RawClient::first_reply(*taken).status() == CL_SUCCESS);

    const std::string refusal =
        "message exceeds the session's credit (16 commands, 65536 bytes in flight at most)";
    // Bytes: with a message in flight, one whose frames exceed the byte credit is refused (alone
    // it would go: an honest client sends it once nothing is in flight).
    post(req::release(100));
    std::vector<zmq::message_t> big;
    big.emplace_back(65536);
    std::memset(big.back().data(), 0x5a, 65536);
    client.send(session, seq, req::buffer(8, 1, 65536, 1), false, std::move(big));
    expect_rejection(client, refusal);
    // Commands: a refused message used up no sequence number. Fifteen more fit in the credit of
    // sixteen, the seventeenth does not.
    for (int i = 1; i < 16; ++i)
        post(req::release(100 + i));
    post(req::release(200));
    expect_rejection(client, refusal);
    // The operator's listing shows the backlog and what the session holds (as of the last
    // message the executor finished: context, queue, program, kernel and two buffers).
    std::optional<SessionInfo> listed;
    for (int i = 0; i < 50 && !(listed && listed->commands_in_flight == 16); ++i) {
        std::string error;
        auto list = rgpu::list_sessions(limited.endpoint(), 5s, &error);
        REQUIRE_MESSAGE(list, error);
        REQUIRE(list->size() == 1);
        listed = list->front();
        if (listed->commands_in_flight != 16) std::this_thread::sleep_for(100ms);
    }
    REQUIRE(listed);
    CHECK(listed->id == session);
    CHECK(listed->state == "attached");
    CHECK(listed->commands_in_flight == 16);
    CHECK(listed->bytes_in_flight > 0);
    CHECK(listed->objects == 6);
    CHECK(listed->device_bytes == 4 + (2u << 20));
    // The daemon's status counts what its workers refused (reported within a second).
    uint64_t rejected = 0;
    for (int i = 0; i < 50 && rejected < 2; ++i) {
        rejected = client.rejected();
        if (rejected < 2) std::this_thread::sleep_for(100ms);
    }
    CHECK(rejected == 2);

    // A second session on the same daemon is untouched.
    RawClient other(limited.endpoint());
    uint64_t other_session = other.hello("bystander");
    other.send(other_session, 1, req::context(1));
    auto answered = other.receive_reply();
    REQUIRE(answered);
    CHECK(RawClient::first_reply(*answered).status() == CL_SUCCESS);

    CHECK(client.kill(session) == CL_SUCCESS);
    CHECK(limited.stop() == 0);
}

TEST_CASE("a worker beyond its thread limit is killed and its client told" *
          doctest::test_suite("daemon")) {
    // No client can make a worker start threads (POCL's pool and rgpu's own are fixed), so the
    // bound is set below what any worker runs: the supervisor's check must end the session.
    e2e::DaemonProcess::Options options;
    options.extra_args = {"--max-worker-threads", "4"};
    e2e::DaemonProcess limited(options);
    RawClient client(limited.endpoint());
    client.hello();
    auto reason = client.wait_session_ended(10s);
    REQUIRE(reason);
    CHECK(client.ended_status() == CL_OUT_OF_RESOURCES);
    CHECK(reason->rfind("its worker exceeded the thread limit (", 0) == 0);
    CHECK(reason->find(" threads, at most 4)") != std::string::npos);
    CHECK(limited.alive());
    CHECK(limited.stop() == 0);
}

TEST_CASE("mutated messages never take the daemon down" * doctest::test_suite("daemon")) {
    // Valid requests with a few bytes flipped: each must be refused or executed, and a probe
    // right after it must still be answered. The mutation is deterministic (fixed seed).
    e2e::DaemonProcess fuzzed;
    RawClient client(fuzzed.endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    client.send(session, seq++, req::context(1), false);
    client.send(session, seq++, req::queue(2, 1), false);
    client.send(session, seq++, req::buffer(3, 1, 4096));
    auto created = client.receive_reply();
    REQUIRE(created);
    REQUIRE(RawClient::first_reply(*created).status() == CL_SUCCESS);

    using Template = std::function<std::pair<wire::Request, flatbuffers::Offset<void>>(
        flatbuffers::FlatBufferBuilder&)>;
    const std::vector<uint64_t> no_wait;
    const std::vector<Template> templates = {
        [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(
                wire::Request::WriteBuffer,
                wire::CreateWriteBuffer(fbb, 2, 3, 64, 16, 1, 0, fbb.CreateVector(no_wait), true)
                    .Union());
        },
        [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(
                wire::Request::ReadBuffer,
                wire::CreateReadBuffer(fbb, 2, 3, 0, 256, 0, fbb.CreateVector(no_wait), 128)
                    .Union());
        },
        [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::CopyBuffer,
                                  wire::CreateCopyBuffer(fbb, 2, 3, 3, 0, 1024, 512).Union());
        },
        [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(
                wire::Request::GetInfo,
                wire::CreateGetInfo(fbb, wire::InfoKind::Mem, 3, CL_MEM_SIZE).Union());
        },
        [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::SetUserEventStatus,
                                  wire::CreateSetUserEventStatus(fbb, 3, CL_COMPLETE).Union());
        },
        [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::Marker,
                                  wire::CreateMarker(fbb, 2, 0, fbb.CreateVector(no_wait)).Union());
        },
    };

    // RGPU_FUZZ_ROUNDS and RGPU_FUZZ_SEED let a longer search run by hand; CI uses the defaults.
    const char* rounds_env = std::getenv("RGPU_FUZZ_ROUNDS");
    const char* seed_env = std::getenv("RGPU_FUZZ_SEED");
    const int rounds = rounds_env ? std::atoi(rounds_env) : 300;
    uint32_t state = seed_env ? static_cast<uint32_t>(std::atol(seed_env)) : 2024;
    auto next = [&] {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    };
    for (int round = 0; round < rounds; ++round) {
        flatbuffers::FlatBufferBuilder fbb;
        auto [type, body] = templates[round % templates.size()](fbb);
        std::vector<flatbuffers::Offset<wire::Command>> commands{
            wire::CreateCommand(fbb, type, body, true)};
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, session, seq,
                                             fbb.CreateVector(commands)),
                   proto::kFileIdentifier);
        std::vector<uint8_t> bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
        for (uint32_t flips = 1 + next() % 3; flips > 0; --flips) {
            size_t at =
                8 + next() % (bytes.size() - 8); // keep the identifier: test what follows it
            bytes[at] ^= static_cast<uint8_t>(1u << (next() % 8));
        }
        std::vector<zmq::message_t> frames;
        frames.emplace_back(bytes.data(), bytes.size());
        frames.emplace_back(16); // bulk for the write template
        client.send_frames(std::move(frames), true);
        // The probe: a valid query with the next sequence number. A mutation may have consumed
        // zero or more sequence numbers; the daemon says which one it expects.
        for (int attempt = 0; attempt < 3; ++attempt) {
            client.send(session, seq + 1, [](flatbuffers::FlatBufferBuilder& f) {
                return std::make_pair(
                    wire::Request::GetInfo,
                    wire::CreateGetInfo(f, wire::InfoKind::Mem, 3, CL_MEM_SIZE).Union());
            });
            bool answered = false;
            while (auto reply = client.receive_reply(5s)) {
                const auto& r = RawClient::first_reply(*reply);
                if (r.seq() == seq + 1 && r.status() == CL_SUCCESS) {
                    answered = true;
                    break;
                }
                std::string text = r.message() ? r.message()->str() : "";
                if (text.rfind("sequence gap: expected ", 0) == 0) {
                    seq = std::stoull(text.substr(23)) - 1;
                    break;
                }
            }
            if (answered) break;
            REQUIRE_MESSAGE(fuzzed.alive(),
                            "rgpu-daemon died at round " << round << ": " << fuzzed.log_tail(6000));
        }
        seq += 2;
        REQUIRE_MESSAGE(fuzzed.alive(),
                        "rgpu-daemon died at round " << round << ": " << fuzzed.log_tail(6000));
    }
    CHECK(client.sessions() == 1);
    CHECK(fuzzed.stop() == 0);
}
