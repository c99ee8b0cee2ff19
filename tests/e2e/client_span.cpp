// SPDX-License-Identifier: Apache-2.0
// rgpu-e2e-client span-flow: one context over devices of two daemons, checked on the host.
#include "client_span.h"

#include "client_fail.h"
#include "client_kernels.h"
#include "harness.h"

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace rgpu::e2e {
namespace {

/// "" when out[i] == x[i] * factor for every i; what differs first otherwise.
std::string differs(const char* what, const std::vector<float>& out, const std::vector<float>& x,
                    float factor) {
    for (size_t i = 0; i < out.size(); ++i)
        if (out[i] != x[i] * factor)
            return std::string(what) + ": [" + std::to_string(i) + "] = " + std::to_string(out[i]) +
                   ", want " + std::to_string(x[i] * factor);
    return "";
}

} // namespace

int span_flow(cl_platform_id platform) {
    cl_device_id dev[2];
    cl_uint count = 0;
    CLIENT_CHECK(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 2, dev, &count));
    if (count != 2) return fail(kClientNoDevice, std::to_string(count) + " devices, want 2");
    cl_int err;
    cl_context context = clCreateContext(nullptr, 2, dev, nullptr, nullptr, &err);
    CLIENT_CHECK(err);
    const char* source = kScaleAddSource;
    cl_program program = clCreateProgramWithSource(context, 1, &source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clBuildProgram(program, 0, nullptr, "", nullptr, nullptr));
    for (cl_device_id d : dev) {
        cl_build_status status = CL_BUILD_NONE;
        CLIENT_CHECK(clGetProgramBuildInfo(program, d, CL_PROGRAM_BUILD_STATUS, sizeof status,
                                           &status, nullptr));
        if (status != CL_BUILD_SUCCESS)
            return fail(kClientWrongData, "build status " + std::to_string(status));
    }
    size_t sizes[2] = {0, 0}, sizes_bytes = 0;
    CLIENT_CHECK(
        clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof sizes, sizes, &sizes_bytes));
    if (sizes_bytes != sizeof sizes || !sizes[0] || !sizes[1])
        return fail(kClientWrongData, "binary sizes: " + std::to_string(sizes_bytes) + " bytes");
    cl_kernel scale = clCreateKernel(program, "scale", &err);
    CLIENT_CHECK(err);
    cl_kernel add = clCreateKernel(program, "add", &err);
    CLIENT_CHECK(err);
    // q[0], q[2] on the first daemon's device, q[1], q[3] on the second's.
    cl_command_queue q[4];
    for (int i = 0; i < 4; ++i) {
        q[i] = clCreateCommandQueue(context, dev[i % 2], 0, &err);
        CLIENT_CHECK(err);
    }
    const size_t n = 4096;
    std::vector<float> x(n), out(n);
    for (size_t i = 0; i < n; ++i)
        x[i] = static_cast<float>(i % 1000) * 0.5f;
    auto buffer = [&] { return clCreateBuffer(context, CL_MEM_READ_WRITE, n * 4, nullptr, &err); };
    cl_mem a = buffer(), b = buffer(), c = buffer(), d = buffer();
    CLIENT_CHECK(err);

    // A chain that crosses daemons at every step: written on the first, scaled on the second,
    // scaled on the first, summed on the second, read on the first.
    cl_event written, k1, k2, k3;
    const float two = 2.0f, three = 3.0f;
    CLIENT_CHECK(clEnqueueWriteBuffer(q[0], a, CL_FALSE, 0, n * 4, x.data(), 0, nullptr, &written));
    CLIENT_CHECK(launch(q[1], scale, {a, b}, &two, n, {written}, &k1));
    CLIENT_CHECK(launch(q[2], scale, {b, c}, &three, n, {k1}, &k2));
    CLIENT_CHECK(launch(q[3], add, {a, c, a}, nullptr, n, {k2}, &k3));
    CLIENT_CHECK(clEnqueueReadBuffer(q[0], a, CL_TRUE, 0, n * 4, out.data(), 1, &k3, nullptr));
    if (auto why = differs("chain", out, x, 7.0f); !why.empty()) return fail(kClientWrongData, why);
    cl_event all[] = {written, k1, k2, k3};
    CLIENT_CHECK(clWaitForEvents(4, all));
    for (cl_event e : all)
        clReleaseEvent(e);

    // A user event gates a kernel on the second daemon; nothing runs before it is set.
    cl_event gate = clCreateUserEvent(context, &err);
    CLIENT_CHECK(err);
    cl_event gated;
    CLIENT_CHECK(launch(q[1], scale, {b, d}, &two, n, {gate}, &gated));
    CLIENT_CHECK(clFlush(q[1]));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cl_int status = 0;
    CLIENT_CHECK(
        clGetEventInfo(gated, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, nullptr));
    if (status == CL_COMPLETE)
        return fail(kClientWrongData, "the gated kernel ran before its gate");
    CLIENT_CHECK(clSetUserEventStatus(gate, CL_COMPLETE));
    // Read on the first daemon: d moves back across.
    CLIENT_CHECK(clEnqueueReadBuffer(q[2], d, CL_TRUE, 0, n * 4, out.data(), 1, &gated, nullptr));
    if (auto why = differs("gated", out, x, 4.0f); !why.empty()) return fail(kClientWrongData, why);
    clReleaseEvent(gate);
    clReleaseEvent(gated);

    // A copy on the second daemon of a buffer last written on the first, then a map there.
    CLIENT_CHECK(clEnqueueWriteBuffer(q[0], c, CL_TRUE, 0, n * 4, x.data(), 0, nullptr, nullptr));
    CLIENT_CHECK(clEnqueueCopyBuffer(q[1], c, d, 0, 0, n * 4, 0, nullptr, nullptr));
    auto* mapped = static_cast<float*>(
        clEnqueueMapBuffer(q[1], d, CL_TRUE, CL_MAP_READ, 0, n * 4, 0, nullptr, nullptr, &err));
    CLIENT_CHECK(err);
    std::memcpy(out.data(), mapped, n * 4);
    CLIENT_CHECK(clEnqueueUnmapMemObject(q[1], d, mapped, 0, nullptr, nullptr));
    if (auto why = differs("copy", out, x, 1.0f); !why.empty()) return fail(kClientWrongData, why);

    // A failed user event fails what waits for it on the other daemon.
    cl_event doomed = clCreateUserEvent(context, &err);
    CLIENT_CHECK(err);
    cl_event k_on_first, k_on_second;
    CLIENT_CHECK(launch(q[0], scale, {c, b}, &two, n, {doomed}, &k_on_first));
    CLIENT_CHECK(launch(q[1], scale, {c, a}, &two, n, {k_on_first}, &k_on_second));
    CLIENT_CHECK(clSetUserEventStatus(doomed, -1));
    CLIENT_CHECK(clFinish(q[0]));
    CLIENT_CHECK(clFinish(q[1]));
    CLIENT_CHECK(clGetEventInfo(k_on_second, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status,
                                &status, nullptr));
    if (status >= 0)
        return fail(kClientWrongData,
                    "a command behind a failed user event ended with " + std::to_string(status));
    for (cl_event e : {doomed, k_on_first, k_on_second})
        clReleaseEvent(e);

    // Independent kernels alternating between the daemons, all reading one input made with
    // COPY_HOST_PTR; every output read back on the first daemon.
    cl_mem input =
        clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 4, x.data(), &err);
    CLIENT_CHECK(err);
    std::vector<cl_mem> ys;
    for (int k = 0; k < 8; ++k) {
        ys.push_back(buffer());
        CLIENT_CHECK(err);
        const float f = static_cast<float>(k + 1);
        CLIENT_CHECK(launch(q[k % 2], scale, {input, ys.back()}, &f, n, {}, nullptr));
    }
    CLIENT_CHECK(clFlush(q[0]));
    CLIENT_CHECK(clFinish(q[1]));
    for (int k = 0; k < 8; ++k) {
        CLIENT_CHECK(
            clEnqueueReadBuffer(q[0], ys[k], CL_TRUE, 0, n * 4, out.data(), 0, nullptr, nullptr));
        std::string what = "independent " + std::to_string(k);
        if (auto why = differs(what.c_str(), out, x, static_cast<float>(k + 1)); !why.empty())
            return fail(kClientWrongData, why);
    }
    // A sub-buffer used on the second daemon: its parent's contents follow it, and back.
    cl_uint align_bits = 0;
    CLIENT_CHECK(clGetDeviceInfo(dev[1], CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits,
                                 &align_bits, nullptr));
    cl_buffer_region upper{n * 2, n * 2}; // the second half of a float buffer of n
    if ((n * 2) % (align_bits / 8) == 0) {
        CLIENT_CHECK(
            clEnqueueWriteBuffer(q[0], c, CL_TRUE, 0, n * 4, x.data(), 0, nullptr, nullptr));
        cl_mem half = clCreateSubBuffer(c, 0, CL_BUFFER_CREATE_TYPE_REGION, &upper, &err);
        CLIENT_CHECK(err);
        cl_event scaled;
        const float ten = 10.0f;
        CLIENT_CHECK(launch(q[1], scale, {half, half}, &ten, n / 2, {}, &scaled));
        CLIENT_CHECK(
            clEnqueueReadBuffer(q[0], c, CL_TRUE, 0, n * 4, out.data(), 1, &scaled, nullptr));
        for (size_t i = 0; i < n; ++i)
            if (out[i] != x[i] * (i < n / 2 ? 1.0f : 10.0f))
                return fail(kClientWrongData,
                            "sub-buffer: [" + std::to_string(i) + "] = " + std::to_string(out[i]));
        clReleaseEvent(scaled);
        clReleaseMemObject(half);
    }
    // An image written on the first daemon, changed by a kernel (through a sampler) on the
    // second, a box of it written on the second, read back on the first: its pixels follow.
    {
        constexpr size_t kW = 8, kH = 4;
        std::vector<cl_uint> pixels(kW * kH);
        for (size_t i = 0; i < pixels.size(); ++i)
            pixels[i] = static_cast<cl_uint>(i * 11 + 5);
        const cl_image_format r32{CL_R, CL_UNSIGNED_INT32};
        cl_image_desc desc{};
        desc.image_type = CL_MEM_OBJECT_IMAGE2D;
        desc.image_width = kW;
        desc.image_height = kH;
        cl_mem image = clCreateImage(context, CL_MEM_READ_WRITE, &r32, &desc, nullptr, &err);
        CLIENT_CHECK(err);
        const size_t origin[3] = {0, 0, 0}, region[3] = {kW, kH, 1};
        CLIENT_CHECK(clEnqueueWriteImage(q[0], image, CL_TRUE, origin, region, 0, 0, pixels.data(),
                                         0, nullptr, nullptr));
        cl_sampler sampler =
            clCreateSampler(context, CL_FALSE, CL_ADDRESS_CLAMP_TO_EDGE, CL_FILTER_NEAREST, &err);
        CLIENT_CHECK(err);
        const char* bump_source =
            "__kernel void bump(read_write image2d_t img, sampler_t s) {\n"
            "  int2 p = (int2)(get_global_id(0), get_global_id(1));\n"
            "  write_imageui(img, p, read_imageui(img, p) + (uint4)(1000, 0, 0, 0)); }\n";
        cl_program bump_program =
            clCreateProgramWithSource(context, 1, &bump_source, nullptr, &err);
        CLIENT_CHECK(err);
        CLIENT_CHECK(clBuildProgram(bump_program, 0, nullptr, "-cl-std=CL2.0", nullptr, nullptr));
        cl_kernel bump = clCreateKernel(bump_program, "bump", &err);
        CLIENT_CHECK(err);
        CLIENT_CHECK(clSetKernelArg(bump, 0, sizeof image, &image));
        CLIENT_CHECK(clSetKernelArg(bump, 1, sizeof sampler, &sampler));
        const size_t global[2] = {kW, kH};
        CLIENT_CHECK(
            clEnqueueNDRangeKernel(q[1], bump, 2, nullptr, global, nullptr, 0, nullptr, nullptr));
        const size_t box_origin[3] = {2, 1, 0}, box[3] = {3, 2, 1};
        const cl_uint sevens[6] = {7, 7, 7, 7, 7, 7};
        CLIENT_CHECK(clEnqueueWriteImage(q[1], image, CL_FALSE, box_origin, box, 0, 0, sevens, 0,
                                         nullptr, nullptr));
        cl_event written;
        CLIENT_CHECK(clEnqueueMarkerWithWaitList(q[1], 0, nullptr, &written));
        std::vector<cl_uint> back(kW * kH);
        CLIENT_CHECK(clEnqueueReadImage(q[0], image, CL_TRUE, origin, region, 0, 0, back.data(), 1,
                                        &written, nullptr));
        clReleaseEvent(written);
        for (size_t y = 0; y < kH; ++y)
            for (size_t x = 0; x < kW; ++x) {
                bool in_box = x >= 2 && x < 5 && y >= 1 && y < 3;
                cl_uint want = in_box ? 7 : pixels[y * kW + x] + 1000;
                if (back[y * kW + x] != want)
                    return fail(kClientWrongData, "image: (" + std::to_string(x) + ", " +
                                                      std::to_string(y) +
                                                      ") = " + std::to_string(back[y * kW + x]) +
                                                      ", want " + std::to_string(want));
            }
        clReleaseKernel(bump);
        clReleaseProgram(bump_program);
        clReleaseSampler(sampler);
        clReleaseMemObject(image);
    }
    // Separate compilation across the daemons: compiled and linked on both, run on the second.
    const char* uses_source =
        "int helper(int x);\n__kernel void offset(__global int* out) { out[0] = helper(5); }\n";
    const char* helper_source = "int helper(int x) { return x * 7; }\n";
    cl_program uses = clCreateProgramWithSource(context, 1, &uses_source, nullptr, &err);
    CLIENT_CHECK(err);
    cl_program helper = clCreateProgramWithSource(context, 1, &helper_source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clCompileProgram(uses, 0, nullptr, "", 0, nullptr, nullptr, nullptr, nullptr));
    CLIENT_CHECK(clCompileProgram(helper, 0, nullptr, "", 0, nullptr, nullptr, nullptr, nullptr));
    cl_program inputs[] = {uses, helper};
    cl_program linked = clLinkProgram(context, 0, nullptr, "", 2, inputs, nullptr, nullptr, &err);
    CLIENT_CHECK(err);
    cl_kernel offset = clCreateKernel(linked, "offset", &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clSetKernelArg(offset, 0, sizeof(cl_mem), &ys[0]));
    const size_t one = 1;
    cl_event ran;
    CLIENT_CHECK(clEnqueueNDRangeKernel(q[1], offset, 1, nullptr, &one, nullptr, 0, nullptr, &ran));
    cl_int value = -1;
    CLIENT_CHECK(
        clEnqueueReadBuffer(q[0], ys[0], CL_TRUE, 0, sizeof value, &value, 1, &ran, nullptr));
    clReleaseEvent(ran);
    if (value != 35)
        return fail(kClientWrongData, "linked kernel: " + std::to_string(value) + ", want 35");
    clReleaseKernel(offset);
    for (cl_program p : {uses, helper, linked})
        clReleaseProgram(p);
    for (cl_mem y : ys)
        clReleaseMemObject(y);
    for (cl_mem m : {a, b, c, d, input})
        clReleaseMemObject(m);
    for (auto queue : q)
        clReleaseCommandQueue(queue);
    clReleaseKernel(scale);
    clReleaseKernel(add);
    clReleaseProgram(program);
    clReleaseContext(context);
    return kClientOk;
}

} // namespace rgpu::e2e
