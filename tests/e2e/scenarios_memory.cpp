// SPDX-License-Identifier: Apache-2.0
// Scenarios of buffer memory: vector add with each kind of host pointer, and transfers.
#include "scenarios.h"

#include "scenario_support.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace rgpu::e2e::scenarios {

using namespace detail;

namespace {

enum class BufferMode { CopyHostPtr, UseHostPtr, AllocHostPtr, Write };

ScenarioResult vector_add(cl_platform_id platform, BufferMode mode) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kVectorAddSource, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "vadd", &err));
    SETUP("clCreateKernel", err);

    const size_t n = kVectorSize, bytes = n * sizeof(float);
    std::vector<float> ha(n), hb(n), hc(n, -1.0f);
    for (size_t i = 0; i < n; ++i) {
        ha[i] = vector_a(i);
        hb[i] = vector_b(i);
    }
    Mem a, b, c;
    switch (mode) {
    case BufferMode::CopyHostPtr:
        a.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, ha.data(),
                               &err));
        SETUP("clCreateBuffer a", err);
        b.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, hb.data(),
                               &err));
        SETUP("clCreateBuffer b", err);
        // The host copies must not matter after creation.
        std::fill(ha.begin(), ha.end(), 0.0f);
        std::fill(hb.begin(), hb.end(), 0.0f);
        c.reset(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, bytes, nullptr, &err));
        SETUP("clCreateBuffer c", err);
        break;
    case BufferMode::UseHostPtr:
        a.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, bytes, ha.data(),
                               &err));
        SETUP("clCreateBuffer a", err);
        b.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, bytes, hb.data(),
                               &err));
        SETUP("clCreateBuffer b", err);
        c.reset(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR, bytes, hc.data(),
                               &err));
        SETUP("clCreateBuffer c", err);
        break;
    case BufferMode::AllocHostPtr: {
        a.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr,
                               &err));
        SETUP("clCreateBuffer a", err);
        b.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr,
                               &err));
        SETUP("clCreateBuffer b", err);
        c.reset(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr,
                               &err));
        SETUP("clCreateBuffer c", err);
        for (auto [mem, host, name] : {std::tuple{a.get(), &ha, "a"}, {b.get(), &hb, "b"}}) {
            const std::string label = std::string("clEnqueueMapBuffer ") + name;
            void* p = clEnqueueMapBuffer(d.queue, mem, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0,
                                         bytes, 0, nullptr, nullptr, &err);
            SETUP(label, err);
            SETUP_PTR(label, p);
            std::memcpy(p, host->data(), bytes);
            SETUP(std::string("clEnqueueUnmapMemObject ") + name,
                  clEnqueueUnmapMemObject(d.queue, mem, p, 0, nullptr, nullptr));
        }
        break;
    }
    case BufferMode::Write:
        a.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY, bytes, nullptr, &err));
        SETUP("clCreateBuffer a", err);
        b.reset(clCreateBuffer(d.context, CL_MEM_READ_ONLY, bytes, nullptr, &err));
        SETUP("clCreateBuffer b", err);
        c.reset(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, bytes, nullptr, &err));
        SETUP("clCreateBuffer c", err);
        SETUP("clEnqueueWriteBuffer a",
              clEnqueueWriteBuffer(d.queue, a, CL_TRUE, 0, bytes, ha.data(), 0, nullptr, nullptr));
        SETUP("clEnqueueWriteBuffer b",
              clEnqueueWriteBuffer(d.queue, b, CL_FALSE, 0, bytes, hb.data(), 0, nullptr, nullptr));
        break;
    }

    cl_mem args[] = {a, b, c};
    for (cl_uint i = 0; i < 3; ++i)
        SETUP("clSetKernelArg " + std::to_string(i),
              clSetKernelArg(kernel, i, sizeof(cl_mem), &args[i]));
    SETUP("clEnqueueNDRangeKernel",
          clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));

    if (mode == BufferMode::CopyHostPtr || mode == BufferMode::Write) {
        std::vector<float> out(n, -2.0f);
        SETUP("clEnqueueReadBuffer",
              clEnqueueReadBuffer(d.queue, c, CL_TRUE, 0, bytes, out.data(), 0, nullptr, nullptr));
        r.put("c", out);
    } else {
        auto* p = static_cast<float*>(clEnqueueMapBuffer(d.queue, c, CL_TRUE, CL_MAP_READ, 0, bytes,
                                                         0, nullptr, nullptr, &err));
        SETUP("clEnqueueMapBuffer c", err);
        SETUP_PTR("clEnqueueMapBuffer c", p);
        r.put("c mapped", std::vector<float>(p, p + n));
        if (mode == BufferMode::UseHostPtr) {
            // OpenCL 1.2+: the mapped pointer of a USE_HOST_PTR buffer is derived from host_ptr,
            // and host_ptr holds the contents while mapped.
            r.fact("map returns host_ptr", static_cast<void*>(p) == hc.data());
            r.put("c host while mapped", hc);
        }
        SETUP("clEnqueueUnmapMemObject c",
              clEnqueueUnmapMemObject(d.queue, c, p, 0, nullptr, nullptr));
    }
    r.record("clFinish", clFinish(d.queue));
    return r;
}

} // namespace

