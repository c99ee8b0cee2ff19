// SPDX-License-Identifier: Apache-2.0
// Differential scenarios: OpenCL programs run on one platform, observations returned as data.
//
// A scenario takes a platform, uses its first device in a fresh context, and returns everything
// it observed: every status code in call order, named facts (info values, orderings, flags) and
// named data (buffer contents). Running one scenario on POCL and on rgpu must give equal results,
// since the rgpu device is the POCL device served remotely. Scenarios never throw and never wait
// without a bound of their own beyond what OpenCL itself waits for; a failed setup call is
// recorded and ends the scenario (ScenarioResult::aborted_at).
#ifndef RGPU_TESTS_E2E_SCENARIOS_H
#define RGPU_TESTS_E2E_SCENARIOS_H

#include <CL/cl.h>

#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace rgpu::e2e {

struct Observation {
    std::string what; // a label naming the call, stable across platforms
    cl_int code;
};

struct ScenarioResult {
    std::vector<Observation> calls;                                       // in call order
    std::vector<std::pair<std::string, std::string>> facts;               // compared as text
    std::vector<std::pair<std::string, std::vector<unsigned char>>> data; // compared bytewise
    std::string aborted_at; // label of the setup call that failed; empty when it ran through

    // Record a status; returns it.
    cl_int record(std::string what, cl_int code);
    void fact(std::string name, std::string value);
    void fact(std::string name, const char* value) { fact(std::move(name), std::string(value)); }
    void fact(std::string name, bool value) { fact(std::move(name), value ? "true" : "false"); }
    template <typename T>
    requires std::is_arithmetic_v<T>
    void fact(std::string name, T value) { fact(std::move(name), std::to_string(value)); }
    template <typename T> void put(std::string name, const std::vector<T>& values) {
        std::vector<unsigned char> bytes(values.size() * sizeof(T));
        if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
        data.emplace_back(std::move(name), std::move(bytes));
    }

    // The last code recorded under `what`; kMissing when there is none.
    static constexpr cl_int kMissing = 1;
    cl_int code(std::string_view what) const;
    // The fact's value; "<missing>" when there is none.
    std::string fact_value(std::string_view name) const;
    bool has_data(std::string_view name) const;
    template <typename T> std::vector<T> get(std::string_view name) const {
        for (const auto& [n, bytes] : data)
            if (n == name) {
                std::vector<T> out(bytes.size() / sizeof(T));
                if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
                return out;
            }
        return {};
    }
    // Labels of every call that did not return CL_SUCCESS, with their codes.
    std::vector<std::string> failures() const;
};

// Human-readable differences between two results (empty when equal): calls and codes in order,
// facts by name, data bytewise (first differing element reported).
std::vector<std::string> differences(const ScenarioResult& native, const ScenarioResult& remote);
// The whole result, for failure messages.
std::string to_string(const ScenarioResult& result);

using ScenarioFn = ScenarioResult (*)(cl_platform_id);

