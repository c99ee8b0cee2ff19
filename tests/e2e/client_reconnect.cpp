// SPDX-License-Identifier: Apache-2.0
// Release/reconnect modes of rgpu-e2e-client: the session's connection is taken away while
// commands are queued, in flight, or being answered; the application must notice nothing.
#include "client_reconnect.h"

#include <algorithm>

#include "client_fail.h"
#include "harness.h"

#include <connection_cut.h>
#include <operator_client.h>

#include <CL/cl_rgpu.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace rgpu::e2e {

namespace {

/// This process's session on the daemon RGPU_SERVERS names, as the operator sees it.
std::optional<SessionInfo> own_session(std::string* error) {
    const char* server = std::getenv("RGPU_SERVERS");
    auto list = list_sessions(server ? server : "", std::chrono::seconds(5), error);
    if (!list) return std::nullopt;
    for (const auto& s : *list)
        if (s.client.find(" pid " + std::to_string(getpid()) + " ") != std::string::npos) return s;
    *error = "no session of this process is listed";
    return std::nullopt;
}

/// Takes the connection away once; an empty string, or what went wrong.
std::string take_connection_away(Outage outage) {
    std::string error;
    switch (outage) {
    case Outage::Cut:
        // The ICD may still be reconnecting from the last cut: wait for a connection to cut.
        for (int i = 0; i < 500; ++i) {
            if (cut_tcp_connections(endpoint_port(std::getenv("RGPU_SERVERS")))) return "";
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return "no connection to the worker to cut";
    case Outage::Release: {
        auto session = own_session(&error);
        if (!session) return error;
        const char* server = std::getenv("RGPU_SERVERS");
        return release_session(server, session->id, std::chrono::seconds(5), &error) ? "" : error;
    }
    case Outage::Pause: {
        auto session = own_session(&error);
        if (!session) return error;
        // Long enough for the client to declare the daemon silent and try to reconnect a few
        // times (the test sets RGPU_PEER_TIMEOUT_MS).
        const char* peer = std::getenv("RGPU_PEER_TIMEOUT_MS");
        const long pause_ms = 3 * (peer ? std::atol(peer) : 5000);
        const pid_t worker = static_cast<pid_t>(session->worker_pid);
        if (kill(worker, SIGSTOP) != 0) return "cannot stop the worker";
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
        kill(worker, SIGCONT);
        return "";
    }
    }
    return "unknown outage";
}

} // namespace

int survive_outages(cl_platform_id platform, Outage outage, int rounds) {
    cl_int err;
    cl_device_id device = first_device(platform, &err);
    if (!device) return fail(kClientNoDevice, describe(err));
    cl_context context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &err);
    CLIENT_CHECK(err);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    CLIENT_CHECK(err);
    // One work-item adds one: the counter says exactly how often the kernel ran.
    const char* source = "__kernel void count(__global int* n) { n[0] += 1; }";
    cl_program program = clCreateProgramWithSource(context, 1, &source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clBuildProgram(program, 1, &device, nullptr, nullptr, nullptr));
    cl_kernel kernel = clCreateKernel(program, "count", &err);
    CLIENT_CHECK(err);
    cl_int zero = 0;
    cl_mem counter = clCreateBuffer(context, CL_MEM_COPY_HOST_PTR, sizeof zero, &zero, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clSetKernelArg(kernel, 0, sizeof counter, &counter));
    const size_t words = 8u << 20; // 32 MiB: a read of many chunks
    cl_mem data =
        clCreateBuffer(context, CL_MEM_READ_WRITE, words * sizeof(cl_uint), nullptr, &err);
    CLIENT_CHECK(err);

