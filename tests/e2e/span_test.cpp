// SPDX-License-Identifier: Apache-2.0
// One platform over several daemons: a context spanning two daemons on loopback, each with one
// POCL device; the client (rgpu-e2e-client span-flow) checks every result on the host.
#include <doctest/doctest.h>

#include "client_process.h"
#include "harness.h"

#include <string>

using namespace rgpu::e2e;

TEST_CASE("a context spans two daemons and buffers and events cross between them" *
          doctest::test_suite("span")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess first, second;
    ChildProcess client(
        {client_path(), "span-flow"},
        client_env(first, vendors, {"RGPU_SERVERS=" + first.endpoint() + "," + second.endpoint()}));
    check_exit(client, "the span-flow client", kClientOk, &second);
    CHECK(first.stop() == 0);
    CHECK(second.stop() == 0);
}

TEST_CASE("a daemon that is down contributes no devices and the others serve" *
          doctest::test_suite("span")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess first, second;
    const std::string down = "tcp://127.0.0.1:" + std::to_string(unused_loopback_port());
    // The connect bound is all a daemon that is down can cost (the daemons are asked at once).
    ChildProcess client(
        {client_path(), "span-flow"},
        client_env(first, vendors,
                   {"RGPU_SERVERS=" + first.endpoint() + "," + down + "," + second.endpoint(),
                    "RGPU_CONNECT_TIMEOUT_MS=2000"}));
    check_exit(client, "the span-flow client", kClientOk, &second);
    CHECK(first.stop() == 0);
    CHECK(second.stop() == 0);
}
