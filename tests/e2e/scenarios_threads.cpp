// SPDX-License-Identifier: Apache-2.0
// Differential scenario of application threads sharing one context, program and queue.
#include "scenario_support.h"
#include "scenarios.h"

#include <atomic>
#include <thread>

namespace rgpu::e2e::scenarios {
using namespace detail;

ScenarioResult threads_sharing(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program,
               "__kernel void advance(__global int* p, int add) {\n"
               "  size_t i = get_global_id(0); p[i] = p[i] * 3 + add; }\n",
               ""))
        return r;
    constexpr int kThreads = 6, kRounds = 12;
    constexpr size_t kItems = 256, kBytes = kItems * sizeof(cl_int);
    cl_int err;
    // One buffer every thread writes its own slice of, through the one shared queue.
    Mem shared(clCreateBuffer(d.context, CL_MEM_READ_WRITE, kThreads * kBytes, nullptr, &err));
    SETUP("clCreateBuffer shared", err);

    struct Outcome {
        cl_int first_error = CL_SUCCESS;
        const char* failed_call = "";
        std::vector<cl_int> own, slice;
    };
    std::vector<Outcome> outcomes(kThreads);
    std::atomic<int> ready{0};
    auto work = [&](int t) {
        Outcome& out = outcomes[t];
        auto check = [&](const char* call, cl_int code) {
            if (code != CL_SUCCESS && out.first_error == CL_SUCCESS) {
                out.first_error = code;
                out.failed_call = call;
            }
            return code == CL_SUCCESS;
        };
        // Everything starts together, so creation calls race too.
        ready.fetch_add(1);
        while (ready.load() < kThreads)
            std::this_thread::yield();
        cl_int e = CL_SUCCESS;
        Kernel kernel(clCreateKernel(program, "advance", &e));
        if (!check("clCreateKernel", e)) return;
        Queue queue(clCreateCommandQueue(d.context, d.id, 0, &e));
        if (!check("clCreateCommandQueue", e)) return;
        Mem own(clCreateBuffer(d.context, CL_MEM_READ_WRITE, kBytes, nullptr, &e));
        if (!check("clCreateBuffer", e)) return;
        std::vector<cl_int> values(kItems), slice(kItems);
        for (size_t i = 0; i < kItems; ++i)
            values[i] = static_cast<cl_int>(i + 1000 * t);
        if (!check("write own", clEnqueueWriteBuffer(queue, own, CL_TRUE, 0, kBytes, values.data(),
                                                     0, nullptr, nullptr)))
            return;
        cl_mem arg = own;
        if (!check("clSetKernelArg 0", clSetKernelArg(kernel, 0, sizeof arg, &arg))) return;
        for (int round = 0; round < kRounds; ++round) {
            const cl_int add = t * 10 + round;
            Event launched;
            if (!check("clSetKernelArg 1", clSetKernelArg(kernel, 1, sizeof add, &add)) ||
                !check("launch", clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &kItems, nullptr,
                                                        0, nullptr, launched.out())))
                return;
            // The shared queue: this thread's slice, written and read back between others'.
            for (size_t i = 0; i < kItems; ++i)
                slice[i] = static_cast<cl_int>(round * 100000 + t * 1000 + i);
            cl_event after = launched;
            if (!check("write slice",
                       clEnqueueWriteBuffer(d.queue, shared, CL_FALSE, t * kBytes, kBytes,
                                            slice.data(), 1, &after, nullptr)) ||
                !check("read slice",
                       clEnqueueReadBuffer(d.queue, shared, CL_TRUE, t * kBytes, kBytes,
                                           slice.data(), 0, nullptr, nullptr)) ||
                !check("clFinish shared", clFinish(d.queue)))
                return;
            // Retains and releases of shared objects race with everything else.
            if (!check("clRetainProgram", clRetainProgram(program)) ||
                !check("clReleaseProgram", clReleaseProgram(program)))
                return;
        }
        if (!check("read own", clEnqueueReadBuffer(queue, own, CL_TRUE, 0, kBytes, values.data(), 0,
                                                   nullptr, nullptr)))
            return;
        out.own = values;
        out.slice = slice;
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back(work, t);
    for (auto& thread : threads)
        thread.join();
    for (int t = 0; t < kThreads; ++t) {
        const std::string name = "thread " + std::to_string(t);
        r.record(name + " first error", outcomes[t].first_error);
        r.fact(name + " failed call", outcomes[t].failed_call);
        r.put(name + " own", outcomes[t].own);
        r.put(name + " slice", outcomes[t].slice);
    }
    std::vector<cl_int> all(kThreads * kItems);
    r.record("read shared", clEnqueueReadBuffer(d.queue, shared, CL_TRUE, 0, kThreads * kBytes,
                                                all.data(), 0, nullptr, nullptr));
    r.put("shared", all);
    return r;
}

} // namespace rgpu::e2e::scenarios
