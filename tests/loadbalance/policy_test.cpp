// SPDX-License-Identifier: Apache-2.0
// Placement policies over synthetic device statistics.
#include <policy.h>

#include <doctest/doctest.h>

using namespace rgpu::loadbalance;

namespace {
std::vector<DeviceStats> three_devices() {
    return {{5, 1000, true}, {1, 500, true}, {3, 4000, true}};
}
} // namespace

TEST_CASE("round robin cycles and skips what does not fit" * doctest::test_suite("loadbalance")) {
    auto policy = make_round_robin();
    auto devices = three_devices();
    CHECK(policy->place(devices, 0) == 0u);
    CHECK(policy->place(devices, 0) == 1u);
    CHECK(policy->place(devices, 0) == 2u);
    CHECK(policy->place(devices, 0) == 0u);
    CHECK(policy->place(devices, 800) == 2u); // device 1 has 500 bytes free
    devices[0].available = false;
    CHECK(policy->place(devices, 800) == 2u);
}

TEST_CASE("least outstanding picks the idlest device" * doctest::test_suite("loadbalance")) {
    auto policy = make_least_outstanding();
    auto devices = three_devices();
    CHECK(policy->place(devices, 0) == 1u);
    CHECK(policy->place(devices, 600) == 2u);
    devices[2].outstanding_commands = 1;
    CHECK(policy->place(devices, 0) == 1u); // tie: lowest index
}

TEST_CASE("memory policy picks the emptiest device" * doctest::test_suite("loadbalance")) {
    auto policy = make_most_free_memory();
    CHECK(policy->place(three_devices(), 0) == 2u);
}

TEST_CASE("nothing fits" * doctest::test_suite("loadbalance")) {
    auto devices = three_devices();
    for (auto name : {"round-robin", "least-outstanding", "memory"}) {
        auto policy = make_policy(name);
        REQUIRE(policy != nullptr);
        CHECK(policy->name() == name);
        CHECK_FALSE(policy->place(devices, 5000).has_value());
        CHECK_FALSE(policy->place({}, 0).has_value());
    }
    CHECK(make_policy("fastest") == nullptr);
}