namespace scenarios {

// Input sizes shared with the tests' host-side expectations.
inline constexpr size_t kVectorSize = 1024;
float vector_a(size_t i); // exactly representable inputs: the sums are exact
float vector_b(size_t i);

// --- success paths ---------------------------------------------------------------------------
// c = a + b with a, b from COPY_HOST_PTR, blocking read. data "c".
ScenarioResult vector_add_copy_host_ptr(cl_platform_id platform);
// a, b, c USE_HOST_PTR; c mapped for reading. data "c mapped", "c host while mapped";
// fact "map returns host_ptr".
ScenarioResult vector_add_use_host_ptr(cl_platform_id platform);
// ALLOC_HOST_PTR buffers filled and read through map/unmap. data "c mapped".
ScenarioResult vector_add_alloc_host_ptr(cl_platform_id platform);
// Plain buffers, clEnqueueWriteBuffer, clEnqueueReadBuffer. data "c".
ScenarioResult vector_add_write_buffer(cl_platform_id platform);
// True when a vector-add result's `name` holds a + b for every element.
bool vector_add_correct(const ScenarioResult& result, std::string_view name);

// The same source built with -DVALUE=3 and -DVALUE=5. data "out3", "out5" (i * VALUE);
// facts "build options 3", "build status 3".
ScenarioResult build_with_options(cl_platform_id platform);
// A kernel behind a comment of kLargeSourceBytes (more than one 64 MiB message frame).
// data "out" (all 7); fact "source length".
inline constexpr size_t kLargeSourceBytes = 80u << 20;
ScenarioResult large_program_source(cl_platform_id platform);
// clCompileProgram with an embedded header, a second program compiled alone, both linked: build
// status and binary type at each stage, kernels, data "out" ((i + 10) * 3).
ScenarioResult compile_and_link(cl_platform_id platform);
// The same through a library made with -create-library. data "out".
ScenarioResult link_library(cl_platform_id platform);
// Argument errors of both calls, a compile failure (status, log) and a link of an undefined
// function.
ScenarioResult compile_and_link_errors(cl_platform_id platform);
// A source that does not compile: clBuildProgram's code, CL_BUILD_ERROR, a non-empty log.
ScenarioResult build_failure_log(cl_platform_id platform);
// Buffer, int, float, float4, ulong, char, __local (NULL value) and a NULL buffer argument
// (both as a NULL arg_value and as a pointer to a NULL cl_mem). data "out null", "out buffer",
// "out null handle".
ScenarioResult kernel_argument_kinds(cl_platform_id platform);
float kernel_argument_expected(size_t gid, size_t local_size, bool with_buffer);
// Global offset 16, global size 64, local size 8 into an 80-element buffer. data "ids", "meta".
ScenarioResult ndrange_offset_local(cl_platform_id platform);
// 2D range 16 x 8 with local size 4 x 2. data "ids".
ScenarioResult ndrange_2d(cl_platform_id platform);
// Blocking writes and reads, copy, fills (pattern sizes 4 and 2). data "b", "a part".
ScenarioResult transfers_blocking(cl_platform_id platform);
// clCreateSubBuffer: info, contents shared with the parent (read, fill, a kernel), and every
// argument error. data "sub contents", "parent after".
ScenarioResult sub_buffers(cl_platform_id platform);
// clEnqueue{Read,Write,Copy}BufferRect: 3D boxes between layouts, within one buffer, on an
// out-of-order queue, and every argument error. data "a after write rect", "read rect", ...
ScenarioResult rect_transfers(cl_platform_id platform);
// Images: formats, 2D/3D/1D-array/1D-buffer images from host memory with pitches, region
// reads and writes, fill, copies between images and buffers, a sampler kernel, map/unmap, info.
ScenarioResult images(cl_platform_id platform);
// Argument errors of image creation, transfers, info and samplers that POCL 3.1 reports as the
// specification says.
ScenarioResult image_errors(cl_platform_id platform);
// Those it accepts or reports otherwise (rgpu answers the specification's code): run on rgpu only.
ScenarioResult image_errors_beyond_pocl(cl_platform_id platform);
// clCreateSubDevices equally and by counts: info, reference counts, kernels on sub-devices,
// a sub-device partitioned again, argument errors. data "on sub 0 c", ...
ScenarioResult sub_devices(cl_platform_id platform);
// Coarse-grained SVM: a linked list built by the host and walked by a kernel, every SVM enqueue
// call and its event's command type, a buffer over SVM memory, a pointer reached through exec
// info, frees with and without a callback, argument errors. data "sums", "sums mapped", ...
ScenarioResult svm_coarse_grain(cl_platform_id platform);
// SVM argument errors POCL 3.1 accepts, and the fine grain rgpu does not offer: rgpu only.
ScenarioResult svm_errors_beyond_pocl(cl_platform_id platform);
// Six application threads share a context, a program and an in-order queue: each creates its
// own kernel, queue and buffer at once with the others, launches, and writes and reads its slice
// of a shared buffer through the shared queue (waiting on its own queue's events), finishing the
// shared queue and retaining/releasing the program meanwhile. data "thread N own", ..., "shared".
ScenarioResult threads_sharing(cl_platform_id platform);
// Kernel printf: what standard output holds once the launch's event is complete, and after
// clFinish of four work-groups' output. facts "after the event", "after clFinish, lines sorted".
ScenarioResult kernel_printf(cl_platform_id platform);
// The same transfers non-blocking, chained by event wait lists. data "b", "a part".
ScenarioResult transfers_nonblocking(cl_platform_id platform);
// kManySmallWrites non-blocking 4-byte writes, then one clFinish (more commands and bulk
// frames than one message may carry). data "back": element i is i * 7 + 3.
inline constexpr size_t kManySmallWrites = 5000;
ScenarioResult many_small_writes(cl_platform_id platform);
// Wait lists, clWaitForEvents, statuses, command types, event info, a completion callback.
ScenarioResult events_and_wait_lists(cl_platform_id platform);
// A completion callback that makes a blocking read and clFinish on the event's queue.
// fact "callback finished"; data "read in callback" (i * i).
ScenarioResult blocking_call_in_callback(cl_platform_id platform);
// Profiling timestamps on a profiling queue: queued <= submit <= start <= end.
ScenarioResult profiling_timestamps(cl_platform_id platform);
// A user event gates a write: not complete before clSetUserEventStatus, complete after.
ScenarioResult user_event_gate(cl_platform_id platform);
ScenarioResult user_event_failure(cl_platform_id platform);
// 24 non-blocking 1 MiB writes gated on a user event set after them (more than rgpu's credit
// and staging bounds): facts "last write ...", "every write landed".
ScenarioResult writes_behind_user_event(cl_platform_id platform);
ScenarioResult zero_sized_launch(cl_platform_id platform);
// clCloneKernel: the clone has the original's arguments, then each its own.
ScenarioResult clone_kernel(cl_platform_id platform);
// clEnqueueMarkerWithWaitList / clEnqueueBarrierWithWaitList and the 1.1 marker and barrier.
ScenarioResult markers_and_barriers(cl_platform_id platform);
// clEnqueueMigrateMemObjects: ordering behind a user event, its event, contents kept, and every
// argument error.
ScenarioResult migrate_mem_objects(cl_platform_id platform);
// Reference counts after retain/release of objects POCL counts predictably.
ScenarioResult reference_counts(cl_platform_id platform);
// clGetDeviceInfo values that must be the same for the device served remotely.
ScenarioResult device_info(cl_platform_id platform);
// clGetKernelWorkGroupInfo, clGetKernelInfo and clGetKernelArgInfo.
ScenarioResult kernel_info(cl_platform_id platform);
// clGetProgramInfo before and after a build, clCreateKernelsInProgram.
ScenarioResult program_info(cl_platform_id platform);

// --- error paths (each records the call under test as "under test") -------------------------
ScenarioResult error_buffer_size_zero(cl_platform_id platform);
ScenarioResult error_copy_host_ptr_null(cl_platform_id platform);
ScenarioResult error_read_only_write_only(cl_platform_id platform);
ScenarioResult error_unknown_kernel_name(cl_platform_id platform);
ScenarioResult error_kernel_from_unbuilt_program(cl_platform_id platform);
ScenarioResult error_arg_index_out_of_range(cl_platform_id platform);
ScenarioResult error_buffer_arg_wrong_size(cl_platform_id platform);
ScenarioResult error_unset_kernel_arg(cl_platform_id platform);
ScenarioResult error_read_out_of_bounds(cl_platform_id platform);
ScenarioResult error_global_not_multiple_of_local(cl_platform_id platform);
ScenarioResult error_local_differs_from_required(cl_platform_id platform);
// A kernel with reqd_work_group_size launched without a local size: refused at the call, as
// natively, whether or not the required size divides the global size; nothing runs.
ScenarioResult required_size_without_local(cl_platform_id platform);
ScenarioResult error_work_dim_zero(cl_platform_id platform);
ScenarioResult error_null_queue(cl_platform_id platform);
ScenarioResult error_wait_list_null(cl_platform_id platform);
ScenarioResult error_device_info_bogus_param(cl_platform_id platform);
// clGetDeviceIDs for a device type the platform lacks: the code, and that no device is reported.
ScenarioResult error_device_type_not_found(cl_platform_id platform);

} // namespace scenarios
} // namespace rgpu::e2e

#endif // RGPU_TESTS_E2E_SCENARIOS_H