    const size_t one = 1;
    int launched = 0;
    auto launch = [&](int n) -> int {
        for (int i = 0; i < n; ++i)
            CLIENT_CHECK(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &one, nullptr, 0,
                                                nullptr, nullptr));
        launched += n;
        return kClientOk;
    };
    std::vector<cl_uint> pattern(words), back(words);
    for (int round = 0; round < rounds; ++round) {
        for (size_t i = 0; i < words; ++i)
            pattern[i] = static_cast<cl_uint>(i * 2654435761u + round);
        if (int s = launch(200); s != kClientOk) return s;
        cl_event written = nullptr;
        CLIENT_CHECK(clEnqueueWriteBuffer(queue, data, CL_FALSE, 0, words * sizeof(cl_uint),
                                          pattern.data(), 0, nullptr, &written));
        CLIENT_CHECK(clFlush(queue));
        // Away while those are on their way or running; then more work is queued during the
        // outage, and a large blocking read waits through another one.
        if (auto why = take_connection_away(outage); !why.empty())
            return fail(kClientClError, "round " + std::to_string(round) + ": " + why);
        if (int s = launch(200); s != kClientOk) return s;
        std::string second;
        std::thread away([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            second = take_connection_away(outage);
        });
        cl_int read = clEnqueueReadBuffer(queue, data, CL_TRUE, 0, words * sizeof(cl_uint),
                                          back.data(), 0, nullptr, nullptr);
        away.join();
        CLIENT_CHECK(read);
        if (!second.empty())
            return fail(kClientClError, "round " + std::to_string(round) + ": " + second);
        cl_int status = CL_QUEUED;
        CLIENT_CHECK(clWaitForEvents(1, &written));
        CLIENT_CHECK(clGetEventInfo(written, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status,
                                    &status, nullptr));
        clReleaseEvent(written);
        if (status != CL_COMPLETE)
            return fail(kClientClError, "the write ended with " + describe(status));
        if (back != pattern)
            return fail(kClientWrongData, "round " + std::to_string(round) + ": data read back");
    }
    cl_int count = -1;
    CLIENT_CHECK(
        clEnqueueReadBuffer(queue, counter, CL_TRUE, 0, sizeof count, &count, 0, nullptr, nullptr));
    CLIENT_CHECK(clFinish(queue));
    if (count != launched)
        return fail(kClientWrongData, "the kernel ran " + std::to_string(count) + " times, " +
                                          std::to_string(launched) + " launched");
    clReleaseMemObject(data);
    clReleaseMemObject(counter);
    clReleaseKernel(kernel);
    clReleaseProgram(program);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    std::printf("%d kernels ran exactly once\n", launched);
    return kClientOk;
}

namespace {

/// The counter kernel of survive_outages on a fresh context: (context, queue, kernel, counter).
struct Counter {
    cl_device_id device = nullptr;
    cl_context context = nullptr;
    cl_command_queue queue = nullptr;
    cl_program program = nullptr;
    cl_kernel kernel = nullptr;
    cl_mem counter = nullptr;
    int launch(int n) {
        const size_t one = 1;
        for (int i = 0; i < n; ++i)
            CLIENT_CHECK(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &one, nullptr, 0,
                                                nullptr, nullptr));
        return kClientOk;
    }
    int open(cl_platform_id platform) {
        cl_int err;
        device = first_device(platform, &err);
        if (!device) return fail(kClientNoDevice, describe(err));
        context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &err);
        CLIENT_CHECK(err);
        queue = clCreateCommandQueue(context, device, 0, &err);
        CLIENT_CHECK(err);
        const char* source = "__kernel void count(__global int* n) { n[0] += 1; }";
        program = clCreateProgramWithSource(context, 1, &source, nullptr, &err);
        CLIENT_CHECK(err);
        CLIENT_CHECK(clBuildProgram(program, 1, &device, nullptr, nullptr, nullptr));
        kernel = clCreateKernel(program, "count", &err);
        CLIENT_CHECK(err);
        cl_int zero = 0;
        counter = clCreateBuffer(context, CL_MEM_COPY_HOST_PTR, sizeof zero, &zero, &err);
        CLIENT_CHECK(err);
        CLIENT_CHECK(clSetKernelArg(kernel, 0, sizeof counter, &counter));
        return kClientOk;
    }
    ~Counter() {
        if (counter) clReleaseMemObject(counter);
        if (kernel) clReleaseKernel(kernel);
        if (program) clReleaseProgram(program);
        if (queue) clReleaseCommandQueue(queue);
        if (context) clReleaseContext(context);
    }
};

