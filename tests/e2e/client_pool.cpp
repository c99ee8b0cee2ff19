// SPDX-License-Identifier: Apache-2.0
// rgpu-e2e-client pool-flow: work spread over a pooled device's members, checked on the host.
#include "client_pool.h"

#include "client_fail.h"
#include "client_kernels.h"
#include "harness.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace rgpu::e2e {
int pool_flow(cl_platform_id platform) {
    cl_int err;
    cl_device_id device = first_device(platform, &err);
    if (!device) return fail(kClientNoDevice, describe(err));
    char name[512] = {0};
    CLIENT_CHECK(clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name - 1, name, nullptr));
    if (std::string(name).rfind("rgpu pool of 2: ", 0) != 0)
        return fail(kClientWrongData, std::string("device is '") + name + "', not a pool of 2");
    cl_context context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &err);
    CLIENT_CHECK(err);
    const char* source = kScaleAddSource;
    cl_program program = clCreateProgramWithSource(context, 1, &source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clBuildProgram(program, 1, &device, "", nullptr, nullptr));
    cl_kernel scale = clCreateKernel(program, "scale", &err);
    CLIENT_CHECK(err);
    cl_kernel add = clCreateKernel(program, "add", &err);
    CLIENT_CHECK(err);
    cl_command_queue q[3];
    for (auto& queue : q) {
        queue = clCreateCommandQueue(context, device, 0, &err);
        CLIENT_CHECK(err);
    }
    const size_t n = 4096;
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i)
        x[i] = static_cast<float>(i % 1000) * 0.5f;
    auto buffer = [&] { return clCreateBuffer(context, CL_MEM_READ_WRITE, n * 4, nullptr, &err); };
    cl_mem a = buffer(), b = buffer(), c = buffer();
    CLIENT_CHECK(err);

    // A chain across queues (and, placed per queue or per launch, across members): written on
    // q0, scaled on q1 and q2, summed on q1, read on q0.
    cl_event written, k1, k2, k3;
    const float two = 2.0f, three = 3.0f;
    CLIENT_CHECK(clEnqueueWriteBuffer(q[0], a, CL_FALSE, 0, n * 4, x.data(), 0, nullptr, &written));
    CLIENT_CHECK(launch(q[1], scale, {a, b}, &two, n, {written}, &k1));
    CLIENT_CHECK(launch(q[2], scale, {b, c}, &three, n, {k1}, &k2));
    CLIENT_CHECK(launch(q[1], add, {a, c, a}, nullptr, n, {k2}, &k3));
    std::vector<float> out(n);
    CLIENT_CHECK(clEnqueueReadBuffer(q[0], a, CL_TRUE, 0, n * 4, out.data(), 1, &k3, nullptr));
    for (size_t i = 0; i < n; ++i)
        if (out[i] != x[i] * 7.0f)
            return fail(kClientWrongData, "chain: a[" + std::to_string(i) +
                                              "] = " + std::to_string(out[i]) + ", want " +
                                              std::to_string(x[i] * 7.0f));
    for (cl_event e : {written, k1, k2, k3})
        clReleaseEvent(e);

    // Independent kernels on an out-of-order queue, then a barrier: the sum after it sees all.
    cl_command_queue ooo =
        clCreateCommandQueue(context, device, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clEnqueueWriteBuffer(ooo, a, CL_TRUE, 0, n * 4, x.data(), 0, nullptr, nullptr));
    std::vector<cl_mem> ys;
    for (int k = 0; k < 8; ++k) {
        ys.push_back(buffer());
        CLIENT_CHECK(err);
        const float f = static_cast<float>(k + 1);
        CLIENT_CHECK(launch(ooo, scale, {a, ys.back()}, &f, n, {}, nullptr));
    }
    CLIENT_CHECK(clEnqueueBarrierWithWaitList(ooo, 0, nullptr, nullptr));
    CLIENT_CHECK(launch(ooo, add, {ys[0], ys[7], c}, nullptr, n, {}, nullptr));
    CLIENT_CHECK(clEnqueueBarrierWithWaitList(ooo, 0, nullptr, nullptr));
    CLIENT_CHECK(clEnqueueReadBuffer(ooo, c, CL_TRUE, 0, n * 4, out.data(), 0, nullptr, nullptr));
    for (size_t i = 0; i < n; ++i)
        if (out[i] != x[i] * 9.0f)
            return fail(kClientWrongData, "out-of-order: c[" + std::to_string(i) +
                                              "] = " + std::to_string(out[i]) + ", want " +
                                              std::to_string(x[i] * 9.0f));
    CLIENT_CHECK(clFinish(ooo));
    for (cl_mem y : ys)
        clReleaseMemObject(y);
    for (cl_mem m : {a, b, c})
        clReleaseMemObject(m);
    for (auto queue : q)
        clReleaseCommandQueue(queue);
    clReleaseCommandQueue(ooo);
    clReleaseKernel(scale);
    clReleaseKernel(add);
    clReleaseProgram(program);
    clReleaseContext(context);
    return kClientOk;
}

} // namespace rgpu::e2e
