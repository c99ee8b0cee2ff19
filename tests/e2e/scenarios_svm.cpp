// SPDX-License-Identifier: Apache-2.0
// Scenarios of shared virtual memory (coarse-grained buffers): pointers stored in SVM memory and
// followed by a kernel, every SVM enqueue call, buffers over SVM memory, frees with and without
// a callback, and the argument errors.
#include "scenarios.h"

#include "scenario_support.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace rgpu::e2e::scenarios {

using namespace detail;

namespace {

using Node = SvmNode;

// walk (kSvmWalkSource), and:
const char* const kSvmMoreSource = R"CLC(
kernel void twice(__global int* x) { x[get_global_id(0)] *= 2; }
// Follows a pointer the kernel finds in memory rather than in an argument (exec info).
kernel void through(__global int* __global* where, __global int* out) {
    out[get_global_id(0)] = (*where)[get_global_id(0)] + 1;
}
)CLC";

struct FreeRecord {
    std::atomic<int> calls{0};
    std::atomic<cl_uint> pointers{0};
};

void CL_CALLBACK free_callback(cl_command_queue queue, cl_uint count, void** pointers, void* data) {
    auto* record = static_cast<FreeRecord*>(data);
    cl_context context = nullptr;
    clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof context, &context, nullptr);
    for (cl_uint i = 0; i < count; ++i)
        clSVMFree(context, pointers[i]);
    record->pointers.store(count);
    record->calls.fetch_add(1);
}

std::vector<cl_int> host_ints(const cl_int* p, size_t n) {
    return std::vector<cl_int>(p, p + n);
}

} // namespace

