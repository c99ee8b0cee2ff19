// SPDX-License-Identifier: Apache-2.0
// Placement policies: which of several devices gets the next piece of work. No OpenCL, no
// sockets: policies read measured DeviceStats and a description of the work and return an
// index, so they are testable alone with simulated devices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace rgpu::loadbalance {

/// What a policy knows of one device; kept up to date by whoever owns the devices (measured,
/// summed over every session that uses the device).
struct DeviceStats {
    bool available = true;
    uint64_t queued_commands = 0;  ///< Placed, not started.
    uint64_t running_commands = 0; ///< Started, not complete.
    /// Estimated nanoseconds of work placed and not complete (from measured kernel times on this
    /// device; the owner estimates commands it has not measured yet).
    double queued_work_ns = 0;
    uint64_t free_memory = 0; ///< Bytes the device can still allocate.
    /// Measured rate at which buffers reach this device from another (bytes per second);
    /// 0 = not measured yet (kDefaultTransferRate is assumed).
    double transfer_rate = 0;

    uint64_t outstanding() const { return queued_commands + running_commands; }
};

/// Assumed when no transfer was measured yet: about a PCIe 3 x16 link.
inline constexpr double kDefaultTransferRate = 8e9;

/// The piece of work to place.
struct Work {
    /// Device memory the work allocates where it runs (a new buffer's size; 0 for a launch).
    uint64_t new_bytes = 0;
    /// Bytes of the work's buffers in total, and per device the bytes whose newest contents
    /// are already there (empty = unknown, no locality).
    uint64_t argument_bytes = 0;
    std::vector<uint64_t> resident_bytes;
    /// Estimated nanoseconds the work takes on each device (empty or 0 = not measured).
    std::vector<double> estimated_ns;
};

class PlacementPolicy {
  public:
    virtual ~PlacementPolicy() = default;
    /// Index of the device for `work`, or nullopt when no available device fits it.
    virtual std::optional<size_t> place(const std::vector<DeviceStats>& devices,
                                        const Work& work) = 0;
    virtual std::string_view name() const = 0;
};

/// Cycles through the available devices that fit.
std::unique_ptr<PlacementPolicy> make_round_robin();
/// The device where the work would finish first: the least estimated outstanding work plus the
/// work's own estimate there; ties go to fewer outstanding commands, then the lowest index.
std::unique_ptr<PlacementPolicy> make_least_outstanding();
/// The device with the most free memory; ties as least-outstanding.
std::unique_ptr<PlacementPolicy> make_most_free_memory();
/// Where most of the work's argument bytes already are, unless that device is much busier: the
/// earliest estimated finish counting the time to bring the missing bytes over.
std::unique_ptr<PlacementPolicy> make_data_locality();
/// By name ("round-robin", "least-outstanding", "memory", "locality"); null for an unknown name.
std::unique_ptr<PlacementPolicy> make_policy(std::string_view name);
/// The names make_policy knows, for help texts.
std::string_view policy_names();

} // namespace rgpu::loadbalance
