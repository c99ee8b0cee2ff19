// SPDX-License-Identifier: Apache-2.0
// The placement policies.
#include "policy.h"

namespace rgpu::loadbalance {
namespace {

bool fits(const DeviceStats& d, uint64_t bytes) {
    return d.available && d.free_memory >= bytes;
}

class RoundRobin final : public PlacementPolicy {
  public:
    std::optional<size_t> place(const std::vector<DeviceStats>& devices, uint64_t bytes) override {
        for (size_t tried = 0; tried < devices.size(); ++tried) {
            size_t i = (next_ + tried) % devices.size();
            if (fits(devices[i], bytes)) {
                next_ = i + 1;
                return i;
            }
        }
        return std::nullopt;
    }
    std::string_view name() const override { return "round-robin"; }

  private:
    size_t next_ = 0;
};

/// Picks the fitting device that minimises `key`; ties go to the lowest index.
template <class Key>
std::optional<size_t> best(const std::vector<DeviceStats>& devices, uint64_t bytes, Key key) {
    std::optional<size_t> chosen;
    for (size_t i = 0; i < devices.size(); ++i) {
        if (!fits(devices[i], bytes)) continue;
        if (!chosen || key(devices[i]) < key(devices[*chosen])) chosen = i;
    }
    return chosen;
}

class LeastOutstanding final : public PlacementPolicy {
  public:
    std::optional<size_t> place(const std::vector<DeviceStats>& devices, uint64_t bytes) override {
        return best(devices, bytes, [](const DeviceStats& d) { return d.outstanding_commands; });
    }
    std::string_view name() const override { return "least-outstanding"; }
};

class MostFreeMemory final : public PlacementPolicy {
  public:
    std::optional<size_t> place(const std::vector<DeviceStats>& devices, uint64_t bytes) override {
        return best(devices, bytes, [](const DeviceStats& d) { return ~d.free_memory; });
    }
    std::string_view name() const override { return "memory"; }
};

} // namespace

std::unique_ptr<PlacementPolicy> make_round_robin() {
    return std::make_unique<RoundRobin>();
}
std::unique_ptr<PlacementPolicy> make_least_outstanding() {
    return std::make_unique<LeastOutstanding>();
}
std::unique_ptr<PlacementPolicy> make_most_free_memory() {
    return std::make_unique<MostFreeMemory>();
}

std::unique_ptr<PlacementPolicy> make_policy(std::string_view name) {
    if (name == "round-robin") return make_round_robin();
    if (name == "least-outstanding") return make_least_outstanding();
    if (name == "memory") return make_most_free_memory();
    return nullptr;
}

} // namespace rgpu::loadbalance
