// SPDX-License-Identifier: Apache-2.0
// One OpenCL platform's device, context and queue, found by platform name; CL error checking.
#pragma once

#include <CL/cl.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rgpu::bench {

const char* cl_error_name(cl_int code);

// Throws std::runtime_error("<what> failed: CL_<NAME> (<code>)") unless code is CL_SUCCESS.
void cl_check(cl_int code, const char* what);
#define RGPU_CL_CHECK(call) ::rgpu::bench::cl_check((call), #call)

// What every measurement runs against; the same code path natively and through rgpu.
struct ClTarget {
    cl_platform_id platform = nullptr;
    cl_device_id device = nullptr;
    cl_context context = nullptr;
    cl_command_queue queue = nullptr;
    std::string platform_name;
    std::string device_name;

    ClTarget() = default;
    ClTarget(const ClTarget&) = delete;
    ClTarget& operator=(const ClTarget&) = delete;
    ~ClTarget();
};

// The names of all platforms the ICD loader reports.
std::vector<std::string> platform_names();

// Opens the first device of the platform called `platform_name` with an in-order queue.
std::unique_ptr<ClTarget> open_target(const std::string& platform_name);

// Builds `source` for the target's device; throws with the build log on failure.
cl_program build_program(const ClTarget& target, const char* source);

// RAII for the handful of OpenCL object kinds the measurements create.
template <typename T, cl_int (*Release)(T)> struct ClHandle {
    T handle = nullptr;
    ClHandle() = default;
    explicit ClHandle(T h) : handle(h) {}
    ClHandle(const ClHandle&) = delete;
    ClHandle& operator=(const ClHandle&) = delete;
    ~ClHandle() {
        if (handle) Release(handle);
    }
    operator T() const { return handle; }
};
using ClMem = ClHandle<cl_mem, clReleaseMemObject>;
using ClProgram = ClHandle<cl_program, clReleaseProgram>;
using ClKernel = ClHandle<cl_kernel, clReleaseKernel>;

} // namespace rgpu::bench