ScenarioResult svm_coarse_grain(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_device_svm_capabilities caps = 0;
    SETUP("CL_DEVICE_SVM_CAPABILITIES",
          clGetDeviceInfo(d.id, CL_DEVICE_SVM_CAPABILITIES, sizeof caps, &caps, nullptr));
    r.fact("coarse-grained buffers", (caps & CL_DEVICE_SVM_COARSE_GRAIN_BUFFER) != 0);
    Program program;
    const std::string source = std::string(kSvmWalkSource) + kSvmMoreSource;
    if (!build(r, d, program, source.c_str(), "-cl-std=CL2.0")) return r;
    cl_int err;
    Kernel walk(clCreateKernel(program, "walk", &err));
    SETUP("clCreateKernel walk", err);
    Kernel twice(clCreateKernel(program, "twice", &err));
    SETUP("clCreateKernel twice", err);
    Kernel through(clCreateKernel(program, "through", &err));
    SETUP("clCreateKernel through", err);

    constexpr size_t n = 256, bytes = n * sizeof(cl_int);
    auto* nodes = static_cast<Node*>(clSVMAlloc(d.context, CL_MEM_READ_WRITE, n * sizeof(Node), 0));
    SETUP_PTR("clSVMAlloc nodes", nodes);
    auto* out = static_cast<cl_int*>(clSVMAlloc(d.context, CL_MEM_READ_WRITE, bytes, 64));
    SETUP_PTR("clSVMAlloc out", out);
    r.fact("alignment 64 honoured", reinterpret_cast<uintptr_t>(out) % 64 == 0);

    // The host builds a linked list in SVM memory: its pointers are the device's.
    SETUP("map nodes to write", clEnqueueSVMMap(d.queue, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION,
                                                nodes, n * sizeof(Node), 0, nullptr, nullptr));
    for (size_t i = 0; i < n; ++i)
        nodes[i] = Node{static_cast<cl_int>(3 * i + 1), 0, i + 1 < n ? &nodes[i + 1] : nullptr};
    SETUP("unmap nodes", clEnqueueSVMUnmap(d.queue, nodes, 0, nullptr, nullptr));
    SETUP("arg 0 SVM pointer", clSetKernelArgSVMPointer(walk, 0, nodes));
    SETUP("arg 1 SVM pointer", clSetKernelArgSVMPointer(walk, 1, out));
    size_t global = n;
    SETUP("launch walk",
          clEnqueueNDRangeKernel(d.queue, walk, 1, nullptr, &global, nullptr, 0, nullptr, nullptr));
    std::vector<cl_int> sums(n, -1);
    Event copied;
    SETUP("memcpy SVM to host",
          clEnqueueSVMMemcpy(d.queue, CL_TRUE, sums.data(), out, bytes, 0, nullptr, copied.out()));
    r.put("sums", sums);
    command_type_fact(r, "memcpy", copied);

    Event mapped, unmapped;
    SETUP("map out to read",
          clEnqueueSVMMap(d.queue, CL_TRUE, CL_MAP_READ, out, bytes, 0, nullptr, mapped.out()));
    r.put("sums mapped", host_ints(out, n));
    SETUP("unmap out", clEnqueueSVMUnmap(d.queue, out, 0, nullptr, unmapped.out()));
    command_type_fact(r, "map", mapped);
    command_type_fact(r, "unmap", unmapped);

    // Fill, copies within SVM and from the host, mapped in part and written through the map.
    const cl_int seven = 7;
    Event filled;
    SETUP("fill first half", clEnqueueSVMMemFill(d.queue, out, &seven, sizeof seven, bytes / 2, 0,
                                                 nullptr, filled.out()));
    command_type_fact(r, "fill", filled);
    SETUP("memcpy SVM to SVM",
          clEnqueueSVMMemcpy(d.queue, CL_FALSE, out + n / 2, out, bytes / 4, 0, nullptr, nullptr));
    std::vector<cl_int> sixteen(16);
    for (size_t i = 0; i < sixteen.size(); ++i)
        sixteen[i] = static_cast<cl_int>(1000 + i);
    SETUP("memcpy host to SVM",
          clEnqueueSVMMemcpy(d.queue, CL_TRUE, out + 8, sixteen.data(),
                             sixteen.size() * sizeof(cl_int), 0, nullptr, nullptr));
    SETUP("map part to write", clEnqueueSVMMap(d.queue, CL_TRUE, CL_MAP_WRITE, out + 100,
                                               4 * sizeof(cl_int), 0, nullptr, nullptr));
    for (int i = 0; i < 4; ++i)
        out[100 + i] = -i;
    SETUP("unmap part", clEnqueueSVMUnmap(d.queue, out + 100, 0, nullptr, nullptr));
    std::vector<cl_int> after(n, -1);
    SETUP("read after writes",
          clEnqueueSVMMemcpy(d.queue, CL_TRUE, after.data(), out, bytes, 0, nullptr, nullptr));
    r.put("after fill, copy and writes", after);

    // A buffer over SVM memory is that memory.
    Mem over(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes, out, &err));
    SETUP("buffer over SVM", err);
    cl_bool uses_svm = CL_FALSE;
    SETUP("CL_MEM_USES_SVM_POINTER",
          clGetMemObjectInfo(over, CL_MEM_USES_SVM_POINTER, sizeof uses_svm, &uses_svm, nullptr));
    r.fact("buffer uses an SVM pointer", uses_svm == CL_TRUE);
    cl_mem over_handle = over;
    SETUP("twice arg", clSetKernelArg(twice, 0, sizeof over_handle, &over_handle));
    SETUP("launch twice", clEnqueueNDRangeKernel(d.queue, twice, 1, nullptr, &global, nullptr, 0,
                                                 nullptr, nullptr));
    std::vector<cl_int> doubled(n, -1);
    SETUP("read buffer over SVM", clEnqueueReadBuffer(d.queue, over, CL_TRUE, 0, bytes,
                                                      doubled.data(), 0, nullptr, nullptr));
    r.put("buffer over SVM doubled", doubled);
    std::vector<cl_int> svm_doubled(n, -1);
    SETUP("read SVM after buffer kernel", clEnqueueSVMMemcpy(d.queue, CL_TRUE, svm_doubled.data(),
                                                             out, bytes, 0, nullptr, nullptr));
    r.put("SVM after buffer kernel", svm_doubled);
    over.reset();

    // A pointer found in memory, declared with exec info.
    auto* where = static_cast<cl_int**>(clSVMAlloc(d.context, CL_MEM_READ_WRITE, sizeof(void*), 0));
    SETUP_PTR("clSVMAlloc where", where);
    SETUP("map where", clEnqueueSVMMap(d.queue, CL_TRUE, CL_MAP_WRITE, where, sizeof(void*), 0,
                                       nullptr, nullptr));
    *where = out;
    SETUP("unmap where", clEnqueueSVMUnmap(d.queue, where, 0, nullptr, nullptr));
    void* reachable[] = {out};
    SETUP("exec info SVM pointers",
          clSetKernelExecInfo(through, CL_KERNEL_EXEC_INFO_SVM_PTRS, sizeof reachable, reachable));
    SETUP("through arg 0", clSetKernelArgSVMPointer(through, 0, where));
    SETUP("through arg 1", clSetKernelArgSVMPointer(through, 1, nodes)); // reused as int storage
    SETUP("launch through", clEnqueueNDRangeKernel(d.queue, through, 1, nullptr, &global, nullptr,
                                                   0, nullptr, nullptr));
    SETUP("exec info SVM pointers unset",
          clSetKernelExecInfo(through, CL_KERNEL_EXEC_INFO_SVM_PTRS, 0, nullptr));
    std::vector<cl_int> plus_one(n, -1);
    SETUP("read through",
          clEnqueueSVMMemcpy(d.queue, CL_TRUE, plus_one.data(), nodes, bytes, 0, nullptr, nullptr));
    r.put("through a stored pointer", plus_one);

    const void* both[] = {out, nodes};
    Event migrated;
    SETUP("migrate",
          clEnqueueSVMMigrateMem(d.queue, 2, both, nullptr, 0, 0, nullptr, migrated.out()));
    cl_event migration = migrated;
    SETUP("wait migrate", clWaitForEvents(1, &migration));
    command_type_fact(r, "migrate", migrated);

    // Argument errors.
    r.record("error: memcpy overlap",
             clEnqueueSVMMemcpy(d.queue, CL_TRUE, out + 1, out, 16, 0, nullptr, nullptr));
    r.record("error: memcpy to NULL",
             clEnqueueSVMMemcpy(d.queue, CL_TRUE, nullptr, out, 16, 0, nullptr, nullptr));
    r.record("error: fill pattern size 3",
             clEnqueueSVMMemFill(d.queue, out, &seven, 3, 12, 0, nullptr, nullptr));
    r.record("error: fill size not a multiple",
             clEnqueueSVMMemFill(d.queue, out, &seven, 4, 10, 0, nullptr, nullptr));
    r.record("error: fill misaligned",
             clEnqueueSVMMemFill(d.queue, reinterpret_cast<char*>(out) + 2, &seven, 4, 8, 0,
                                 nullptr, nullptr));
    r.record("error: map NULL",
             clEnqueueSVMMap(d.queue, CL_TRUE, CL_MAP_READ, nullptr, 16, 0, nullptr, nullptr));
    r.record("error: map size 0",
             clEnqueueSVMMap(d.queue, CL_TRUE, CL_MAP_READ, out, 0, 0, nullptr, nullptr));
    r.record("error: unmap NULL", clEnqueueSVMUnmap(d.queue, nullptr, 0, nullptr, nullptr));
    r.record("error: SVM pointer argument index", clSetKernelArgSVMPointer(walk, 7, out));
    Mem too_big(clCreateBuffer(d.context, CL_MEM_USE_HOST_PTR, 2 * bytes, out, &err));
    r.record("error: buffer larger than its SVM allocation", err);
    r.fact("too large buffer is NULL", too_big.get() == nullptr);
    r.record("error: free count without list",
             clEnqueueSVMFree(d.queue, 2, nullptr, nullptr, nullptr, 0, nullptr, nullptr));
    r.record("error: migrate nothing",
             clEnqueueSVMMigrateMem(d.queue, 0, nullptr, nullptr, 0, 0, nullptr, nullptr));
    r.fact("size 0 gives NULL", clSVMAlloc(d.context, CL_MEM_READ_WRITE, 0, 0) == nullptr);
    r.fact("two access flags give NULL",
           clSVMAlloc(d.context, CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY, 64, 0) == nullptr);
    r.fact("atomics without fine grain give NULL",
           clSVMAlloc(d.context, CL_MEM_READ_WRITE | CL_MEM_SVM_ATOMICS, 64, 0) == nullptr);

    // Frees: enqueued without a callback (the event completes), then with one.
    void* first[] = {where};
    Event freed;
    SETUP("enqueue free",
          clEnqueueSVMFree(d.queue, 1, first, nullptr, nullptr, 0, nullptr, freed.out()));
    cl_event free_event = freed;
    SETUP("wait free", clWaitForEvents(1, &free_event));
    command_type_fact(r, "free", freed);
    FreeRecord record;
    void* rest[] = {nodes, out};
    SETUP("enqueue free with callback",
          clEnqueueSVMFree(d.queue, 2, rest, free_callback, &record, 0, nullptr, nullptr));
    SETUP("clFinish", clFinish(d.queue));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (record.calls.load() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    r.fact("free callback calls", record.calls.load());
    r.fact("free callback pointers", record.pointers.load());
    return r;
}

