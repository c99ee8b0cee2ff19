// SPDX-License-Identifier: Apache-2.0
// What one session may hold and cost, driven by a raw DEALER socket: device memory, objects,
// staged reads nobody reads, credit, threads. Beyond a bound the session (and only it) gets the
// exact error, or ends with its client told.
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
