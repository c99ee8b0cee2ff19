// SPDX-License-Identifier: Apache-2.0
// Placement policies: which of several devices gets the next piece of work. No OpenCL, no
// sockets: policies read DeviceStats and return an index, so they are testable alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace rgpu::loadbalance {

/// What a policy knows of one device; kept up to date by whoever owns the devices.
struct DeviceStats {
    uint64_t outstanding_commands = 0; ///< Enqueued, not yet complete.
    uint64_t free_memory = 0;          ///< Bytes the device can still allocate.
    bool available = true;
};

class PlacementPolicy {
  public:
    virtual ~PlacementPolicy() = default;
    /// Index of the device for work that needs `bytes` of device memory, or nullopt when no
    /// available device fits it.
    virtual std::optional<size_t> place(const std::vector<DeviceStats>& devices,
                                        uint64_t bytes) = 0;
    virtual std::string_view name() const = 0;
};

/// Cycles through the available devices that fit.
std::unique_ptr<PlacementPolicy> make_round_robin();
/// The available device with the fewest outstanding commands; ties go to the lowest index.
std::unique_ptr<PlacementPolicy> make_least_outstanding();
/// The available device with the most free memory.
std::unique_ptr<PlacementPolicy> make_most_free_memory();
/// By name ("round-robin", "least-outstanding", "memory"); null for an unknown name.
std::unique_ptr<PlacementPolicy> make_policy(std::string_view name);

} // namespace rgpu::loadbalance
