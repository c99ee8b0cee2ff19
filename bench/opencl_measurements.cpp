// SPDX-License-Identifier: Apache-2.0
// The OpenCL measurements, run identically against the native and the rgpu target.
#include "opencl_measurements.h"

#include "stats.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace rgpu::bench {

namespace {

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};
using HostBuffer = std::unique_ptr<unsigned char[], FreeDeleter>;

// Page-aligned host memory, every page touched so page faults stay out of the timings.
HostBuffer touched_host_buffer(std::size_t bytes, unsigned char fill) {
    auto* p = static_cast<unsigned char*>(std::aligned_alloc(4096, bytes));
    if (!p) throw std::runtime_error("aligned_alloc failed");
    std::memset(p, fill, bytes);
    return HostBuffer(p);
}

cl_mem create_buffer(const ClTarget& t, cl_mem_flags flags, std::size_t bytes) {
    cl_int err = CL_SUCCESS;
    cl_mem mem = clCreateBuffer(t.context, flags, bytes, nullptr, &err);
    cl_check(err, "clCreateBuffer");
    return mem;
}

cl_kernel create_kernel(cl_program program, const char* name) {
    cl_int err = CL_SUCCESS;
    cl_kernel kernel = clCreateKernel(program, name, &err);
    cl_check(err, "clCreateKernel");
    return kernel;
}

// 1. Blocking read of 4 bytes: the round trip every synchronising call pays.
void small_read_rtt(ClTarget& t, const BenchConfig& c, const MetricSink& report) {
    ClMem buf(create_buffer(t, CL_MEM_READ_WRITE, 4));
    const std::uint32_t pattern = 0x12345678u;
    RGPU_CL_CHECK(clEnqueueWriteBuffer(t.queue, buf, CL_TRUE, 0, 4, &pattern, 0, nullptr, nullptr));
    std::uint32_t value = 0;
    for (int i = 0; i < c.small_rtt_warmup; ++i)
        RGPU_CL_CHECK(
            clEnqueueReadBuffer(t.queue, buf, CL_TRUE, 0, 4, &value, 0, nullptr, nullptr));
    std::vector<double> us;
    us.reserve(c.small_rtt_iters);
    for (int i = 0; i < c.small_rtt_iters; ++i) {
        const auto start = Clock::now();
        RGPU_CL_CHECK(
            clEnqueueReadBuffer(t.queue, buf, CL_TRUE, 0, 4, &value, 0, nullptr, nullptr));
        us.push_back(seconds_since(start) * 1e6);
    }
    if (value != pattern) throw std::runtime_error("small read returned wrong data");
    report("median_us", median(us));
    report("mean_us", mean(us));
    report("iterations", c.small_rtt_iters);
}

// 2. Enqueue throughput: N empty kernels, global size 1, no events, then one clFinish.
void empty_kernel_enqueue(ClTarget& t, const BenchConfig& c, const MetricSink& report) {
    const auto build_start = Clock::now();
    ClProgram program(build_program(t, "__kernel void empty(void) {}"));
    report("build_ms", seconds_since(build_start) * 1e3);
    ClKernel kernel(create_kernel(program, "empty"));
    const size_t global = 1;
    auto run = [&](int n, double* submit_seconds) {
        const auto start = Clock::now();
        for (int i = 0; i < n; ++i)
            RGPU_CL_CHECK(clEnqueueNDRangeKernel(t.queue, kernel, 1, nullptr, &global, nullptr, 0,
                                                 nullptr, nullptr));
        if (submit_seconds) *submit_seconds = seconds_since(start);
        RGPU_CL_CHECK(clFinish(t.queue));
        return seconds_since(start);
    };
    run(c.empty_warmup, nullptr);
    std::vector<double> per_s, submit_per_s;
    for (int r = 0; r < c.empty_reps; ++r) {
        double submit = 0;
        const double total = run(c.empty_enqueues, &submit);
        per_s.push_back(c.empty_enqueues / total);
        submit_per_s.push_back(c.empty_enqueues / submit);
    }
    report("per_s", median(per_s));               // first enqueue to clFinish return
    report("submit_per_s", median(submit_per_s)); // first to last enqueue return
    report("enqueues", c.empty_enqueues);
}

