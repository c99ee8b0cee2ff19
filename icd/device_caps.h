// SPDX-License-Identifier: Apache-2.0
// What of a remote device's capabilities the application is shown.
#pragma once

#include <CL/cl.h>

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

namespace rgpu::icd {

/// Extensions whose host API rgpu does not carry yet (images, SVM, pipes, IL, command buffers,
/// sub-groups queries, GL/EGL sharing ...): hidden so that applications take their fallback path.
bool is_hidden_extension(std::string_view name);

/// Rewrites a device's info snapshot so that it describes what works through rgpu: the
/// extensions and OpenCL C features above removed, images, SVM, pipes, device-side enqueue,
/// built-in kernels, IL programs and sub-devices reported absent.
void hide_unsupported(std::map<cl_uint, std::vector<uint8_t>>& info);

} // namespace rgpu::icd
