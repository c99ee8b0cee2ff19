// SPDX-License-Identifier: Apache-2.0
// Placement policies over simulated devices.
#include <policy.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>

using namespace rgpu::loadbalance;

namespace {

DeviceStats device(uint64_t outstanding, uint64_t free_memory, double queued_work_ns = 0) {
    DeviceStats d;
    d.queued_commands = outstanding;
    d.free_memory = free_memory;
    d.queued_work_ns = queued_work_ns;
    return d;
}

std::vector<DeviceStats> three_devices() {
    return {device(5, 1000, 5e6), device(1, 500, 1e6), device(3, 4000, 3e6)};
}

Work needs(uint64_t bytes) {
    Work w;
    w.new_bytes = bytes;
    return w;
}

/// Devices that run placed kernels one at a time, `ns_per_kernel[i]` each, with a memory
/// capacity; the owner measures each device's kernel time, as the daemon does.
class Simulation {
  public:
    Simulation(std::vector<double> ns_per_kernel, std::vector<uint64_t> memory)
        : speed_(std::move(ns_per_kernel)), free_(std::move(memory)), queues_(speed_.size()),
          placed_(speed_.size(), 0) {}

    /// Places `count` kernels, each allocating `bytes` that stay allocated, one every
    /// `interval_ns`; returns how many each device got. Stops early when nothing fits.
    std::vector<int> run(PlacementPolicy& policy, int count, double interval_ns,
                         uint64_t bytes = 0) {
        for (int k = 0; k < count; ++k) {
            advance(interval_ns);
            Work work = needs(bytes);
            work.estimated_ns = speed_; // measured after the first kernel on each device
            auto chosen = policy.place(stats(), work);
            if (!chosen) break;
            queues_[*chosen].push_back(speed_[*chosen]);
            free_[*chosen] -= bytes;
            ++placed_[*chosen];
        }
        return placed_;
    }
    std::vector<DeviceStats> stats() const {
        std::vector<DeviceStats> out(speed_.size());
        for (size_t i = 0; i < out.size(); ++i) {
            out[i].free_memory = free_[i];
            out[i].running_commands = queues_[i].empty() ? 0 : 1;
            out[i].queued_commands = queues_[i].empty() ? 0 : queues_[i].size() - 1;
            for (double left : queues_[i])
                out[i].queued_work_ns += left;
        }
        return out;
    }
    /// Time at which everything placed so far is done.
    double makespan() const {
        double longest = 0;
        for (const auto& q : queues_) {
            double sum = 0;
            for (double left : q)
                sum += left;
            longest = std::max(longest, sum);
        }
        return longest;
    }

  private:
    void advance(double ns) {
        for (auto& q : queues_) {
            double budget = ns;
            while (!q.empty() && budget > 0) {
                double step = std::min(budget, q.front());
                q.front() -= step;
                budget -= step;
                if (q.front() <= 0) q.pop_front();
            }
        }
    }
    std::vector<double> speed_;
    std::vector<uint64_t> free_;
    std::vector<std::deque<double>> queues_;
    std::vector<int> placed_;
};

} // namespace

TEST_CASE("round robin cycles and skips what does not fit" * doctest::test_suite("loadbalance")) {
    auto policy = make_round_robin();
    auto devices = three_devices();
    CHECK(policy->place(devices, needs(0)) == 0u);
    CHECK(policy->place(devices, needs(0)) == 1u);
    CHECK(policy->place(devices, needs(0)) == 2u);
    CHECK(policy->place(devices, needs(0)) == 0u);
    CHECK(policy->place(devices, needs(800)) == 2u); // device 1 has 500 bytes free
    devices[0].available = false;
    CHECK(policy->place(devices, needs(800)) == 2u);
}

TEST_CASE("least outstanding picks the device that is done first" *
          doctest::test_suite("loadbalance")) {
    auto policy = make_least_outstanding();
    auto devices = three_devices();
    CHECK(policy->place(devices, needs(0)) == 1u);
    CHECK(policy->place(devices, needs(600)) == 2u);
    // The work's own estimate counts: 2 ms on device 1 finishes after 3 ms queued on device 2
    // plus 0.5 ms there.
    Work slow_on_1 = needs(0);
    slow_on_1.estimated_ns = {1e6, 3e6, 0.5e6};
    CHECK(policy->place(devices, slow_on_1) == 2u);
}

