// SPDX-License-Identifier: Apache-2.0
// rgpu-e2e-client: an OpenCL client process the multi-process tests exec; it reports by exit code.
//
// It takes its setup from the environment the test gives it (OCL_ICD_VENDORS, RGPU_SERVERS,
// RGPU_CONNECT_TIMEOUT_MS), uses only the rgpu platform, and exits with a rgpu::e2e::ClientExit
// code; details go to stderr.
//   rgpu-e2e-client vector-add [ITERATIONS]  vector add through rgpu, verified on the host
//   rgpu-e2e-client flood                    enqueue writes and kernels until killed; prints
//                                            "streaming" once commands are flowing
//   rgpu-e2e-client no-daemon                rgpu listed, clGetDeviceIDs -> CL_DEVICE_NOT_FOUND
//   rgpu-e2e-client outlive-daemon           vector add, then with objects still alive prints
//                                            "ready", waits (30 s at most) for SIGUSR1, releases
//                                            them and exits normally; the test stops the daemon
//                                            in between
//   rgpu-e2e-client quota BYTES              against a daemon started with --max-device-memory
//                                            BYTES: buffers up to BYTES are created, one more
//                                            byte fails synchronously with
//                                            CL_MEM_OBJECT_ALLOCATION_FAILURE, a release makes
//                                            room again, and the buffers work
//   rgpu-e2e-client bad-args                 a __local argument of 2^62 bytes and a launch
//                                            whose buffer argument was released are refused
//                                            (natively both crash the process) with
//                                            CL_MAX_SIZE_RESTRICTION_EXCEEDED and
//                                            CL_INVALID_KERNEL_ARGS; the session goes on
//   rgpu-e2e-client host-memory BYTES        against a daemon whose workers may use less host
//                                            memory: fills a buffer of BYTES, expects clFinish
//                                            and a later blocking read to fail with
//                                            CL_OUT_OF_RESOURCES (the worker ran out)
//   rgpu-e2e-client crash-kernel             runs a kernel that writes 4 TiB past its buffer
//                                            (it kills the process that runs it); expects
//                                            clFinish and a later blocking read to fail with
//                                            CL_OUT_OF_RESOURCES
//   rgpu-e2e-client outage cut|release|pause ROUNDS
//                                            counted kernels, writes and large reads while the
//                                            session's connection is cut, released by the
//                                            operator, or its worker paused, ROUNDS times (twice
//                                            each): every command runs exactly once, all data
//                                            read back is right
//   rgpu-e2e-client detach-attach           the cl_rgpu_session extension (clDetachRGPU,
//                                            clAttachRGPU) around queued work and a waiting
//                                            clFinish; every command runs once
//   rgpu-e2e-client survive-restart          work queued and a read in flight, prints "ready",
//                                            waits for SIGUSR1 (the test restarts the daemon
//                                            with --checkpoint-dir meanwhile); then every result
//                                            and buffer must be right
//   rgpu-e2e-client survive-crash            as survive-restart, but idle before "ready" (the
//                                            test kills the daemon outright once a periodic
//                                            save has the session, and starts it again)
//   rgpu-e2e-client lost-after-save          opens a session and a buffer, prints "ready",
//                                            waits for SIGUSR1, runs a write and a read, prints
//                                            "ran more", waits for SIGUSR1 (the test kills the
//                                            daemon outright before its next save and starts it
//                                            again), then expects clFinish and a blocking read
//                                            to fail with CL_OUT_OF_RESOURCES, promptly
//   rgpu-e2e-client restarted-daemon         opens a session and a buffer, prints "ready",
//                                            waits for SIGUSR1 (the test restarts the daemon on
//                                            the same endpoint meanwhile), then expects clFinish
//                                            and a blocking read to fail with
//                                            CL_OUT_OF_RESOURCES, promptly
//   rgpu-e2e-client pool-flow                against a pool of two devices: buffers and wait
//                                            lists across queues and members, an out-of-order
//                                            queue's barrier; results checked (client_pool.h)
//   rgpu-e2e-client span-flow                with two daemons of one device each: one context
//                                            over both; buffers, wait lists and user events
//                                            across daemons; results checked (client_span.h)
//   rgpu-e2e-client svm-session              a linked list in SVM memory walked by a kernel,
//                                            prints "ready", waits for SIGUSR1 (the test tries
//                                            a move and releases the session); then the list,
//                                            its pointers and a new walk must be right
//   rgpu-e2e-client endless-kernel           starts a kernel that never ends, prints "running",
//                                            expects clFinish to fail with CL_OUT_OF_RESOURCES
//                                            (the test ends the session from outside)
#include "client_fail.h"
#include "client_pool.h"
#include "client_reconnect.h"
#include "client_span.h"
#include "client_svm.h"
#include "harness.h"
#include "scenarios.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace rgpu::e2e;

