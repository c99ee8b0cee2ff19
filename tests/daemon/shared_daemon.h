// SPDX-License-Identifier: Apache-2.0
// The one rgpu-daemon the daemon test cases of this process share, and the steps they all use:
// a request and its answer, an expected refusal, a kernel built.
#pragma once

#include "raw_client.h"

#include <harness.h>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>

namespace rgpu::test {

/// Started by the first test case that asks; stopped when the process ends.
inline e2e::DaemonProcess& daemon() {
    static e2e::DaemonProcess d;
    return d;
}

/// Sends the request `build` makes as command `seq` (moving past it) and waits for its reply:
/// the status and the message.
template <class Build>
std::pair<int32_t, std::string> ask(RawClient& client, uint64_t session, uint64_t& seq,
                                    Build build) {
    client.send(session, seq++, build);
    auto frames = client.receive_reply();
    REQUIRE(frames);
    const auto& reply = RawClient::first_reply(*frames);
    return {reply.status(), reply.message() ? reply.message()->str() : ""};
}

/// Expects the next reply to be a protocol error whose message is exactly `text`.
inline void expect_rejection(RawClient& client, const std::string& text) {
    auto frames = client.receive_reply();
    REQUIRE(frames);
    const auto& reply = RawClient::first_reply(*frames);
    CHECK(reply.status() == proto::kStatusProtocolError);
    REQUIRE(reply.message() != nullptr);
    CHECK(reply.message()->str() == text);
}

/// Creates program 3 in context 1 from `source`, builds it (waiting for the reply) and creates
/// kernel 4 named `name`; `seq` moves past the three commands.
inline void build_kernel(RawClient& client, uint64_t session, uint64_t& seq,
                         const std::string& source, const std::string& name) {
    client.send(session, seq++, req::program(3, 1, source), false);
    client.send(session, seq++, req::build(3));
    auto built = client.receive_reply(60s);
    REQUIRE(built);
    REQUIRE(RawClient::first_reply(*built).status() == CL_SUCCESS);
    client.send(session, seq++, req::kernel(4, 3, name), false);
}

} // namespace rgpu::test
