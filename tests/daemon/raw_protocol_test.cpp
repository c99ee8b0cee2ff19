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

using rgpu::test::build_kernel;
using rgpu::test::expect_rejection;
constexpr int32_t kProtocolError = proto::kStatusProtocolError;

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