namespace {

std::string listed_platforms() {
    std::string out;
    for (const auto& name : platform_names())
        out += (out.empty() ? "" : ", ") + ("'" + name + "'");
    return out.empty() ? "(none)" : out;
}

int vector_add(cl_platform_id platform, int iterations) {
    for (int i = 0; i < iterations; ++i) {
        // Alternate two buffer kinds so the session sees creation with data and plain writes.
        const bool copy = i % 2 == 1;
        const ScenarioResult r = copy ? scenarios::vector_add_copy_host_ptr(platform)
                                      : scenarios::vector_add_write_buffer(platform);
        if (r.aborted_at == "clGetDeviceIDs")
            return fail(kClientNoDevice, describe(r.code("clGetDeviceIDs")));
        if (const auto failures = r.failures(); !failures.empty()) {
            std::string all;
            for (const auto& f : failures)
                all += "\n  " + f;
            return fail(kClientClError, "iteration " + std::to_string(i) + ":" + all);
        }
        if (!scenarios::vector_add_correct(r, "c"))
            return fail(kClientWrongData, "iteration " + std::to_string(i));
    }
    return kClientOk;
}

/// What every mode starts with: the rgpu device, a context and an in-order queue.
struct Basics {
    cl_device_id device = nullptr;
    cl_context context = nullptr;
    cl_command_queue queue = nullptr;
};

/// Waits for the test's SIGUSR1 (30 s at most); a stop and continue (SIGSTOP, SIGCONT) on the
/// way does not end the wait.
void wait_for_usr1() {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
        const timespec slice{1, 0};
        if (sigtimedwait(&usr1, nullptr, &slice) == SIGUSR1) return;
    }
}

/// Opens the basics; kClientOk, or the exit code of what failed.
int open_basics(cl_platform_id platform, Basics& out) {
    cl_int err;
    out.device = first_device(platform, &err);
    if (!out.device) return fail(kClientNoDevice, describe(err));
    out.context = clCreateContext(nullptr, 1, &out.device, nullptr, nullptr, &err);
    CLIENT_CHECK(err);
    out.queue = clCreateCommandQueue(out.context, out.device, 0, &err);
    CLIENT_CHECK(err);
    return kClientOk;
}

/// The session ended under the client: clFinish and a later blocking read must fail with the
/// spec's catch-all, CL_OUT_OF_RESOURCES (never hang, never an internal code).
int expect_session_ended(cl_command_queue queue, cl_mem buffer) {
    const cl_int finished = clFinish(queue);
    if (finished == CL_SUCCESS) return fail(kClientNoFailure, "clFinish succeeded");
    if (finished != CL_OUT_OF_RESOURCES)
        return fail(kClientClError, "clFinish returned " + describe(finished));
    cl_int value = 0;
    const cl_int read =
        clEnqueueReadBuffer(queue, buffer, CL_TRUE, 0, sizeof value, &value, 0, nullptr, nullptr);
    if (read == CL_SUCCESS) return fail(kClientNoFailure, "a later blocking read succeeded");
    if (read != CL_OUT_OF_RESOURCES)
        return fail(kClientClError, "a later blocking read returned " + describe(read));
    return kClientOk;
}