float vector_a(size_t i) {
    return static_cast<float>(i) * 0.5f;
}
float vector_b(size_t i) {
    return 1000.0f - static_cast<float>(i);
}

bool vector_add_correct(const ScenarioResult& result, std::string_view name) {
    const auto c = result.get<float>(name);
    if (c.size() != kVectorSize) return false;
    for (size_t i = 0; i < kVectorSize; ++i)
        if (c[i] != vector_a(i) + vector_b(i)) return false;
    return true;
}

ScenarioResult vector_add_copy_host_ptr(cl_platform_id platform) {
    return vector_add(platform, BufferMode::CopyHostPtr);
}
ScenarioResult vector_add_use_host_ptr(cl_platform_id platform) {
    return vector_add(platform, BufferMode::UseHostPtr);
}
ScenarioResult vector_add_alloc_host_ptr(cl_platform_id platform) {
    return vector_add(platform, BufferMode::AllocHostPtr);
}
ScenarioResult vector_add_write_buffer(cl_platform_id platform) {
    return vector_add(platform, BufferMode::Write);
}

namespace {
constexpr size_t kTransferInts = 256;

// Write, partial write, two fills, copy, full and partial read; blocking, or chained by events
// on an out-of-order queue where the device has one.
ScenarioResult transfers(cl_platform_id platform, bool blocking) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    if (!blocking) {
        cl_command_queue_properties supported = 0;
        r.record("CL_DEVICE_QUEUE_PROPERTIES",
                 clGetDeviceInfo(d.id, CL_DEVICE_QUEUE_PROPERTIES, sizeof supported, &supported,
                                 nullptr));
        const bool ooo = (supported & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
        r.fact("out-of-order queue", ooo);
        if (ooo) {
            d.queue.reset(clCreateCommandQueue(d.context, d.id,
                                               CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err));
            SETUP("clCreateCommandQueue out-of-order", err);
        }
    }
    const size_t bytes = kTransferInts * sizeof(cl_int);
    std::vector<cl_int> host_a(kTransferInts), patch(5), host_b(kTransferInts, -1), part(20, -1);
    for (size_t i = 0; i < kTransferInts; ++i)
        host_a[i] = static_cast<cl_int>(i * 3 + 1);
    for (size_t i = 0; i < patch.size(); ++i)
        patch[i] = static_cast<cl_int>(7000 + i);
    Mem a(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer a", err);
    Mem b(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer b", err);
    const cl_int pattern4 = 0x5a5a5a5a;
    const cl_short pattern2 = 0x1234;
    const cl_bool block = blocking ? CL_TRUE : CL_FALSE;

    Event write_all, write_patch, fill4, fill2, copy, read_b, read_part;
    SETUP("clEnqueueWriteBuffer all",
          clEnqueueWriteBuffer(d.queue, a, block, 0, bytes, host_a.data(), 0, nullptr,
                               write_all.out()));
    cl_event after_write = write_all;
    SETUP("clEnqueueWriteBuffer patch",
          clEnqueueWriteBuffer(d.queue, a, block, 10 * sizeof(cl_int),
                               patch.size() * sizeof(cl_int), patch.data(), blocking ? 0 : 1,
                               blocking ? nullptr : &after_write, write_patch.out()));
    SETUP("clEnqueueFillBuffer 4", clEnqueueFillBuffer(d.queue, b, &pattern4, sizeof pattern4, 0,
                                                       bytes, 0, nullptr, fill4.out()));
    cl_event after_fill4 = fill4;
    if (blocking) SETUP("clWaitForEvents fill", clWaitForEvents(1, &after_fill4));
    SETUP("clEnqueueFillBuffer 2",
          clEnqueueFillBuffer(d.queue, b, &pattern2, sizeof pattern2, 8, 16, blocking ? 0 : 1,
                              blocking ? nullptr : &after_fill4, fill2.out()));
    if (blocking) SETUP("clFinish after fills", clFinish(d.queue));
    cl_event before_copy[] = {write_patch, fill2};
    SETUP("clEnqueueCopyBuffer",
          clEnqueueCopyBuffer(d.queue, a, b, 32 * sizeof(cl_int), 100 * sizeof(cl_int),
                              64 * sizeof(cl_int), blocking ? 0 : 2,
                              blocking ? nullptr : before_copy, copy.out()));
    if (blocking) SETUP("clFinish after copy", clFinish(d.queue));
    cl_event after_copy = copy;
    SETUP("clEnqueueReadBuffer b",
          clEnqueueReadBuffer(d.queue, b, block, 0, bytes, host_b.data(), blocking ? 0 : 1,
                              blocking ? nullptr : &after_copy, read_b.out()));
    cl_event after_patch = write_patch;
    SETUP("clEnqueueReadBuffer part",
          clEnqueueReadBuffer(d.queue, a, block, 5 * sizeof(cl_int), part.size() * sizeof(cl_int),
                              part.data(), blocking ? 0 : 1, blocking ? nullptr : &after_patch,
                              read_part.out()));
    if (!blocking) {
        cl_event reads[] = {read_b, read_part};
        SETUP("clWaitForEvents reads", clWaitForEvents(2, reads));
    }
    // Every command is complete now: the reads are, and each waited (directly or in order) on
    // all the others.
    for (const auto& [name, event] : {std::pair{"write all", write_all.get()},
                                      {"write patch", write_patch.get()},
                                      {"fill 4", fill4.get()},
                                      {"fill 2", fill2.get()},
                                      {"copy", copy.get()},
                                      {"read b", read_b.get()},
                                      {"read part", read_part.get()}})
        status_fact(r, name, event);
    r.put("b", host_b);
    r.put("a part", part);
    r.record("clFinish", clFinish(d.queue));
    return r;
}
} // namespace

ScenarioResult transfers_blocking(cl_platform_id platform) {
    return transfers(platform, true);
}
ScenarioResult transfers_nonblocking(cl_platform_id platform) {
    return transfers(platform, false);
}

ScenarioResult many_small_writes(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, kManySmallWrites * sizeof(cl_int),
                              nullptr, &err));
    SETUP("clCreateBuffer", err);
    // Each write has a source of its own that stays untouched until clFinish, as OpenCL asks of
    // non-blocking writes.
    std::vector<cl_int> sources(kManySmallWrites);
    cl_int failed = CL_SUCCESS;
    for (size_t i = 0; i < kManySmallWrites; ++i) {
        sources[i] = static_cast<cl_int>(i * 7 + 3);
        err = clEnqueueWriteBuffer(d.queue, buffer, CL_FALSE, i * sizeof(cl_int), sizeof(cl_int),
                                   &sources[i], 0, nullptr, nullptr);
        if (err != CL_SUCCESS && failed == CL_SUCCESS) failed = err;
    }
    r.record("clEnqueueWriteBuffer x many", failed);
    r.record("clFinish", clFinish(d.queue));
    std::vector<cl_int> back(kManySmallWrites, -1);
    r.record("clEnqueueReadBuffer",
             clEnqueueReadBuffer(d.queue, buffer, CL_TRUE, 0, back.size() * sizeof(cl_int),
                                 back.data(), 0, nullptr, nullptr));
    r.put("back", back);
    return r;
}

} // namespace rgpu::e2e::scenarios

