// SPDX-License-Identifier: Apache-2.0
// Process-wide ICD state: the rgpu platform, its daemon connections and their devices.
#pragma once

#include "connection.h"
#include "objects.h"

#include <memory>
#include <mutex>
#include <vector>

namespace rgpu::icd {

class Runtime {
  public:
    static Runtime& get();
    Platform* platform() { return &platform_; }
    /// Connects to every configured daemon on first use (bounded by RGPU_CONNECT_TIMEOUT_MS);
    /// daemons that do not answer contribute no devices. Never blocks after the first call.
    const std::vector<Device*>& devices();
    /// cl_rgpu_session: every daemon connection dropped, sessions kept (see CL/cl_rgpu.h).
    cl_int detach();
    /// Every session resumed; CL_OUT_OF_RESOURCES if one could not be.
    cl_int attach();
    /// A device of `connection` named `index` there, described by `info` (as the daemon sent
    /// it); `parent` for a sub-device (which devices() does not list). Lives as long as this.
    Device* add_device(Connection* connection, uint32_t index,
                       std::map<cl_uint, std::vector<uint8_t>> info, Device* parent);
    ~Runtime();

  private:
    Runtime() = default;
    void connect_all();

    Platform platform_;
    std::once_flag connected_;
    std::mutex session_control_; ///< one detach or attach at a time
    std::vector<std::unique_ptr<Connection>> connections_;
    std::mutex storage_mutex_;
    std::vector<std::unique_ptr<Device>> device_storage_; // guarded by storage_mutex_
    std::vector<Device*> devices_;
};

} // namespace rgpu::icd