// Keeps the daemon busy with a stream of pipelined commands; the test kills it mid-stream.
int flood(cl_platform_id platform) {
    Basics basics;
    if (const int status = open_basics(platform, basics); status != kClientOk) return status;
    [[maybe_unused]] auto [device, context, queue] = basics;
    cl_int err;
    const char* source = "__kernel void inc(__global int* x) { x[get_global_id(0)] += 1; }";
    cl_program program = clCreateProgramWithSource(context, 1, &source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clBuildProgram(program, 1, &device, "", nullptr, nullptr));
    cl_kernel kernel = clCreateKernel(program, "inc", &err);
    CLIENT_CHECK(err);
    const size_t n = 16384;
    static std::vector<cl_int> host(n, 1); // never written while commands may read it
    cl_mem buffer = clCreateBuffer(context, CL_MEM_READ_WRITE, n * sizeof(cl_int), nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clSetKernelArg(kernel, 0, sizeof buffer, &buffer));
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (long i = 0; std::chrono::steady_clock::now() < end; ++i) {
        CLIENT_CHECK(clEnqueueWriteBuffer(queue, buffer, CL_FALSE, 0, n * sizeof(cl_int),
                                          host.data(), 0, nullptr, nullptr));
        CLIENT_CHECK(
            clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
        if (i % 64 == 63) CLIENT_CHECK(clFlush(queue));
        if (i % 4096 == 4095) CLIENT_CHECK(clFinish(queue)); // bounds what is in flight
        if (i == 500) {
            CLIENT_CHECK(clFinish(queue));
            std::printf("streaming\n");
            std::fflush(stdout);
        }
    }
    // Only reached when nobody killed us: clean up like a normal client.
    CLIENT_CHECK(clFinish(queue));
    clReleaseMemObject(buffer);
    clReleaseKernel(kernel);
    clReleaseProgram(program);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return kClientOk;
}

int no_daemon(cl_platform_id platform) {
    cl_uint count = 0; // POCL leaves it untouched on CL_DEVICE_NOT_FOUND; it must not grow
    const cl_int err = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &count);
    if (err != CL_DEVICE_NOT_FOUND)
        return fail(kClientDeviceCode, "clGetDeviceIDs returned " + describe(err));
    if (count != 0) return fail(kClientDeviceCount, "num_devices = " + std::to_string(count));
    cl_device_id device = nullptr;
    const cl_int again = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr);
    if (again != CL_DEVICE_NOT_FOUND)
        return fail(kClientDeviceCode, "second clGetDeviceIDs returned " + describe(again));
    return kClientOk;
}

// The test stops the daemon while this client still holds objects; releasing them and exiting
// must still finish (the test allows 10 s).
int outlive_daemon(cl_platform_id platform) {
    if (const int status = vector_add(platform, 1); status != kClientOk) return status;
    Basics basics;
    if (const int status = open_basics(platform, basics); status != kClientOk) return status;
    [[maybe_unused]] auto [device, context, queue] = basics;
    cl_int err;
    cl_mem buffer = clCreateBuffer(context, CL_MEM_READ_WRITE, 4096, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clFinish(queue));
    std::printf("ready\n");
    std::fflush(stdout);
    wait_for_usr1();
    // Their codes do not matter here (the daemon is gone); that they return does.
    clReleaseMemObject(buffer);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return kClientOk;
}

// A daemon restarted on the same endpoint no longer knows the session: the client must say so
// at its next synchronising call, promptly (not after its reconnect timeout, and never hang).
// With `run_more`, the session runs a write and a read after "ready" and the first SIGUSR1,
// then the client prints "ran more" and waits again: a daemon killed then and restored from a
// save older than that work must not let the client go on from the older state either.
int restarted_daemon(cl_platform_id platform, bool run_more) {
    Basics basics;
    if (const int status = open_basics(platform, basics); status != kClientOk) return status;
    [[maybe_unused]] auto [device, context, queue] = basics;
    cl_int err;
    cl_mem buffer = clCreateBuffer(context, CL_MEM_READ_WRITE, 4096, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clFinish(queue));
    std::printf("ready\n");
    std::fflush(stdout);
    wait_for_usr1();
    if (run_more) {
        cl_int value = 42, back = 0;
        CLIENT_CHECK(clEnqueueWriteBuffer(queue, buffer, CL_FALSE, 0, sizeof value, &value, 0,
                                          nullptr, nullptr));
        CLIENT_CHECK(clEnqueueReadBuffer(queue, buffer, CL_TRUE, 0, sizeof back, &back, 0, nullptr,
                                         nullptr));
        if (back != value) return fail(kClientWrongData, "read back " + std::to_string(back));
        std::printf("ran more\n");
        std::fflush(stdout);
        wait_for_usr1();
    }
    const auto start = std::chrono::steady_clock::now();
    if (const int status = expect_session_ended(queue, buffer); status != kClientOk) return status;
    const auto took = std::chrono::steady_clock::now() - start;
    if (took > std::chrono::seconds(20))
        return fail(
            kClientClError,
            "the failure took " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(took).count()) +
                " s");
    clReleaseMemObject(buffer);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return kClientOk;
}