namespace rgpu::e2e::scenarios {

using namespace detail;

ScenarioResult rect_transfers(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    // A 3D buffer of 32 x 8 x 4 bytes (row pitch 32, slice pitch 256), zeroed.
    const size_t row = 32, slice = 256, bytes = 1024;
    cl_int err;
    std::vector<unsigned char> zero(bytes, 0);
    Mem a(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, zero.data(),
                         &err));
    SETUP("clCreateBuffer a", err);
    Mem b(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, zero.data(),
                         &err));
    SETUP("clCreateBuffer b", err);
    // Host memory of another layout: rows of 20 bytes, slices of 200.
    std::vector<unsigned char> host(800);
    for (size_t i = 0; i < host.size(); ++i)
        host[i] = static_cast<unsigned char>(i * 7 + 1);
    const size_t buffer_origin[3] = {3, 2, 1}, host_origin[3] = {1, 1, 0}, region[3] = {10, 4, 2};
    r.record("write rect",
             clEnqueueWriteBufferRect(d.queue, a, CL_TRUE, buffer_origin, host_origin, region, row,
                                      slice, 20, 200, host.data(), 0, nullptr, nullptr));
    std::vector<unsigned char> whole(bytes);
    r.record("read a",
             clEnqueueReadBuffer(d.queue, a, CL_TRUE, 0, bytes, whole.data(), 0, nullptr, nullptr));
    r.put("a after write rect", whole);
    // Back into a third layout, non-blocking with an event.
    std::vector<unsigned char> back(400, 0xee);
    const size_t back_origin[3] = {2, 0, 0};
    Event read;
    r.record("read rect",
             clEnqueueReadBufferRect(d.queue, a, CL_FALSE, buffer_origin, back_origin, region, row,
                                     slice, 16, 100, back.data(), 0, nullptr, read.out()));
    cl_event e = read;
    r.record("wait read rect", clWaitForEvents(1, &e));
    r.put("read rect", back);
    // Copies: between buffers, and within one where the boxes do not overlap.
    const size_t src_origin[3] = {3, 2, 1}, dst_origin[3] = {0, 0, 0}, copy_region[3] = {10, 4, 2};
    r.record("copy rect a to b",
             clEnqueueCopyBufferRect(d.queue, a, b, src_origin, dst_origin, copy_region, row, slice,
                                     16, 64, 0, nullptr, nullptr));
    const size_t inside_dst[3] = {16, 0, 2};
    r.record("copy rect within a",
             clEnqueueCopyBufferRect(d.queue, a, a, src_origin, inside_dst, copy_region, row, slice,
                                     row, slice, 0, nullptr, nullptr));
    r.record("read b",
             clEnqueueReadBuffer(d.queue, b, CL_TRUE, 0, bytes, whole.data(), 0, nullptr, nullptr));
    r.put("b after copy rect", whole);
    r.record("read a again",
             clEnqueueReadBuffer(d.queue, a, CL_TRUE, 0, bytes, whole.data(), 0, nullptr, nullptr));
    r.put("a after copy within", whole);
    // On an out-of-order queue: a rectangle's event completes after all of its rows.
    Queue ooo(clCreateCommandQueue(d.context, d.id, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err));
    if (r.record("out-of-order queue", err) == CL_SUCCESS) {
        Event written;
        r.record("write rect out of order",
                 clEnqueueWriteBufferRect(ooo, b, CL_FALSE, buffer_origin, host_origin, region, row,
                                          slice, 20, 200, host.data(), 0, nullptr, written.out()));
        cl_event w = written;
        std::vector<unsigned char> ooo_back(400, 0xee);
        r.record("read rect out of order",
                 clEnqueueReadBufferRect(ooo, b, CL_TRUE, buffer_origin, back_origin, region, row,
                                         slice, 16, 100, ooo_back.data(), 1, &w, nullptr));
        r.put("read rect out of order", ooo_back);
        // The host memory above must outlive every command that reads it.
        r.record("finish out of order", clFinish(ooo));
    }
    // Errors.
    const size_t too_far[3] = {0, 0, 3}, empty[3] = {0, 1, 1};
    r.record("error: out of bounds",
             clEnqueueReadBufferRect(d.queue, a, CL_TRUE, too_far, host_origin, region, row, slice,
                                     0, 0, back.data(), 0, nullptr, nullptr));
    r.record("error: zero region",
             clEnqueueReadBufferRect(d.queue, a, CL_TRUE, buffer_origin, host_origin, empty, row,
                                     slice, 0, 0, back.data(), 0, nullptr, nullptr));
    r.record("error: row pitch below width",
             clEnqueueReadBufferRect(d.queue, a, CL_TRUE, buffer_origin, host_origin, region, 4,
                                     slice, 0, 0, back.data(), 0, nullptr, nullptr));
    r.record("error: slice pitch not a multiple",
             clEnqueueWriteBufferRect(d.queue, a, CL_TRUE, buffer_origin, host_origin, region, row,
                                      slice + 1, 0, 0, host.data(), 0, nullptr, nullptr));
    r.record("error: null host pointer",
             clEnqueueWriteBufferRect(d.queue, a, CL_TRUE, buffer_origin, host_origin, region, row,
                                      slice, 0, 0, nullptr, 0, nullptr, nullptr));
    const size_t overlapping[3] = {5, 2, 1};
    r.record("error: overlapping copy",
             clEnqueueCopyBufferRect(d.queue, a, a, src_origin, overlapping, copy_region, row,
                                     slice, row, slice, 0, nullptr, nullptr));
    r.record("error: copy with differing pitches in one buffer",
             clEnqueueCopyBufferRect(d.queue, a, a, src_origin, inside_dst, copy_region, row, slice,
                                     row * 2, slice * 2, 0, nullptr, nullptr));
    r.record("error: copy out of bounds",
             clEnqueueCopyBufferRect(d.queue, a, b, too_far, dst_origin, copy_region, row, slice,
                                     row, slice, 0, nullptr, nullptr));
    return r;
}

} // namespace rgpu::e2e::scenarios

