// SPDX-License-Identifier: Apache-2.0
// The one rgpu-daemon the daemon test cases of this process share, and the request-and-answer
// step they all use.
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

} // namespace rgpu::test
