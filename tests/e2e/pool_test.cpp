// SPDX-License-Identifier: Apache-2.0
// Pooled-device e2e tests: a daemon serving two POCL devices as one; clients are
// rgpu-e2e-client processes; where the work went is read back from the daemon (rgpu-ctl
// devices), so each test shows the work really crossed members.
#include <doctest/doctest.h>

#include "client_process.h"
#include "harness.h"

#include <operator_client.h>

#include <string>
#include <thread>

using namespace rgpu::e2e;

namespace {

DaemonProcess pool_daemon(std::vector<std::string> args, const std::string& devices) {
    DaemonProcess::Options options;
    options.extra_args = {"--pool"};
    options.extra_args.insert(options.extra_args.end(), args.begin(), args.end());
    options.extra_env = {"POCL_DEVICES=" + devices};
    return DaemonProcess(options);
}

/// The pool's members once the daemon's figures show `placements` launches (its workers report
/// within a second).
std::vector<rgpu::DeviceInfo::Member> members_after(const DaemonProcess& daemon,
                                                    uint64_t placements) {
    std::vector<rgpu::DeviceInfo::Member> members;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
        std::string error;
        auto list = rgpu::list_devices(daemon.endpoint(), std::chrono::seconds(5), &error);
        REQUIRE_MESSAGE(list.has_value(), "list_devices: " << error);
        REQUIRE(list->size() == 1);
        members = list->front().members;
        uint64_t placed = 0;
        for (const auto& m : members)
            placed += m.placements;
        if (placed >= placements) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return members;
}

} // namespace

TEST_CASE("a pooled device lists its members and their load" * doctest::test_suite("pool")) {
    DaemonProcess daemon = pool_daemon({"--placement", "per-queue"}, "pthread pthread");
    std::string error;
    auto list = rgpu::list_devices(daemon.endpoint(), std::chrono::seconds(5), &error);
    REQUIRE_MESSAGE(list.has_value(), "list_devices: " << error);
    REQUIRE(list->size() == 1); // the two POCL devices are one
    const auto& pool = list->front();
    CHECK(pool.name.rfind("rgpu pool of 2: ", 0) == 0);
    CHECK(pool.placement == "per-queue");
    CHECK(pool.policy == "locality");
    REQUIRE(pool.members.size() == 2);
    for (const auto& m : pool.members) {
        CHECK(m.name.find("pthread") != std::string::npos);
        CHECK(m.placements == 0);
        CHECK(m.queues == 0);
    }
    CHECK(daemon.stop() == 0);
}

TEST_CASE("per-queue placement spreads queues over the members and buffers follow the work" *
          doctest::test_suite("pool")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    DaemonProcess daemon =
        pool_daemon({"--placement", "per-queue", "--policy", "round-robin"}, "pthread pthread");
    ChildProcess client({client_path(), "pool-flow"}, client_env(daemon, vendors));
    check_exit(client, "the pool-flow client", kClientOk);
    // 3 chained launches + 9 on the out-of-order queue; queues alternate between the members.
    const auto members = members_after(daemon, 12);
    REQUIRE(members.size() == 2);
    CHECK(members[0].queues == 2);
    CHECK(members[1].queues == 2);
    CHECK(members[0].placements + members[1].placements == 12);
    CHECK(members[0].placements >= 1);
    CHECK(members[1].placements >= 1);
    // Buffers written on one member and used on the other moved, and were counted.
    CHECK(members[0].migrations + members[1].migrations >= 2);
    CHECK(daemon.stop() == 0);
}

TEST_CASE("per-launch placement spreads the launches of one queue over the members" *
          doctest::test_suite("pool")) {
    VendorsDir vendors;
    REQUIRE(vendors.has_rgpu());
    for (std::string devices : {"pthread pthread", "basic basic"}) {
        CAPTURE(devices);
        DaemonProcess daemon = pool_daemon({"--policy", "round-robin"}, devices);
        ChildProcess client({client_path(), "pool-flow"}, client_env(daemon, vendors));
        check_exit(client, "the pool-flow client", kClientOk);
        const auto members = members_after(daemon, 12);
        REQUIRE(members.size() == 2);
        // Round robin alternates at every launch: 12 launches, 6 each.
        CHECK(members[0].placements == 6);
        CHECK(members[1].placements == 6);
        CHECK(members[0].migrations + members[1].migrations >= 2);
        CHECK(daemon.stop() == 0);
    }
}

TEST_CASE("a pool refuses members it cannot have" * doctest::test_suite("pool")) {
    for (const auto& [args, why] :
         {std::pair{std::vector<std::string>{"0,7"}, "--pool: there is no device 7 (2 found)"},
          std::pair{std::vector<std::string>{"1,1"}, "--pool: device 1 is listed twice"},
          std::pair{std::vector<std::string>{"x"}, "--pool: 'x' is not a device index"}}) {
        CAPTURE(why);
        DaemonProcess::Options options;
        options.extra_args = {"--pool", args.front()};
        options.extra_env = {"POCL_DEVICES=pthread pthread"};
        options.ready_timeout = std::chrono::seconds(5);
        try {
            DaemonProcess daemon(options);
            FAIL("the daemon started with --pool " << args.front());
        } catch (const std::runtime_error& e) {
            CHECK_MESSAGE(std::string(e.what()).find(why) != std::string::npos,
                          "the daemon did not say why: " << e.what());
        }
    }
}
