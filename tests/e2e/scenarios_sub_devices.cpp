// SPDX-License-Identifier: Apache-2.0
// Sub-devices: partitions equally and by counts, their info and reference counts, a kernel run
// on a sub-device's own context and on one of a context holding two, a partition of a
// sub-device, and the argument errors.
#include "scenarios.h"

#include "scenario_support.h"

#include <string>
#include <vector>

namespace rgpu::e2e::scenarios {

using namespace detail;

namespace {

/// Builds vadd in `context` for `build_for` (default: `device`), runs it on a queue of
/// `device` and records the sums.
void vector_add_on(ScenarioResult& r, const std::string& label, cl_context context,
                   cl_device_id device, cl_device_id build_for = nullptr) {
    if (!build_for) build_for = device;
    cl_int err;
    Queue queue(clCreateCommandQueue(context, device, 0, &err));
    if (r.record(label + " queue", err) != CL_SUCCESS) return;
    const char* source = kVectorAddSource;
    Program program(clCreateProgramWithSource(context, 1, &source, nullptr, &err));
    if (r.record(label + " program", err) != CL_SUCCESS) return;
    if (r.record(label + " build", clBuildProgram(program, 1, &build_for, "", nullptr, nullptr)) !=
        CL_SUCCESS)
        return;
    cl_build_status status = CL_BUILD_NONE;
    r.record(label + " build status",
             clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_STATUS, sizeof status, &status,
                                   nullptr));
    r.fact(label + " build status", status);
    Kernel kernel(clCreateKernel(program, "vadd", &err));
    if (r.record(label + " kernel", err) != CL_SUCCESS) return;
    constexpr size_t n = kVectorSize, bytes = n * sizeof(float);
    std::vector<float> a(n), b(n), c(n, -1.0f);
    for (size_t i = 0; i < n; ++i) {
        a[i] = vector_a(i);
        b[i] = vector_b(i);
    }
    Mem ma(clCreateBuffer(context, CL_MEM_COPY_HOST_PTR, bytes, a.data(), &err));
    Mem mb(clCreateBuffer(context, CL_MEM_COPY_HOST_PTR, bytes, b.data(), &err));
    Mem mc(clCreateBuffer(context, CL_MEM_WRITE_ONLY, bytes, nullptr, &err));
    if (r.record(label + " buffers", err) != CL_SUCCESS) return;
    cl_mem args[] = {ma, mb, mc};
    for (cl_uint i = 0; i < 3; ++i)
        r.record(label + " arg", clSetKernelArg(kernel, i, sizeof(cl_mem), &args[i]));
    size_t global = n;
    r.record(label + " launch", clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &global, nullptr,
                                                       0, nullptr, nullptr));
    r.record(label + " read",
             clEnqueueReadBuffer(queue, mc, CL_TRUE, 0, bytes, c.data(), 0, nullptr, nullptr));
    r.put(label + " c", c);
}

void device_facts(ScenarioResult& r, const std::string& label, cl_device_id device,
                  cl_device_id parent) {
    cl_device_id reported = nullptr;
    r.record(label + " parent",
             clGetDeviceInfo(device, CL_DEVICE_PARENT_DEVICE, sizeof reported, &reported, nullptr));
    r.fact(label + " parent is the partitioned device", reported == parent);
    cl_uint units = 0;
    r.record(label + " units",
             clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, nullptr));
    r.fact(label + " compute units", units);
    auto type = info_array<cl_device_partition_property>(
        r, label + " CL_DEVICE_PARTITION_TYPE", [&](size_t s, void* v, size_t* ret) {
            return clGetDeviceInfo(device, CL_DEVICE_PARTITION_TYPE, s, v, ret);
        });
    r.fact(label + " partition type", join(type));
    cl_uint refs = 0;
    r.record(label + " refs",
             clGetDeviceInfo(device, CL_DEVICE_REFERENCE_COUNT, sizeof refs, &refs, nullptr));
    r.fact(label + " reference count", refs);
}

} // namespace

