// SPDX-License-Identifier: Apache-2.0
// rgpu-reconnect-bench: what a lost connection costs an application, through the ICD against a
// running daemon (RGPU_SERVERS, OCL_ICD_VENDORS as for any client): the round trip of a small
// blocking read, the same read right after this process's connections were cut (reconnect
// included), and clDetachRGPU / clAttachRGPU. Medians and 90th percentiles over --rounds.
#include "rgpu_platform.h"

#include <connection_cut.h>

#include <CL/cl.h>
#include <CL/cl_rgpu.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

void report(const char* what, std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) { return samples[static_cast<size_t>(q * (samples.size() - 1))]; };
    std::printf("%-34s median %9.3f ms   p90 %9.3f ms   (%zu rounds)\n", what, at(0.5), at(0.9),
                samples.size());
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rgpu-reconnect-bench: the cost of a lost connection, of detach and attach"};
    int rounds = 20;
    app.add_option("--rounds", rounds, "measurements of each kind")->check(CLI::Range(1, 10000));
    CLI11_PARSE(app, argc, argv);

    cl_platform_id platform = rgpu::bench::rgpu_platform();
    if (!platform) {
        std::fprintf(stderr, "rgpu-reconnect-bench: no rgpu platform (OCL_ICD_VENDORS?)\n");
        return 1;
    }
    cl_device_id device = nullptr;
    cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr);
    if (err != CL_SUCCESS) {
        std::fprintf(stderr, "rgpu-reconnect-bench: no device (is RGPU_SERVERS's daemon up?)\n");
        return 1;
    }
    cl_context context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &err);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    cl_int value = 7;
    cl_mem buffer = clCreateBuffer(context, CL_MEM_COPY_HOST_PTR, sizeof value, &value, &err);
    auto read = [&] {
        cl_int back = 0;
        return clEnqueueReadBuffer(queue, buffer, CL_TRUE, 0, sizeof back, &back, 0, nullptr,
                                   nullptr) == CL_SUCCESS &&
               back == value;
    };
    if (!read()) {
        std::fprintf(stderr, "rgpu-reconnect-bench: the first read failed\n");
        return 1;
    }
    const int port = rgpu::endpoint_port(std::getenv("RGPU_SERVERS"));

    std::vector<double> round_trip, after_cut, detach_ms, attach_ms;
    for (int i = 0; i < rounds; ++i) {
        auto start = clock_type::now();
        if (!read()) return 1;
        round_trip.push_back(ms_since(start));
    }
    for (int i = 0; i < rounds; ++i) {
        while (!rgpu::cut_tcp_connections(port)) // the previous reconnect may still be going
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        auto start = clock_type::now();
        if (!read()) {
            std::fprintf(stderr, "rgpu-reconnect-bench: a read after a cut failed\n");
            return 1;
        }
        after_cut.push_back(ms_since(start));
    }
    auto detach = reinterpret_cast<clDetachRGPU_fn>(
        clGetExtensionFunctionAddressForPlatform(platform, "clDetachRGPU"));
    auto attach = reinterpret_cast<clAttachRGPU_fn>(
        clGetExtensionFunctionAddressForPlatform(platform, "clAttachRGPU"));
    for (int i = 0; i < rounds && detach && attach; ++i) {
        auto start = clock_type::now();
        if (detach(platform) != CL_SUCCESS) return 1;
        detach_ms.push_back(ms_since(start));
        start = clock_type::now();
        if (attach(platform) != CL_SUCCESS) return 1;
        attach_ms.push_back(ms_since(start));
        if (!read()) return 1;
    }
    report("blocking 4-byte read", round_trip);
    report("the same read after a cut", after_cut);
    if (!detach_ms.empty()) {
        report("clDetachRGPU", detach_ms);
        report("clAttachRGPU (until resumed)", attach_ms);
    }
    clReleaseMemObject(buffer);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return 0;
}