TEST_CASE("ties go to fewer outstanding commands then to the lowest index" *
          doctest::test_suite("loadbalance")) {
    std::vector<DeviceStats> idle = {device(0, 100), device(0, 100), device(0, 100)};
    for (auto name : {"least-outstanding", "memory", "locality"}) {
        auto policy = make_policy(name);
        CHECK(policy->place(idle, needs(0)) == 0u);
        CHECK(policy->place(idle, needs(0)) == 0u); // nothing changed: same answer
    }
    // Same estimated work, fewer commands behind it.
    std::vector<DeviceStats> equal_work = {device(4, 100, 2e6), device(2, 100, 2e6)};
    CHECK(make_least_outstanding()->place(equal_work, needs(0)) == 1u);
}

TEST_CASE("memory policy picks the emptiest device" * doctest::test_suite("loadbalance")) {
    auto policy = make_most_free_memory();
    CHECK(policy->place(three_devices(), needs(0)) == 2u);
}

TEST_CASE("locality stays with the data unless the device holding it is much busier" *
          doctest::test_suite("loadbalance")) {
    auto policy = make_data_locality();
    Work work = needs(0);
    work.argument_bytes = 64 << 20; // 64 MiB: 8 ms at the default rate
    work.resident_bytes = {0, 64 << 20};
    // Device 1 holds the data and has 1 ms more queued: moving would cost more.
    std::vector<DeviceStats> devices = {device(0, 1 << 30, 0), device(1, 1 << 30, 1e6)};
    CHECK(policy->place(devices, work) == 1u);
    // 20 ms queued on device 1: moving 64 MiB to the idle device is cheaper.
    devices[1].queued_work_ns = 20e6;
    CHECK(policy->place(devices, work) == 0u);
    // A measured fast link moves the break-even point: 64 MiB at 64 GB/s is 1 ms.
    devices[1].queued_work_ns = 2e6;
    CHECK(policy->place(devices, work) == 1u);
    devices[0].transfer_rate = 64e9;
    CHECK(policy->place(devices, work) == 0u);
    // No locality known: the idle device.
    Work unknown = needs(0);
    CHECK(policy->place(devices, unknown) == 0u);
}

TEST_CASE("a device that fills up gets no more work" * doctest::test_suite("loadbalance")) {
    for (auto name : {"round-robin", "least-outstanding", "memory", "locality"}) {
        CAPTURE(name);
        auto policy = make_policy(name);
        // Device 0 holds 3 buffers of 100 bytes, device 1 holds 6.
        Simulation sim({1e6, 1e6}, {300, 600});
        auto placed = sim.run(*policy, 20, 1e5, 100);
        CHECK(placed[0] == 3);
        CHECK(placed[1] == 6);
        CHECK_FALSE(policy->place(sim.stats(), needs(100)).has_value());
    }
}

TEST_CASE("a 4x slower device gets a fifth of the work from load-aware policies" *
          doctest::test_suite("loadbalance")) {
    // 200 kernels arriving faster than both devices together can run them.
    for (auto name : {"least-outstanding", "locality"}) {
        CAPTURE(name);
        auto policy = make_policy(name);
        Simulation sim({1e6, 4e6}, {1u << 30, 1u << 30});
        auto placed = sim.run(*policy, 200, 1e5);
        CHECK(placed[0] + placed[1] == 200);
        CHECK(placed[0] >= 155);
        CHECK(placed[0] <= 165); // 4/5 of 200 = 160
        // Both finish at about the same time: within one slow kernel.
        auto stats = sim.stats();
        CHECK(std::abs(stats[0].queued_work_ns - stats[1].queued_work_ns) <= 4e6);
    }
    // Round robin ignores speed: half each, and the slow device finishes last by far.
    auto rr = make_round_robin();
    Simulation sim({1e6, 4e6}, {1u << 30, 1u << 30});
    auto placed = sim.run(*rr, 200, 1e5);
    CHECK(placed[0] == 100);
    CHECK(placed[1] == 100);
    Simulation balanced({1e6, 4e6}, {1u << 30, 1u << 30});
    auto lo = make_least_outstanding();
    balanced.run(*lo, 200, 1e5);
    CHECK(sim.makespan() > 1.5 * balanced.makespan());
}

TEST_CASE("nothing fits" * doctest::test_suite("loadbalance")) {
    auto devices = three_devices();
    for (auto name : {"round-robin", "least-outstanding", "memory", "locality"}) {
        auto policy = make_policy(name);
        REQUIRE(policy != nullptr);
        CHECK(policy->name() == name);
        CHECK_FALSE(policy->place(devices, needs(5000)).has_value());
        CHECK_FALSE(policy->place({}, needs(0)).has_value());
        auto unavailable = devices;
        for (auto& d : unavailable)
            d.available = false;
        CHECK_FALSE(policy->place(unavailable, needs(0)).has_value());
    }
    CHECK(make_policy("fastest") == nullptr);
}
