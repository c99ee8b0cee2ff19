// SPDX-License-Identifier: Apache-2.0
// One platform over several daemons: a context spanning two daemons on loopback, each with one
// POCL device; the client (rgpu-e2e-client span-flow) checks every result on the host.
#include <doctest/doctest.h>

#include "client_process.h"
#include "harness.h"

#include <string>
#include <utility>
#include <vector>

using namespace rgpu::e2e;

namespace {

/// Daemons that log each buffer their workers fetch from another daemon.
DaemonProcess::Options logging_moves(std::vector<std::string> extra_args = {}) {
    DaemonProcess::Options options;
    options.log_level = "debug";
    options.extra_args = std::move(extra_args);
    return options;
}

/// How many buffers a daemon's workers fetched straight from another daemon, and how many
/// they could not.
std::pair<size_t, size_t> fetches(const DaemonProcess& daemon) {
    const std::string log = daemon.log_tail(size_t{16} << 20);
    auto count = [&](const std::string& what) {
        size_t n = 0;
        for (size_t at = log.find(what); at != std::string::npos; at = log.find(what, at + 1))
            ++n;
        return n;
    };
    return {count(") fetched from "), count("could not be fetched from")};
}

} // namespace

TEST_CASE("a context spans two daemons and buffers and events cross between them" *
          doctest::test_suite("span")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess first(logging_moves()), second(logging_moves());
    ChildProcess client(
        {client_path(), "span-flow"},
        client_env(first, vendors, {"RGPU_SERVERS=" + first.endpoint() + "," + second.endpoint()}));
    check_exit(client, "the span-flow client", kClientOk, &second);
    // The buffers moved straight between the daemons, in both directions, never failing.
    auto [first_fetched, first_failed] = fetches(first);
    auto [second_fetched, second_failed] = fetches(second);
    CHECK(first_fetched > 0);
    CHECK(second_fetched > 0);
    CHECK(first_failed + second_failed == 0);
    CHECK(first.stop() == 0);
    CHECK(second.stop() == 0);
}

TEST_CASE("buffers move through the client when a daemon moves none directly" *
          doctest::test_suite("span")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess first(logging_moves()), second(logging_moves({"--no-direct-moves"}));
    ChildProcess client(
        {client_path(), "span-flow"},
        client_env(first, vendors, {"RGPU_SERVERS=" + first.endpoint() + "," + second.endpoint()}));
    check_exit(client, "the span-flow client", kClientOk, &second);
    // The first daemon's fetches were refused (and, after two in a row, no longer asked for);
    // the second refused its imports without trying.
    auto [first_fetched, first_failed] = fetches(first);
    CHECK(first_fetched == 0);
    CHECK(first_failed >= 1);
    CHECK(fetches(second).first == 0);
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