// Builds `source` and enqueues its kernel `name` over one work-item with `buffer` as argument 0
// and, when `extra` is set, the long value *extra as argument 1.
int launch_hostile(cl_platform_id platform, const char* source, const char* name,
                   const cl_long* extra, const char* announce) {
    Basics basics;
    if (const int status = open_basics(platform, basics); status != kClientOk) return status;
    [[maybe_unused]] auto [device, context, queue] = basics;
    cl_int err;
    cl_program program = clCreateProgramWithSource(context, 1, &source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clBuildProgram(program, 1, &device, "", nullptr, nullptr));
    cl_kernel kernel = clCreateKernel(program, name, &err);
    CLIENT_CHECK(err);
    cl_int zero = 0;
    cl_mem buffer =
        clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof zero, &zero, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clSetKernelArg(kernel, 0, sizeof buffer, &buffer));
    if (extra) CLIENT_CHECK(clSetKernelArg(kernel, 1, sizeof *extra, extra));
    CLIENT_CHECK(clFinish(queue)); // everything so far worked: the session is healthy
    const size_t one = 1;
    CLIENT_CHECK(
        clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &one, nullptr, 0, nullptr, nullptr));
    CLIENT_CHECK(clFlush(queue));
    if (announce) {
        std::printf("%s\n", announce);
        std::fflush(stdout);
    }
    // The session ends under this call: it must fail with the spec's catch-all, not hang and
    // not return an internal code.
    if (const int status = expect_session_ended(queue, buffer); status != kClientOk) return status;
    // Releasing objects of an ended session still works and returns.
    clReleaseMemObject(buffer);
    clReleaseKernel(kernel);
    clReleaseProgram(program);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return kClientOk;
}

int quota(cl_platform_id platform, size_t bytes) {
    Basics basics;
    if (const int status = open_basics(platform, basics); status != kClientOk) return status;
    [[maybe_unused]] auto [device, context, queue] = basics;
    cl_int err;
    cl_mem half = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes / 2, nullptr, &err);
    CLIENT_CHECK(err);
    cl_mem rest = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes - bytes / 2, nullptr, &err);
    CLIENT_CHECK(err);
    cl_mem over = clCreateBuffer(context, CL_MEM_READ_WRITE, 1, nullptr, &err);
    if (over) return fail(kClientNoFailure, "a buffer beyond the quota was created");
    if (err != CL_MEM_OBJECT_ALLOCATION_FAILURE)
        return fail(kClientClError, "clCreateBuffer beyond the quota returned " + describe(err));
    CLIENT_CHECK(clReleaseMemObject(half));
    cl_mem again = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes / 2, nullptr, &err);
    CLIENT_CHECK(err);
    // The buffers work: the daemon agreed with the client's count.
    const cl_int pattern = 0x2a;
    CLIENT_CHECK(clEnqueueFillBuffer(queue, again, &pattern, sizeof pattern, 0, bytes / 2, 0,
                                     nullptr, nullptr));
    cl_int back = 0;
    CLIENT_CHECK(clEnqueueReadBuffer(queue, again, CL_TRUE, bytes / 2 - sizeof back, sizeof back,
                                     &back, 0, nullptr, nullptr));
    if (back != pattern) return fail(kClientWrongData, "read back " + std::to_string(back));
    CLIENT_CHECK(clFinish(queue));
    clReleaseMemObject(again);
    clReleaseMemObject(rest);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return kClientOk;
}

int host_memory(cl_platform_id platform, size_t bytes) {
    Basics basics;
    if (const int status = open_basics(platform, basics); status != kClientOk) return status;
    [[maybe_unused]] auto [device, context, queue] = basics;
    cl_int err;
    // Within the device memory quota, beyond the worker's host memory: on a CPU device the
    // buffer is host memory of the worker, allocated when first used.
    cl_mem buffer = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, nullptr, &err);
    CLIENT_CHECK(err);
    const cl_int pattern = 0x2a;
    CLIENT_CHECK(clEnqueueFillBuffer(queue, buffer, &pattern, sizeof pattern, 0, bytes, 0, nullptr,
                                     nullptr));
    if (const int status = expect_session_ended(queue, buffer); status != kClientOk) return status;
    clReleaseMemObject(buffer);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return kClientOk;
}

