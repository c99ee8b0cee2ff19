// SPDX-License-Identifier: Apache-2.0
// Discovery of the local OpenCL devices the daemon serves, with their info cached for handshakes.
#pragma once

#include <CL/cl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rgpu::daemon {

/// How work sent to a pooled device is spread over its members.
enum class Placement : uint8_t { PerLaunch, PerQueue };

struct LocalDevice {
    uint32_t index = 0; ///< How clients name this device.
    cl_platform_id platform = nullptr;
    /// The native device; for a pool its first member (what device-wide queries ask).
    cl_device_id device = nullptr;
    /// A pooled device's members (empty for a plain device): contexts hold all of them, and
    /// work is placed on one by `policy` (a loadbalance policy name), per `placement`.
    std::vector<cl_device_id> members;
    std::vector<std::string> member_names;
    Placement placement = Placement::PerLaunch;
    std::string policy;
    bool pooled() const { return !members.empty(); }
    std::string name;
    std::string platform_name;
    /// Every clGetDeviceInfo parameter that answered, with its raw bytes (handle-valued ones left
    /// out: the client answers those with its own handles).
    std::vector<std::pair<cl_uint, std::vector<uint8_t>>> info;
};

/// Enumerates every device of every local platform except rgpu's own (serving rgpu through
/// itself would loop). Never throws; returns an empty list when no platform is usable.
/// The order is the same in every process of one machine, so the supervisor's indexes (sent in
/// Welcome) name the same devices in the workers. `with_info` takes the info snapshot (only the
/// supervisor needs it: it answers handshakes).
std::vector<LocalDevice> discover_devices(bool with_info);

/// Every clGetDeviceInfo parameter `device` answers, with its raw bytes (handle-valued ones
/// left out).
std::vector<std::pair<cl_uint, std::vector<uint8_t>>> snapshot_info(cl_device_id device);

} // namespace rgpu::daemon
