// SPDX-License-Identifier: Apache-2.0
// The SVM mode of rgpu-e2e-client: a session whose kernels follow pointers the host stored in
// SVM memory outlives its connection with its memory and its addresses as they were.
#include "client_svm.h"

#include "client_fail.h"
#include "harness.h"
#include "scenario_support.h"

#include <cstdio>
#include <string>
#include <vector>

namespace rgpu::e2e {

namespace {

using Node = scenarios::detail::SvmNode;

constexpr size_t kNodes = 64;

/// Runs the walk and checks every sum against the values the host put in the list.
int walk_and_check(cl_command_queue queue, cl_kernel walk, const std::vector<cl_int>& values,
                   cl_int* out, const char* when) {
    size_t global = kNodes;
    CLIENT_CHECK(
        clEnqueueNDRangeKernel(queue, walk, 1, nullptr, &global, nullptr, 0, nullptr, nullptr));
    std::vector<cl_int> sums(kNodes);
    CLIENT_CHECK(clEnqueueSVMMemcpy(queue, CL_TRUE, sums.data(), out, sums.size() * sizeof(cl_int),
                                    0, nullptr, nullptr));
    cl_int want = 0;
    for (size_t i = kNodes; i-- > 0;) {
        want += values[i];
        if (sums[i] != want)
            return fail(kClientWrongData, std::string(when) + ": sum from node " +
                                              std::to_string(i) + " is " + std::to_string(sums[i]) +
                                              ", want " + std::to_string(want));
    }
    return kClientOk;
}

} // namespace

int svm_session(cl_platform_id platform, void (*wait)()) {
    cl_int err;
    cl_device_id device = first_device(platform, &err);
    if (!device) return fail(kClientNoDevice, describe(err));
    cl_context context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &err);
    CLIENT_CHECK(err);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    CLIENT_CHECK(err);
    const char* source = scenarios::detail::kSvmWalkSource;
    cl_program program = clCreateProgramWithSource(context, 1, &source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clBuildProgram(program, 1, &device, "-cl-std=CL2.0", nullptr, nullptr));
    cl_kernel walk = clCreateKernel(program, "walk", &err);
    CLIENT_CHECK(err);

    auto* nodes =
        static_cast<Node*>(clSVMAlloc(context, CL_MEM_READ_WRITE, kNodes * sizeof(Node), 0));
    auto* out =
        static_cast<cl_int*>(clSVMAlloc(context, CL_MEM_READ_WRITE, kNodes * sizeof(cl_int), 0));
    if (!nodes || !out) return fail(kClientClError, "clSVMAlloc returned NULL");
    std::vector<cl_int> values(kNodes);
    CLIENT_CHECK(clEnqueueSVMMap(queue, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, nodes,
                                 kNodes * sizeof(Node), 0, nullptr, nullptr));
    for (size_t i = 0; i < kNodes; ++i) {
        values[i] = static_cast<cl_int>(5 * i + 2);
        nodes[i] = Node{values[i], 0, i + 1 < kNodes ? &nodes[i + 1] : nullptr};
    }
    CLIENT_CHECK(clEnqueueSVMUnmap(queue, nodes, 0, nullptr, nullptr));
    CLIENT_CHECK(clSetKernelArgSVMPointer(walk, 0, nodes));
    CLIENT_CHECK(clSetKernelArgSVMPointer(walk, 1, out));
    if (int code = walk_and_check(queue, walk, values, out, "before"); code != kClientOk)
        return code;
    std::printf("ready\n");
    std::fflush(stdout);
    wait();

    // The memory is where it was: the stored pointers still lead through the list.
    CLIENT_CHECK(clEnqueueSVMMap(queue, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, nodes,
                                 kNodes * sizeof(Node), 0, nullptr, nullptr));
    for (size_t i = 0; i < kNodes; ++i) {
        Node* next = i + 1 < kNodes ? &nodes[i + 1] : nullptr;
        if (nodes[i].value != values[i] || nodes[i].next != next)
            return fail(kClientWrongData, "node " + std::to_string(i) + " changed");
    }
    values[0] = -1000;
    nodes[0].value = values[0];
    CLIENT_CHECK(clEnqueueSVMUnmap(queue, nodes, 0, nullptr, nullptr));
    if (int code = walk_and_check(queue, walk, values, out, "after"); code != kClientOk)
        return code;
    clSVMFree(context, nodes);
    clSVMFree(context, out);
    clReleaseKernel(walk);
    clReleaseProgram(program);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return kClientOk;
}

} // namespace rgpu::e2e
