// SPDX-License-Identifier: Apache-2.0
// The kernels rgpu-e2e-client's work-spreading modes (pool-flow, span-flow) run, and their launch.
#pragma once

#include <CL/cl.h>

#include <vector>

namespace rgpu::e2e {

/// scale(in, out, f): out = in * f; add(a, b, out): out = a + b (floats).
inline const char* const kScaleAddSource = R"CLC(
__kernel void scale(__global const float* in, __global float* out, float f) {
    size_t i = get_global_id(0);
    out[i] = in[i] * f;
}
__kernel void add(__global const float* a, __global const float* b, __global float* out) {
    size_t i = get_global_id(0);
    out[i] = a[i] + b[i];
}
)CLC";

/// Sets `mems` (then `*f`, if given) as k's arguments and launches n items after `wait`.
inline cl_int launch(cl_command_queue q, cl_kernel k, std::vector<cl_mem> mems, const float* f,
                     size_t n, std::vector<cl_event> wait, cl_event* done) {
    for (cl_uint i = 0; i < mems.size(); ++i)
        if (cl_int err = clSetKernelArg(k, i, sizeof(cl_mem), &mems[i]); err != CL_SUCCESS)
            return err;
    if (f)
        if (cl_int err = clSetKernelArg(k, static_cast<cl_uint>(mems.size()), sizeof *f, f);
            err != CL_SUCCESS)
            return err;
    return clEnqueueNDRangeKernel(q, k, 1, nullptr, &n, nullptr, static_cast<cl_uint>(wait.size()),
                                  wait.empty() ? nullptr : wait.data(), done);
}

} // namespace rgpu::e2e