// 3. Blocking 64 MiB transfers between touched page-aligned host memory and one buffer.
void bulk_transfer(ClTarget& t, const BenchConfig& c, const MetricSink& report, bool write) {
    HostBuffer src = touched_host_buffer(bulk_bytes, 0x5a);
    ClMem buf(create_buffer(t, CL_MEM_READ_WRITE, bulk_bytes));
    // Also the warm-up: the device side is allocated and touched before timing.
    RGPU_CL_CHECK(
        clEnqueueWriteBuffer(t.queue, buf, CL_TRUE, 0, bulk_bytes, src.get(), 0, nullptr, nullptr));
    HostBuffer dst = write ? nullptr : touched_host_buffer(bulk_bytes, 0);
    auto transfer = [&] {
        if (write)
            RGPU_CL_CHECK(clEnqueueWriteBuffer(t.queue, buf, CL_TRUE, 0, bulk_bytes, src.get(), 0,
                                               nullptr, nullptr));
        else
            RGPU_CL_CHECK(clEnqueueReadBuffer(t.queue, buf, CL_TRUE, 0, bulk_bytes, dst.get(), 0,
                                              nullptr, nullptr));
    };
    transfer(); // warm-up in the measured direction
    std::vector<double> gbps;
    for (int r = 0; r < c.bulk_reps; ++r) {
        const auto start = Clock::now();
        transfer();
        gbps.push_back(gb_per_s(bulk_bytes, seconds_since(start)));
    }
    if (!write)
        for (std::size_t i = 0; i < bulk_bytes; i += 4093)
            if (dst[i] != 0x5a) throw std::runtime_error("64 MiB read returned wrong data");
    report("gbps", median(gbps));
    report("reps", c.bulk_reps);
}

// 4. End to end: create 3 buffers, write A and B non-blocking, set args, run, blocking read C.
// Timed from the first create to the return of the blocking read (releases included);
// verification runs after the timer stops.
void vector_add_1m(ClTarget& t, const BenchConfig& c, const MetricSink& report) {
    const auto build_start = Clock::now();
    ClProgram program(build_program(t, "__kernel void vadd(__global const float* a,\n"
                                       "                   __global const float* b,\n"
                                       "                   __global float* c) {\n"
                                       "    size_t i = get_global_id(0);\n"
                                       "    c[i] = a[i] + b[i];\n"
                                       "}\n"));
    report("build_ms", seconds_since(build_start) * 1e3);
    ClKernel kernel(create_kernel(program, "vadd"));
    const std::size_t n = vector_elements, bytes = n * sizeof(float);
    std::vector<float> a(n), b(n), out(n);
    for (std::size_t i = 0; i < n; ++i) {
        a[i] = static_cast<float>(i) * 0.5f;
        b[i] = 1000.0f - static_cast<float>(i % 977);
    }
    auto iteration = [&] {
        std::fill(out.begin(), out.end(), -1.0f);
        const auto start = Clock::now();
        {
            ClMem da(create_buffer(t, CL_MEM_READ_ONLY, bytes));
            ClMem db(create_buffer(t, CL_MEM_READ_ONLY, bytes));
            ClMem dc(create_buffer(t, CL_MEM_WRITE_ONLY, bytes));
            RGPU_CL_CHECK(clEnqueueWriteBuffer(t.queue, da, CL_FALSE, 0, bytes, a.data(), 0,
                                               nullptr, nullptr));
            RGPU_CL_CHECK(clEnqueueWriteBuffer(t.queue, db, CL_FALSE, 0, bytes, b.data(), 0,
                                               nullptr, nullptr));
            cl_mem args[] = {da, db, dc};
            for (cl_uint i = 0; i < 3; ++i)
                RGPU_CL_CHECK(clSetKernelArg(kernel, i, sizeof(cl_mem), &args[i]));
            const size_t global = n;
            RGPU_CL_CHECK(clEnqueueNDRangeKernel(t.queue, kernel, 1, nullptr, &global, nullptr, 0,
                                                 nullptr, nullptr));
            RGPU_CL_CHECK(clEnqueueReadBuffer(t.queue, dc, CL_TRUE, 0, bytes, out.data(), 0,
                                              nullptr, nullptr));
        }
        const double seconds = seconds_since(start);
        for (std::size_t i = 0; i < n; ++i)
            if (out[i] != a[i] + b[i])
                throw std::runtime_error("vector_add_1m: wrong result at index " +
                                         std::to_string(i));
        return seconds;
    };
    iteration(); // warm-up
    std::vector<double> ms;
    for (int r = 0; r < c.vadd_reps; ++r)
        ms.push_back(iteration() * 1e3);
    report("ms", median(ms));
    report("reps", c.vadd_reps);
}

} // namespace

void run_opencl_measurement(const std::string& name, ClTarget& target, const BenchConfig& config,
                            const MetricSink& report) {
    if (name == "small_read_rtt") return small_read_rtt(target, config, report);
    if (name == "empty_kernel_enqueue") return empty_kernel_enqueue(target, config, report);
    if (name == "write_64mib") return bulk_transfer(target, config, report, true);
    if (name == "read_64mib") return bulk_transfer(target, config, report, false);
    if (name == "vector_add_1m") return vector_add_1m(target, config, report);
    throw std::runtime_error("unknown measurement " + name);
}

} // namespace rgpu::bench
