// SPDX-License-Identifier: Apache-2.0
// What of a remote device's capabilities the application is shown.
#pragma once

#include <CL/cl.h>

#include <cstdint>
#include <map>
#include <vector>

namespace rgpu::icd {

/// Rewrites a device's info snapshot so that it describes what works through rgpu: extensions
/// whose host API rgpu does not carry yet (pipes, IL, command buffers, sub-group queries, GL/EGL
/// sharing ...) and the OpenCL C features that need them removed; fine-grain and system SVM,
/// pipes, device-side enqueue, built-in kernels and IL programs reported absent.
void hide_unsupported(std::map<cl_uint, std::vector<uint8_t>>& info);

} // namespace rgpu::icd
