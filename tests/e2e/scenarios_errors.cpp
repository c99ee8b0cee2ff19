// SPDX-License-Identifier: Apache-2.0
// Scenarios of error paths: each records the failing call under test as "under test".
#include "scenarios.h"

#include "scenario_support.h"

#include <vector>

namespace rgpu::e2e::scenarios {

using namespace detail;

namespace {
// A device, a built vector-add program and its kernel: the common start of the error cases.
struct VaddSetup {
    Device d;
    Program program;
    Kernel kernel;
    Mem a, b, c;
};

bool open_vadd(ScenarioResult& r, cl_platform_id platform, VaddSetup& s, bool set_args) {
    if (!open(r, platform, s.d)) return false;
    if (!build(r, s.d, s.program, kVectorAddSource, "")) return false;
    cl_int err;
    s.kernel.reset(clCreateKernel(s.program, "vadd", &err));
    if (r.record("clCreateKernel", err) != CL_SUCCESS) {
        r.aborted_at = "clCreateKernel";
        return false;
    }
    const size_t bytes = 256 * sizeof(float);
    for (Mem* m : {&s.a, &s.b, &s.c}) {
        m->reset(clCreateBuffer(s.d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
        if (r.record("clCreateBuffer", err) != CL_SUCCESS) {
            r.aborted_at = "clCreateBuffer";
            return false;
        }
    }
    if (set_args) {
        const cl_mem args[] = {s.a, s.b, s.c};
        for (cl_uint i = 0; i < 3; ++i)
            if (r.record("clSetKernelArg", clSetKernelArg(s.kernel, i, sizeof(cl_mem), &args[i])) !=
                CL_SUCCESS) {
                r.aborted_at = "clSetKernelArg";
                return false;
            }
    }
    return true;
}

// A create call that must fail: its code, and that it returned no handle.
template <typename T> void expect_no_handle(ScenarioResult& r, T handle, cl_int err) {
    r.record("under test", err);
    r.fact("handle is NULL", handle == nullptr);
}
} // namespace

ScenarioResult error_buffer_size_zero(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err = CL_SUCCESS;
    Mem m(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 0, nullptr, &err));
    expect_no_handle(r, m.get(), err);
    return r;
}

ScenarioResult error_copy_host_ptr_null(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err = CL_SUCCESS;
    Mem m(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 64, nullptr, &err));
    expect_no_handle(r, m.get(), err);
    return r;
}

ScenarioResult error_read_only_write_only(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err = CL_SUCCESS;
    Mem m(clCreateBuffer(d.context, CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, 64, nullptr, &err));
    expect_no_handle(r, m.get(), err);
    return r;
}

ScenarioResult error_unknown_kernel_name(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kVectorAddSource, "")) return r;
    cl_int err = CL_SUCCESS;
    Kernel k(clCreateKernel(program, "no_such_kernel", &err));
    expect_no_handle(r, k.get(), err);
    return r;
}

ScenarioResult error_kernel_from_unbuilt_program(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const char* text = kVectorAddSource;
    Program program(clCreateProgramWithSource(d.context, 1, &text, nullptr, &err));
    SETUP("clCreateProgramWithSource", err);
    Kernel k(clCreateKernel(program, "vadd", &err));
    expect_no_handle(r, k.get(), err);
    return r;
}

ScenarioResult error_arg_index_out_of_range(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, false)) return r;
    cl_mem a = s.a;
    r.record("under test", clSetKernelArg(s.kernel, 3, sizeof a, &a));
    return r;
}

ScenarioResult error_buffer_arg_wrong_size(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, false)) return r;
    cl_mem a = s.a;
    r.record("under test", clSetKernelArg(s.kernel, 0, sizeof(cl_int), &a));
    return r;
}

ScenarioResult error_unset_kernel_arg(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, false)) return r;
    const cl_mem args[] = {s.a, s.b};
    SETUP("clSetKernelArg 0", clSetKernelArg(s.kernel, 0, sizeof(cl_mem), &args[0]));
    SETUP("clSetKernelArg 1", clSetKernelArg(s.kernel, 1, sizeof(cl_mem), &args[1]));
    const size_t global = 256;
    r.record("under test", clEnqueueNDRangeKernel(s.d.queue, s.kernel, 1, nullptr, &global, nullptr,
                                                  0, nullptr, nullptr));
    r.record("clFinish", clFinish(s.d.queue));
    return r;
}

ScenarioResult error_read_out_of_bounds(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    Mem m(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 64, nullptr, &err));
    SETUP("clCreateBuffer", err);
    std::vector<unsigned char> host(128);
    r.record("under test",
             clEnqueueReadBuffer(d.queue, m, CL_TRUE, 32, 64, host.data(), 0, nullptr, nullptr));
    r.record("read past the end, non-blocking",
             clEnqueueReadBuffer(d.queue, m, CL_FALSE, 0, 65, host.data(), 0, nullptr, nullptr));
    r.record("clFinish", clFinish(d.queue));
    return r;
}

namespace {
/// A kernel declared with reqd_work_group_size(4, 1, 1) that writes get_local_size(0) at each
/// work-item, and its buffer of 64 ints; `launch` runs the launches under test.
template <class Launch>
ScenarioResult with_required_size(cl_platform_id platform, Launch&& launch) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    static const char* const source =
        "__kernel __attribute__((reqd_work_group_size(4, 1, 1))) void k(__global int* x) {"
        " x[get_global_id(0)] = (int)get_local_size(0); }";
    Program program;
    if (!build(r, d, program, source, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "k", &err));
    SETUP("clCreateKernel", err);
    std::vector<cl_int> zeros(64, 0);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                              zeros.size() * sizeof(cl_int), zeros.data(), &err));
    SETUP("clCreateBuffer", err);
    cl_mem arg = buffer;
    SETUP("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    launch(r, d, kernel.get(), buffer.get());
    r.record("clFinish", clFinish(d.queue));
    return r;
}
} // namespace