namespace rgpu::e2e::scenarios {

using namespace detail;

ScenarioResult sub_buffers(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_uint align_bits = 0;
    SETUP("CL_DEVICE_MEM_BASE_ADDR_ALIGN",
          clGetDeviceInfo(d.id, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits,
                          nullptr));
    const size_t align = align_bits / 8, n = 4 * align / sizeof(cl_int);
    std::vector<cl_int> host(n);
    for (size_t i = 0; i < n; ++i)
        host[i] = static_cast<cl_int>(i);
    cl_int err;
    Mem parent(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              n * sizeof(cl_int), host.data(), &err));
    SETUP("clCreateBuffer", err);
    cl_buffer_region region{align, 2 * align};
    Mem sub(clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &region, &err));
    SETUP("clCreateSubBuffer", err);
    cl_mem associated = nullptr;
    r.record("CL_MEM_ASSOCIATED_MEMOBJECT",
             clGetMemObjectInfo(sub, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof associated, &associated,
                                nullptr));
    r.fact("associated is the parent", associated == parent.get());
    size_t offset = 0, size = 0;
    r.record("CL_MEM_OFFSET",
             clGetMemObjectInfo(sub, CL_MEM_OFFSET, sizeof offset, &offset, nullptr));
    r.fact("offset is the origin", offset == align);
    r.record("CL_MEM_SIZE", clGetMemObjectInfo(sub, CL_MEM_SIZE, sizeof size, &size, nullptr));
    r.fact("size", size == 2 * align);
    cl_mem_flags flags = 0;
    r.record("CL_MEM_FLAGS", clGetMemObjectInfo(sub, CL_MEM_FLAGS, sizeof flags, &flags, nullptr));
    r.fact("flags", flags);
    cl_uint refs = 0;
    r.record("parent CL_MEM_REFERENCE_COUNT",
             clGetMemObjectInfo(parent, CL_MEM_REFERENCE_COUNT, sizeof refs, &refs, nullptr));
    r.fact("parent reference count", refs);
    // Read through the sub-buffer, write through it, read the parent.
    std::vector<cl_int> part(2 * align / sizeof(cl_int));
    r.record("read sub", clEnqueueReadBuffer(d.queue, sub, CL_TRUE, 0, part.size() * sizeof(cl_int),
                                             part.data(), 0, nullptr, nullptr));
    r.put("sub contents", part);
    const cl_int pattern = -5;
    r.record("fill sub", clEnqueueFillBuffer(d.queue, sub, &pattern, sizeof pattern, 0, align, 0,
                                             nullptr, nullptr));
    // A kernel on the sub-buffer doubles its second half.
    Program program;
    if (!build(r, d, program, "__kernel void twice(__global int* p) { p[get_global_id(0)] *= 2; }",
               ""))
        return r;
    Kernel kernel(clCreateKernel(program, "twice", &err));
    SETUP("clCreateKernel", err);
    cl_buffer_region second{2 * align, align};
    Mem half(
        clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &second, &err));
    SETUP("clCreateSubBuffer second half", err);
    cl_mem arg = half;
    r.record("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    const size_t items = align / sizeof(cl_int);
    r.record("clEnqueueNDRangeKernel", clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &items,
                                                              nullptr, 0, nullptr, nullptr));
    r.record("read parent", clEnqueueReadBuffer(d.queue, parent, CL_TRUE, 0, n * sizeof(cl_int),
                                                host.data(), 0, nullptr, nullptr));
    r.put("parent after", host);
    // Errors.
    cl_buffer_region misaligned{4, 16}, beyond{align, n * sizeof(cl_int)}, empty{0, 0};
    cl_mem bad = clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &misaligned, &err);
    r.record("error: misaligned origin", err);
    r.fact("misaligned gives NULL", bad == nullptr);
    bad = clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &beyond, &err);
    r.record("error: beyond the parent", err);
    bad = clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &empty, &err);
    r.record("error: empty region", err);
    bad = clCreateSubBuffer(sub, 0, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    r.record("error: sub-buffer of a sub-buffer", err);
    bad = clCreateSubBuffer(parent, 0, 0x1234, &region, &err);
    r.record("error: unknown create type", err);
    bad = clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, nullptr, &err);
    r.record("error: no region", err);
    bad =
        clCreateSubBuffer(parent, CL_MEM_USE_HOST_PTR, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    r.record("error: host pointer flag", err);
    Mem read_only(clCreateBuffer(d.context, CL_MEM_READ_ONLY, n * sizeof(cl_int), nullptr, &err));
    SETUP("clCreateBuffer read-only", err);
    bad = clCreateSubBuffer(read_only, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region,
                            &err);
    r.record("error: wider access than the parent", err);
    Mem narrowed(clCreateSubBuffer(read_only, 0, CL_BUFFER_CREATE_TYPE_REGION, &region, &err));
    r.record("inherited access", err);
    if (narrowed) {
        r.record("CL_MEM_FLAGS inherited",
                 clGetMemObjectInfo(narrowed, CL_MEM_FLAGS, sizeof flags, &flags, nullptr));
        r.fact("inherited flags", flags);
    }
    return r;
}

} // namespace rgpu::e2e::scenarios
