// SPDX-License-Identifier: Apache-2.0
// The rgpu platform among those the ICD loader lists (benches that talk to a daemon through
// the ICD).
#pragma once

#include <CL/cl.h>

#include <cstring>
#include <vector>

namespace rgpu::bench {

/// The platform named "rgpu", or null (OCL_ICD_VENDORS does not list rgpu.icd).
inline cl_platform_id rgpu_platform() {
    cl_uint count = 0;
    clGetPlatformIDs(0, nullptr, &count);
    std::vector<cl_platform_id> platforms(count);
    clGetPlatformIDs(count, platforms.data(), nullptr);
    for (cl_platform_id p : platforms) {
        char name[64] = {};
        clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof name, name, nullptr);
        if (std::strcmp(name, "rgpu") == 0) return p;
    }
    return nullptr;
}

} // namespace rgpu::bench