int bad_args(cl_platform_id platform) {
    Basics basics;
    if (const int status = open_basics(platform, basics); status != kClientOk) return status;
    [[maybe_unused]] auto [device, context, queue] = basics;
    cl_int err;
    const char* source = "__kernel void k(__global int* p, __local int* scratch) {\n"
                         "    scratch[0] = 1; p[get_global_id(0)] = scratch[0];\n"
                         "}\n";
    cl_program program = clCreateProgramWithSource(context, 1, &source, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clBuildProgram(program, 1, &device, "", nullptr, nullptr));
    cl_kernel kernel = clCreateKernel(program, "k", &err);
    CLIENT_CHECK(err);
    const cl_int huge = clSetKernelArg(kernel, 1, size_t(1) << 62, nullptr);
    if (huge != CL_MAX_SIZE_RESTRICTION_EXCEEDED)
        return fail(huge == CL_SUCCESS ? kClientNoFailure : kClientClError,
                    "a 2^62-byte __local argument: " + describe(huge));
    CLIENT_CHECK(clSetKernelArg(kernel, 1, 64, nullptr));
    cl_mem gone = clCreateBuffer(context, CL_MEM_READ_WRITE, 64, nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clSetKernelArg(kernel, 0, sizeof gone, &gone));
    CLIENT_CHECK(clReleaseMemObject(gone));
    const size_t n = 16;
    const cl_int launch =
        clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr);
    if (launch != CL_INVALID_KERNEL_ARGS)
        return fail(launch == CL_SUCCESS ? kClientNoFailure : kClientClError,
                    "a launch with a released buffer: " + describe(launch));
    // The session goes on: set a live buffer and run.
    cl_mem live = clCreateBuffer(context, CL_MEM_READ_WRITE, n * sizeof(cl_int), nullptr, &err);
    CLIENT_CHECK(err);
    CLIENT_CHECK(clSetKernelArg(kernel, 0, sizeof live, &live));
    CLIENT_CHECK(
        clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
    std::vector<cl_int> out(n, 0);
    CLIENT_CHECK(clEnqueueReadBuffer(queue, live, CL_TRUE, 0, n * sizeof(cl_int), out.data(), 0,
                                     nullptr, nullptr));
    for (cl_int v : out)
        if (v != 1) return fail(kClientWrongData, "kernel wrote " + std::to_string(v));
    CLIENT_CHECK(clFinish(queue));
    clReleaseMemObject(live);
    clReleaseKernel(kernel);
    clReleaseProgram(program);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    return kClientOk;
}

int crash_kernel(cl_platform_id platform) {
    // The offset comes in as an argument so the compiler cannot see (and drop) the wild write.
    const char* source = "__kernel void smash(__global int* p, long off) { p[off] = 1; }";
    const cl_long four_tib = cl_long(1) << 40;
    return launch_hostile(platform, source, "smash", &four_tib, nullptr);
}

int endless_kernel(cl_platform_id platform) {
    const char* source = "__kernel void spin(__global volatile int* flag) {\n"
                         "    while (flag[0] == 0) {}\n"
                         "}\n";
    return launch_hostile(platform, source, "spin", nullptr, "running");
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2)
        return fail(kClientUsage,
                    "usage: rgpu-e2e-client vector-add|flood|no-daemon|outlive-daemon|crash-kernel|"
                    "endless-kernel");
    const std::string command = argv[1];
    // Blocked before OpenCL starts threads, so that only sigtimedwait receives it.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, nullptr);
    cl_uint platforms = 0;
    if (const cl_int err = clGetPlatformIDs(0, nullptr, &platforms); err != CL_SUCCESS)
        return fail(kClientPlatformsFailed, describe(err));
    cl_platform_id platform = find_platform(kRgpuPlatformName);
    if (!platform) return fail(kClientNoPlatform, "platforms listed: " + listed_platforms());
    if (command == "vector-add") return vector_add(platform, argc > 2 ? std::atoi(argv[2]) : 1);
    if (command == "pool-flow") return pool_flow(platform);
    if (command == "span-flow") return span_flow(platform);
    if (command == "flood") return flood(platform);
    if (command == "no-daemon") return no_daemon(platform);
    if (command == "outlive-daemon") return outlive_daemon(platform);
    if (command == "crash-kernel") return crash_kernel(platform);
    if (command == "bad-args") return bad_args(platform);
    if (command == "host-memory" && argc > 2)
        return host_memory(platform, std::strtoull(argv[2], nullptr, 10));
    if (command == "quota" && argc > 2) return quota(platform, std::strtoull(argv[2], nullptr, 10));
    if (command == "endless-kernel") return endless_kernel(platform);
    if (command == "restarted-daemon") return restarted_daemon(platform, false);
    if (command == "detach-attach") return detach_and_attach(platform);
    if (command == "survive-restart") return survive_restart(platform, wait_for_usr1);
    if (command == "survive-crash") return survive_restart(platform, wait_for_usr1, true);
    if (command == "lost-after-save") return restarted_daemon(platform, true);
    if (command == "svm-session") return svm_session(platform, wait_for_usr1);
    if (command == "outage" && argc > 3) {
        const std::string how = argv[2];
        const Outage outage = how == "cut"       ? Outage::Cut
                              : how == "release" ? Outage::Release
                                                 : Outage::Pause;
        if (how != "cut" && how != "release" && how != "pause")
            return fail(kClientUsage, "outage cut|release|pause ROUNDS");
        return survive_outages(platform, outage, std::atoi(argv[3]));
    }
    return fail(kClientUsage, "unknown command '" + command + "'");
}