ScenarioResult sub_devices(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_uint most = 0;
    SETUP("max sub-devices",
          clGetDeviceInfo(d.id, CL_DEVICE_PARTITION_MAX_SUB_DEVICES, sizeof most, &most, nullptr));
    r.fact("max sub-devices", most);
    auto kinds = info_array<cl_device_partition_property>(
        r, "CL_DEVICE_PARTITION_PROPERTIES", [&](size_t s, void* v, size_t* ret) {
            return clGetDeviceInfo(d.id, CL_DEVICE_PARTITION_PROPERTIES, s, v, ret);
        });
    r.fact("partition properties", join(kinds));
    device_facts(r, "root", d.id, nullptr);

    const cl_device_partition_property equally[] = {CL_DEVICE_PARTITION_EQUALLY, 1, 0};
    cl_uint count = 0;
    SETUP("count equally", clCreateSubDevices(d.id, equally, 0, nullptr, &count));
    r.fact("equally makes", count);
    if (count == 0) return r;
    std::vector<cl_device_id> subs(count);
    cl_uint made = 0;
    SETUP("partition equally", clCreateSubDevices(d.id, equally, count, subs.data(), &made));
    r.fact("equally made", made);
    for (cl_uint i = 0; i < count; ++i)
        device_facts(r, "sub " + std::to_string(i), subs[i], d.id);
    r.record("retain sub 0", clRetainDevice(subs[0]));
    cl_uint refs = 0;
    r.record("refs after retain",
             clGetDeviceInfo(subs[0], CL_DEVICE_REFERENCE_COUNT, sizeof refs, &refs, nullptr));
    r.fact("reference count after retain", refs);
    r.record("release sub 0", clReleaseDevice(subs[0]));

    // A context of one sub-device, then of every one of them (run on the last).
    cl_int err;
    Context alone(clCreateContext(nullptr, 1, &subs[0], nullptr, nullptr, &err));
    SETUP("context of sub 0", err);
    vector_add_on(r, "on sub 0", alone, subs[0]);
    Context all(clCreateContext(nullptr, count, subs.data(), nullptr, nullptr, &err));
    SETUP("context of every sub-device", err);
    // (POCL 3.1 reports CL_CONTEXT_NUM_DEVICES 1 for such a context; rgpu the devices given.)
    vector_add_on(r, "on the last sub-device", all, subs[count - 1]);

    // A context of the device and a sub-device, the program built for the device alone: the
    // sub-device runs what was built for the device it came from.
    cl_device_id pair[] = {d.id, subs[0]};
    Context with_parent(clCreateContext(nullptr, 2, pair, nullptr, nullptr, &err));
    SETUP("context of the device and sub 0", err);
    vector_add_on(r, "built for the parent", with_parent, subs[0], d.id);

    // A sub-device partitioned again, and a partition by counts.
    cl_uint again = 0;
    r.record("count a sub-device's partition",
             clCreateSubDevices(subs[0], equally, 0, nullptr, &again));
    r.fact("a sub-device partitions into", again); // POCL: not a sub-device of one unit
    const cl_device_partition_property by_counts[] = {CL_DEVICE_PARTITION_BY_COUNTS, 1,
                                                      CL_DEVICE_PARTITION_BY_COUNTS_LIST_END, 0};
    cl_device_id counted = nullptr;
    cl_uint counted_made = 0;
    SETUP("partition by counts", clCreateSubDevices(d.id, by_counts, 1, &counted, &counted_made));
    r.fact("by counts made", counted_made);
    device_facts(r, "counted", counted, d.id);

    // Errors.
    r.record("error: NULL device", clCreateSubDevices(nullptr, equally, 0, nullptr, &count));
    r.record("error: NULL properties", clCreateSubDevices(d.id, nullptr, 0, nullptr, &count));
    cl_device_id one = nullptr;
    if (made > 1)
        r.record("error: too few entries", clCreateSubDevices(d.id, equally, 1, &one, nullptr));
    const cl_device_partition_property unknown[] = {0x4242, 1, 0};
    r.record("error: unknown partition type",
             clCreateSubDevices(d.id, unknown, 0, nullptr, &count));
    const cl_device_partition_property too_many[] = {CL_DEVICE_PARTITION_BY_COUNTS, 1000,
                                                     CL_DEVICE_PARTITION_BY_COUNTS_LIST_END, 0};
    r.record("error: counts beyond the device",
             clCreateSubDevices(d.id, too_many, 0, nullptr, &count));
    r.record("error: release a served device", clReleaseDevice(d.id));
    clReleaseDevice(counted);
    for (cl_device_id s : subs)
        clReleaseDevice(s);
    return r;
}

} // namespace rgpu::e2e::scenarios