/// Waits (6 s at most) until the daemon lists this process's session in `state`.
bool session_state_becomes(const std::string& state) {
    std::string error;
    for (int i = 0; i < 60; ++i) {
        auto session = own_session(&error);
        if (session && session->state == state) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

} // namespace

int detach_and_attach(cl_platform_id platform) {
    char extensions[256] = {};
    CLIENT_CHECK(clGetPlatformInfo(platform, CL_PLATFORM_EXTENSIONS, sizeof extensions, extensions,
                                   nullptr));
    if (!std::strstr(extensions, CL_RGPU_SESSION_EXTENSION_NAME))
        return fail(kClientClError, std::string("extensions: ") + extensions);
    auto detach = reinterpret_cast<clDetachRGPU_fn>(
        clGetExtensionFunctionAddressForPlatform(platform, "clDetachRGPU"));
    auto attach = reinterpret_cast<clAttachRGPU_fn>(
        clGetExtensionFunctionAddressForPlatform(platform, "clAttachRGPU"));
    if (!detach || !attach) return fail(kClientClError, "extension functions not found");
    if (detach(nullptr) != CL_INVALID_PLATFORM || attach(nullptr) != CL_INVALID_PLATFORM)
        return fail(kClientClError, "a null platform was not CL_INVALID_PLATFORM");

    Counter c;
    if (int s = c.open(platform); s != kClientOk) return s;
    CLIENT_CHECK(clFinish(c.queue));
    if (int s = c.launch(100); s != kClientOk) return s;
    CLIENT_CHECK(detach(platform));
    CLIENT_CHECK(detach(platform)); // detached already: nothing to do
    // The daemon keeps the session without a client and runs what was flushed before.
    if (!session_state_becomes("released"))
        return fail(kClientClError, "the detached session is not listed as released");
    // While detached, commands queue up and a clFinish waits.
    if (int s = c.launch(100); s != kClientOk) return s;
    std::atomic<bool> finished{false};
    cl_int finish_status = CL_INVALID_VALUE;
    std::thread finisher([&] {
        finish_status = clFinish(c.queue);
        finished.store(true);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const bool finished_while_detached = finished.load();
    const cl_int attached = attach(platform);
    finisher.join();
    if (finished_while_detached) return fail(kClientClError, "clFinish returned while detached");
    CLIENT_CHECK(attached);
    CLIENT_CHECK(finish_status);
    CLIENT_CHECK(attach(platform)); // attached already
    cl_int count = -1;
    CLIENT_CHECK(clEnqueueReadBuffer(c.queue, c.counter, CL_TRUE, 0, sizeof count, &count, 0,
                                     nullptr, nullptr));
    if (count != 200)
        return fail(kClientWrongData,
                    "the kernel ran " + std::to_string(count) + " times, 200 launched");
    if (!session_state_becomes("attached"))
        return fail(kClientClError, "the attached session is not listed as attached");
    std::printf("detached and attached\n");
    return kClientOk;
}

namespace {

/// A program of `source` compiled (not linked) on the context's devices.
cl_program compiled(cl_context context, const char* source, cl_int* err) {
    cl_program p = clCreateProgramWithSource(context, 1, &source, nullptr, err);
    if (*err != CL_SUCCESS) return p;
    *err = clCompileProgram(p, 0, nullptr, "", 0, nullptr, nullptr, nullptr, nullptr);
    return p;
}

/// Runs kernel "offset" of `program` (out[0] = helper(5)) and checks the value.
int run_offset(cl_context context, cl_command_queue queue, cl_program program, int want,
               const char* what) {
    cl_int err;
    cl_kernel kernel = clCreateKernel(program, "offset", &err);
    CLIENT_CHECK(err);
    cl_mem out = clCreateBuffer(context, CL_MEM_WRITE_ONLY, sizeof(cl_int), nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clSetKernelArg(kernel, 0, sizeof out, &out));
    const size_t one = 1;
    CLIENT_CHECK(
        clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &one, nullptr, 0, nullptr, nullptr));
    cl_int value = -1;
    CLIENT_CHECK(
        clEnqueueReadBuffer(queue, out, CL_TRUE, 0, sizeof value, &value, 0, nullptr, nullptr));
    clReleaseMemObject(out);
    clReleaseKernel(kernel);
    if (value != want)
        return fail(kClientWrongData, std::string(what) + ": " + std::to_string(value) + ", want " +
                                          std::to_string(want));
    return kClientOk;
}

const char* const kUsesHelper =
    "int helper(int x);\n__kernel void offset(__global int* out) { out[0] = helper(5); }\n";

} // namespace

int survive_restart(cl_platform_id platform, void (*wait)(), bool idle) {
    Counter c;
    if (int s = c.open(platform); s != kClientOk) return s;
    cl_int err;
    std::vector<cl_uint> pattern(1u << 18), back(pattern.size());
    for (size_t i = 0; i < pattern.size(); ++i)
        pattern[i] = static_cast<cl_uint>(i * 2654435761u);
    const size_t bytes = pattern.size() * sizeof(cl_uint);
    cl_mem data = clCreateBuffer(c.context, CL_MEM_READ_WRITE, bytes, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clEnqueueWriteBuffer(c.queue, data, CL_TRUE, 0, bytes, pattern.data(), 0, nullptr,
                                      nullptr));
    // A sub-buffer over the buffer's second half: restored over the restored parent.
    cl_buffer_region half{bytes / 2, bytes / 2};
    cl_mem second = clCreateSubBuffer(data, 0, CL_BUFFER_CREATE_TYPE_REGION, &half, &err);
    CLIENT_CHECK(err);
    // Separately compiled programs: one linked before the restart (restored as an executable),
    // one compiled object linked only after it (restored as link input).
    cl_program uses = compiled(c.context, kUsesHelper, &err);
    CLIENT_CHECK(err);
    cl_program helper = compiled(c.context, "int helper(int x) { return x * 7; }\n", &err);
    CLIENT_CHECK(err);
    cl_program inputs[] = {uses, helper};
    cl_program linked = clLinkProgram(c.context, 0, nullptr, "", 2, inputs, nullptr, nullptr, &err);
    CLIENT_CHECK(err);
    // An image with its pixels, an image over the buffer, a sampler, and a kernel whose image
    // and sampler arguments are set before the restart and launched after it.
    constexpr size_t kW = 16, kH = 4;
    std::vector<cl_uchar> pixels(kW * kH * 4);
    for (size_t i = 0; i < pixels.size(); ++i)
        pixels[i] = static_cast<cl_uchar>(i * 3 + 1);
    const cl_image_format rgba8{CL_RGBA, CL_UNSIGNED_INT8}, r32{CL_R, CL_UNSIGNED_INT32};
    cl_image_desc desc{};
    desc.image_type = CL_MEM_OBJECT_IMAGE2D;
    desc.image_width = kW;
    desc.image_height = kH;
    cl_mem image = clCreateImage(c.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, &rgba8, &desc,
                                 pixels.data(), &err);
    CLIENT_CHECK(err);
    cl_image_desc view_desc{};
    view_desc.image_type = CL_MEM_OBJECT_IMAGE1D_BUFFER;
    view_desc.image_width = 256;
    view_desc.buffer = data;
    cl_mem view = clCreateImage(c.context, 0, &r32, &view_desc, nullptr, &err);
    CLIENT_CHECK(err);
    cl_sampler sampler =
        clCreateSampler(c.context, CL_FALSE, CL_ADDRESS_CLAMP_TO_EDGE, CL_FILTER_NEAREST, &err);
    CLIENT_CHECK(err);
    const char* pick_source =
        "__kernel void pick(__read_only image2d_t img, sampler_t s, __global uint4* out) {\n"
        "  int i = get_global_id(0); out[i] = read_imageui(img, s, (int2)(i, 1)); }\n";
    cl_program pick_program = clCreateProgramWithSource(c.context, 1, &pick_source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clBuildProgram(pick_program, 0, nullptr, "", nullptr, nullptr));
    cl_kernel pick = clCreateKernel(pick_program, "pick", &err);
    CLIENT_CHECK(err);
    cl_mem picked =
        clCreateBuffer(c.context, CL_MEM_WRITE_ONLY, kW * 4 * sizeof(cl_uint), nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clSetKernelArg(pick, 0, sizeof image, &image));
    CLIENT_CHECK(clSetKernelArg(pick, 1, sizeof sampler, &sampler));
    CLIENT_CHECK(clSetKernelArg(pick, 2, sizeof picked, &picked));
    // Where the device can be partitioned (not a pool): a context of a sub-device, a buffer in
    // it; the restored session makes the partition again and names it the same.
    cl_uint most_subs = 0;
    clGetDeviceInfo(c.device, CL_DEVICE_PARTITION_MAX_SUB_DEVICES, sizeof most_subs, &most_subs,
                    nullptr);
    cl_device_id sub_device = nullptr;
    cl_context sub_context = nullptr;
    cl_mem sub_data = nullptr;
    if (most_subs >= 2) {
        const cl_device_partition_property by_counts[] = {
            CL_DEVICE_PARTITION_BY_COUNTS, 1, CL_DEVICE_PARTITION_BY_COUNTS_LIST_END, 0};
        CLIENT_CHECK(clCreateSubDevices(c.device, by_counts, 1, &sub_device, nullptr));
        sub_context = clCreateContext(nullptr, 1, &sub_device, nullptr, nullptr, &err);
        CLIENT_CHECK(err);
        sub_data = clCreateBuffer(sub_context, CL_MEM_COPY_HOST_PTR, 4096, pattern.data(), &err);
        CLIENT_CHECK(err);
    }
    if (int s = c.launch(300); s != kClientOk) return s;
    cl_int early = -1;
    cl_event read = nullptr;
    CLIENT_CHECK(clEnqueueReadBuffer(c.queue, c.counter, CL_FALSE, 0, sizeof early, &early, 0,
                                     nullptr, &read));
    CLIENT_CHECK(clFlush(c.queue));
    if (idle) CLIENT_CHECK(clFinish(c.queue));
    std::printf("ready\n");
    std::fflush(stdout);
    wait();
    CLIENT_CHECK(clWaitForEvents(1, &read));
    clReleaseEvent(read);
    if (early != 300)
        return fail(kClientWrongData, "read before the restart: " + std::to_string(early));
    if (int s = c.launch(100); s != kClientOk) return s;
    cl_int count = -1;
    CLIENT_CHECK(clEnqueueReadBuffer(c.queue, c.counter, CL_TRUE, 0, sizeof count, &count, 0,
                                     nullptr, nullptr));
    if (count != 400)
        return fail(kClientWrongData,
                    "the kernel ran " + std::to_string(count) + " times, 400 launched");
    CLIENT_CHECK(
        clEnqueueReadBuffer(c.queue, data, CL_TRUE, 0, bytes, back.data(), 0, nullptr, nullptr));
    if (back != pattern) return fail(kClientWrongData, "the buffer's contents changed");
    std::vector<cl_uint> second_back(pattern.size() / 2);
    CLIENT_CHECK(clEnqueueReadBuffer(c.queue, second, CL_TRUE, 0, bytes / 2, second_back.data(), 0,
                                     nullptr, nullptr));
    if (!std::equal(second_back.begin(), second_back.end(), pattern.begin() + pattern.size() / 2))
        return fail(kClientWrongData, "the sub-buffer's contents changed");
    clReleaseMemObject(second);
    std::vector<cl_uchar> image_back(pixels.size());
    const size_t origin[3] = {0, 0, 0}, region[3] = {kW, kH, 1};
    CLIENT_CHECK(clEnqueueReadImage(c.queue, image, CL_TRUE, origin, region, 0, 0,
                                    image_back.data(), 0, nullptr, nullptr));
    if (image_back != pixels) return fail(kClientWrongData, "the image's pixels changed");
    std::vector<cl_uint> view_back(256);
    const size_t view_region[3] = {256, 1, 1};
    CLIENT_CHECK(clEnqueueReadImage(c.queue, view, CL_TRUE, origin, view_region, 0, 0,
                                    view_back.data(), 0, nullptr, nullptr));
    if (!std::equal(view_back.begin(), view_back.end(), pattern.begin()))
        return fail(kClientWrongData, "the image over the buffer does not show the buffer");
    const size_t width = kW;
    CLIENT_CHECK(
        clEnqueueNDRangeKernel(c.queue, pick, 1, nullptr, &width, nullptr, 0, nullptr, nullptr));
    std::vector<cl_uint> picked_back(kW * 4);
    CLIENT_CHECK(clEnqueueReadBuffer(c.queue, picked, CL_TRUE, 0, picked_back.size() * 4,
                                     picked_back.data(), 0, nullptr, nullptr));
    for (size_t i = 0; i < picked_back.size(); ++i)
        if (picked_back[i] != pixels[kW * 4 + i])
            return fail(kClientWrongData, "a kernel through the restored sampler read " +
                                              std::to_string(picked_back[i]) + " at " +
                                              std::to_string(i));
    clReleaseKernel(pick);
    clReleaseProgram(pick_program);
    clReleaseSampler(sampler);
    clReleaseMemObject(picked);
    clReleaseMemObject(view);
    clReleaseMemObject(image);
    if (int s = run_offset(c.context, c.queue, linked, 35, "linked before the restart");
        s != kClientOk)
        return s;
    cl_int compiled_after = CL_SUCCESS, linked_after = CL_SUCCESS;
    cl_program other =
        compiled(c.context, "int helper(int x) { return x + 100; }\n", &compiled_after);
    CLIENT_CHECK(compiled_after);
    cl_program later_inputs[] = {uses, other};
    cl_program later =
        clLinkProgram(c.context, 0, nullptr, "", 2, later_inputs, nullptr, nullptr, &linked_after);
    CLIENT_CHECK(linked_after);
    if (int s = run_offset(c.context, c.queue, later, 105, "linked after the restart");
        s != kClientOk)
        return s;
    for (cl_program p : {uses, helper, linked, other, later})
        clReleaseProgram(p);
    if (sub_device) {
        cl_command_queue sub_queue = clCreateCommandQueue(sub_context, sub_device, 0, &err);
        CLIENT_CHECK(err);
        std::vector<cl_uint> sub_back(1024);
        CLIENT_CHECK(clEnqueueReadBuffer(sub_queue, sub_data, CL_TRUE, 0, 4096, sub_back.data(), 0,
                                         nullptr, nullptr));
        if (!std::equal(sub_back.begin(), sub_back.end(), pattern.begin()))
            return fail(kClientWrongData, "the buffer of the sub-device's context changed");
        clReleaseCommandQueue(sub_queue);
        clReleaseMemObject(sub_data);
        clReleaseContext(sub_context);
        clReleaseDevice(sub_device);
    }
    CLIENT_CHECK(clFinish(c.queue));
    clReleaseMemObject(data);
    std::printf("survived the restart\n");
    return kClientOk;
}

} // namespace rgpu::e2e