ScenarioResult svm_errors_beyond_pocl(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    const std::string source = std::string(kSvmWalkSource) + kSvmMoreSource;
    if (!build(r, d, program, source.c_str(), "-cl-std=CL2.0")) return r;
    cl_int err;
    Kernel through(clCreateKernel(program, "through", &err));
    SETUP("clCreateKernel through", err);
    void* block = clSVMAlloc(d.context, CL_MEM_READ_WRITE, 256, 0);
    SETUP_PTR("clSVMAlloc", block);
    r.record("error: map read and invalidate",
             clEnqueueSVMMap(d.queue, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE_INVALIDATE_REGION, block,
                             16, 0, nullptr, nullptr));
    void* reachable[] = {block};
    r.record("error: exec info of a partial pointer",
             clSetKernelExecInfo(through, CL_KERNEL_EXEC_INFO_SVM_PTRS, 3, reachable));
    r.record("error: exec info unknown",
             clSetKernelExecInfo(through, 0x4321, sizeof reachable, reachable));
    const cl_bool yes = CL_TRUE;
    r.record(
        "error: system SVM for a kernel",
        clSetKernelExecInfo(through, CL_KERNEL_EXEC_INFO_SVM_FINE_GRAIN_SYSTEM, sizeof yes, &yes));
    int on_stack = 0;
    r.record("error: SVM argument outside SVM memory",
             clSetKernelArgSVMPointer(through, 1, &on_stack));
    cl_device_svm_capabilities caps = 0;
    SETUP("CL_DEVICE_SVM_CAPABILITIES",
          clGetDeviceInfo(d.id, CL_DEVICE_SVM_CAPABILITIES, sizeof caps, &caps, nullptr));
    r.fact("SVM capabilities", caps);
    r.fact("fine grain gives NULL",
           clSVMAlloc(d.context, CL_MEM_READ_WRITE | CL_MEM_SVM_FINE_GRAIN_BUFFER, 64, 0) ==
               nullptr);
    clSVMFree(d.context, block);
    return r;
}

} // namespace rgpu::e2e::scenarios
