// SPDX-License-Identifier: Apache-2.0
// SVM requests from a client that does not play by the ICD's rules: every address the daemon
// is sent is checked against the session's own allocations, with the exact error.
#include "raw_client.h"
#include "shared_daemon.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace rgpu;
using rgpu::test::ask;
using rgpu::test::daemon;
using rgpu::test::RawClient;
namespace req = rgpu::test::req;

namespace {

auto svm_alloc(uint64_t id, uint64_t context, uint64_t flags, uint64_t size, uint32_t alignment) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::SvmAlloc,
            wire::CreateSvmAlloc(fbb, id, context, flags, size, alignment).Union());
    };
}

auto svm_copy(uint64_t queue, uint64_t dst, uint64_t src, uint64_t size) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::SvmCopy,
                              wire::CreateSvmCopy(fbb, queue, dst, src, size).Union());
    };
}

/// The address an SvmAlloc request got (0 when it failed).
uint64_t allocated(RawClient& client, uint64_t session, uint64_t& seq, uint64_t id, uint64_t size) {
    client.send(session, seq++, svm_alloc(id, 1, CL_MEM_READ_WRITE, size, 0));
    auto frames = client.receive_reply();
    REQUIRE(frames);
    const auto& reply = RawClient::first_reply(*frames);
    REQUIRE(reply.status() == CL_SUCCESS);
    const auto* made = reply.body_as_SvmAllocated();
    REQUIRE(made != nullptr);
    return made->address();
}

} // namespace

TEST_CASE("SVM addresses outside the session's allocations are refused" *
          doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    auto answer = [&](auto build) { return ask(client, session, seq, build); };
    client.send(session, seq++, req::context(1), false);
    client.send(session, seq++, req::queue(2, 1), false);
    CHECK(answer(svm_alloc(3, 1, CL_MEM_READ_WRITE, 4096, 3)).first == CL_INVALID_VALUE);
    CHECK(answer(svm_alloc(3, 1, CL_MEM_SVM_FINE_GRAIN_BUFFER, 4096, 0)).first == CL_INVALID_VALUE);
    CHECK(answer(svm_alloc(3, 1, CL_MEM_READ_WRITE, uint64_t{1} << 62, 0)).first ==
          CL_MEM_OBJECT_ALLOCATION_FAILURE);
    const uint64_t a = allocated(client, session, seq, 3, 4096);
    const uint64_t b = allocated(client, session, seq, 4, 4096);
    CHECK(a != 0);
    CHECK(b != 0);
    CHECK(answer(svm_copy(2, b, a, 4096)).first == CL_SUCCESS);
    // One byte too many, a range in no allocation, the session's own pointer into the stack.
    const auto past = answer(svm_copy(2, b, a, 4097));
    CHECK(past.first == CL_INVALID_VALUE);
    CHECK(past.second == "the ranges are not inside the session's SVM allocations");
    CHECK(answer(svm_copy(2, 0x1000, a, 16)).first == CL_INVALID_VALUE);
    const auto write = answer([&](flatbuffers::FlatBufferBuilder& fbb) {
        auto w = wire::CreateWriteBuffer(fbb, 2, 0, a + 4000, 200, 0, 0, 0, true, true);
        return std::make_pair(wire::Request::WriteBuffer, w.Union());
    });
    CHECK(write.first == CL_INVALID_VALUE);
    CHECK(write.second == "the range is not inside one of the session's SVM allocations");
    const auto fill = answer([&](flatbuffers::FlatBufferBuilder& fbb) {
        const uint32_t pattern = 7;
        auto bytes = fbb.CreateVector(reinterpret_cast<const uint8_t*>(&pattern), sizeof pattern);
        auto f = wire::CreateFillBuffer(fbb, 2, 0, bytes, b + 4096, 4, 0, 0, true);
        return std::make_pair(wire::Request::FillBuffer, f.Union());
    });
    CHECK(fill.first == CL_INVALID_VALUE);
    // Exec info names only the session's memory; system SVM is never on offer.
    client.send(session, seq++, req::program(5, 1, "kernel void k(global int* p) { *p = 1; }"),
                false);
    client.send(session, seq++, req::build(5));
    auto built = client.receive_reply(std::chrono::seconds(60));
    REQUIRE(built);
    REQUIRE(RawClient::first_reply(*built).status() == CL_SUCCESS);
    client.send(session, seq++, req::kernel(6, 5, "k"), false);
    auto exec_info = [](std::vector<uint64_t> pointers, bool system, uint32_t param) {
        return [=](flatbuffers::FlatBufferBuilder& fbb) {
            auto info =
                wire::CreateSetKernelExecInfo(fbb, 6, fbb.CreateVector(pointers), system, param);
            return std::make_pair(wire::Request::SetKernelExecInfo, info.Union());
        };
    };
    CHECK(answer(exec_info({a, b + 16}, false, CL_KERNEL_EXEC_INFO_SVM_PTRS)).first == CL_SUCCESS);
    CHECK(answer(exec_info({a, 0x1000}, false, CL_KERNEL_EXEC_INFO_SVM_PTRS)).first ==
          CL_INVALID_VALUE);
    CHECK(answer(exec_info({}, true, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM)).first ==
          CL_INVALID_OPERATION);
    auto svm_arg = [](uint64_t address) {
        return [=](flatbuffers::FlatBufferBuilder& fbb) {
            auto arg =
                wire::CreateSetKernelArg(fbb, 6, 0, wire::ArgKind::SvmPointer, 0, 0, 0, address);
            return std::make_pair(wire::Request::SetKernelArg, arg.Union());
        };
    };
    CHECK(answer(svm_arg(a + 4096)).first == CL_SUCCESS); // just past the end: allowed
    CHECK(answer(svm_arg(0)).first == CL_SUCCESS);
    CHECK(answer(svm_arg(0x1000)).first == CL_INVALID_ARG_VALUE);
    // Freed memory is no longer the session's.
    CHECK(answer(req::release(3)).first == CL_SUCCESS);
    CHECK(answer(svm_copy(2, b, a, 16)).first == CL_INVALID_VALUE);
    CHECK(daemon().alive());
}