ScenarioResult error_local_differs_from_required(cl_platform_id platform) {
    return with_required_size(platform, [](ScenarioResult& r, Device& d, cl_kernel k, cl_mem) {
        const size_t global = 64, local = 8;
        r.record("under test", clEnqueueNDRangeKernel(d.queue, k, 1, nullptr, &global, &local, 0,
                                                      nullptr, nullptr));
    });
}

ScenarioResult required_size_without_local(cl_platform_id platform) {
    return with_required_size(platform, [](ScenarioResult& r, Device& d, cl_kernel k, cl_mem m) {
        // No local size for a kernel with a required one: refused at once by the POCL oracle
        // (OpenCL 1.2's rule); nothing runs.
        const size_t global = 64, ragged = 6;
        r.record("global 64, no local size", clEnqueueNDRangeKernel(d.queue, k, 1, nullptr, &global,
                                                                    nullptr, 0, nullptr, nullptr));
        std::vector<cl_int> sizes(64, -1);
        r.record("clEnqueueReadBuffer",
                 clEnqueueReadBuffer(d.queue, m, CL_TRUE, 0, sizes.size() * sizeof(cl_int),
                                     sizes.data(), 0, nullptr, nullptr));
        r.put("local sizes", sizes);
        // A global size the required work-group size does not divide.
        r.record("global 6, no local size", clEnqueueNDRangeKernel(d.queue, k, 1, nullptr, &ragged,
                                                                   nullptr, 0, nullptr, nullptr));
    });
}

ScenarioResult error_global_not_multiple_of_local(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, true)) return r;
    const size_t global = 100, local = 8;
    r.record("under test", clEnqueueNDRangeKernel(s.d.queue, s.kernel, 1, nullptr, &global, &local,
                                                  0, nullptr, nullptr));
    r.record("clFinish", clFinish(s.d.queue));
    return r;
}

ScenarioResult error_work_dim_zero(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, true)) return r;
    const size_t global[4] = {256, 1, 1, 1};
    r.record("under test", clEnqueueNDRangeKernel(s.d.queue, s.kernel, 0, nullptr, global, nullptr,
                                                  0, nullptr, nullptr));
    r.record("work_dim 4", clEnqueueNDRangeKernel(s.d.queue, s.kernel, 4, nullptr, global, nullptr,
                                                  0, nullptr, nullptr));
    r.record("clFinish", clFinish(s.d.queue));
    return r;
}

ScenarioResult error_null_queue(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, true)) return r;
    const size_t global = 256;
    r.record("under test", clEnqueueNDRangeKernel(nullptr, s.kernel, 1, nullptr, &global, nullptr,
                                                  0, nullptr, nullptr));
    r.record("clFinish NULL", clFinish(nullptr));
    return r;
}

ScenarioResult error_wait_list_null(cl_platform_id platform) {
    ScenarioResult r;
    VaddSetup s;
    if (!open_vadd(r, platform, s, true)) return r;
    std::vector<float> host(256);
    r.record("under test", clEnqueueWriteBuffer(s.d.queue, s.a, CL_FALSE, 0, 64, host.data(), 1,
                                                nullptr, nullptr));
    // Not clEnqueueNDRangeKernel: POCL 3.1 dereferences the NULL list there and crashes.
    r.record("marker with 1 event and NULL list",
             clEnqueueMarkerWithWaitList(s.d.queue, 1, nullptr, nullptr));
    r.record("copy with 1 event and NULL list",
             clEnqueueCopyBuffer(s.d.queue, s.a, s.b, 0, 0, 64, 1, nullptr, nullptr));
    Event done;
    SETUP("clEnqueueMarkerWithWaitList",
          clEnqueueMarkerWithWaitList(s.d.queue, 0, nullptr, done.out()));
    cl_event list = done;
    r.record("read with 0 events and a list",
             clEnqueueReadBuffer(s.d.queue, s.a, CL_TRUE, 0, 64, host.data(), 0, &list, nullptr));
    r.record("clWaitForEvents 1 NULL", clWaitForEvents(1, nullptr));
    r.record("clFinish", clFinish(s.d.queue));
    return r;
}

ScenarioResult error_device_info_bogus_param(cl_platform_id platform) {
    ScenarioResult r;
    cl_device_id device = nullptr;
    SETUP("clGetDeviceIDs", clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr));
    char value[256];
    size_t size = 12345;
    r.record("under test", clGetDeviceInfo(device, 0xDEAD, sizeof value, value, &size));
    cl_uint units = 0;
    r.record("value too small",
             clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, 1, &units, nullptr));
    return r;
}

ScenarioResult error_device_type_not_found(cl_platform_id platform) {
    ScenarioResult r;
    cl_uint count = 12345;
    r.record("under test",
             clGetDeviceIDs(platform, CL_DEVICE_TYPE_ACCELERATOR, 0, nullptr, &count));
    // POCL leaves num_devices untouched here; writing 0 is as good: both say "no device".
    r.fact("num_devices says no device", count == 0 || count == 12345);
    cl_device_id device = nullptr;
    r.record("with a device array",
             clGetDeviceIDs(platform, CL_DEVICE_TYPE_ACCELERATOR, 1, &device, nullptr));
    r.fact("device left NULL", device == nullptr);
    return r;
}

} // namespace rgpu::e2e::scenarios
