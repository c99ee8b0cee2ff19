// SPDX-License-Identifier: Apache-2.0
// Scenarios of events: wait lists, profiling, user events, markers and barriers, reference counts.
#include "scenarios.h"

#include <algorithm>

#include "scenario_support.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace rgpu::e2e::scenarios {

using namespace detail;

namespace {
// Completes a user event on every return path, then drains the queue, so that commands it
// gates never outlive the host memory they use.
class UserEventGuard {
  public:
    UserEventGuard(cl_event event, cl_command_queue queue) : event_(event), queue_(queue) {}
    ~UserEventGuard() {
        if (!done_ && event_) clSetUserEventStatus(event_, CL_COMPLETE);
        if (queue_) clFinish(queue_);
    }
    void done() { done_ = true; }

  private:
    cl_event event_;
    cl_command_queue queue_;
    bool done_ = false;
};

struct CallbackRecord {
    std::atomic<bool> ran{false};
    std::atomic<cl_int> status{1};
    std::atomic<cl_event> event{nullptr};
};

void CL_CALLBACK on_complete(cl_event event, cl_int status, void* user_data) {
    auto* record = static_cast<CallbackRecord*>(user_data);
    record->status = status;
    record->event = event;
    record->ran = true;
}
} // namespace

ScenarioResult events_and_wait_lists(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "twice", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 128, bytes = n * sizeof(cl_int);
    std::vector<cl_int> in(n), out(n, -1);
    for (size_t i = 0; i < n; ++i)
        in[i] = static_cast<cl_int>(i) - 50;
    Mem in_mem(clCreateBuffer(d.context, CL_MEM_READ_ONLY, bytes, nullptr, &err));
    SETUP("clCreateBuffer in", err);
    Mem out_mem(clCreateBuffer(d.context, CL_MEM_WRITE_ONLY, bytes, nullptr, &err));
    SETUP("clCreateBuffer out", err);
    cl_mem args[] = {in_mem, out_mem};
    SETUP("clSetKernelArg 0", clSetKernelArg(kernel, 0, sizeof(cl_mem), &args[0]));
    SETUP("clSetKernelArg 1", clSetKernelArg(kernel, 1, sizeof(cl_mem), &args[1]));

    Event write, run, read;
    SETUP("clEnqueueWriteBuffer", clEnqueueWriteBuffer(d.queue, in_mem, CL_FALSE, 0, bytes,
                                                       in.data(), 0, nullptr, write.out()));
    cl_event after_write = write;
    SETUP("clEnqueueNDRangeKernel", clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr,
                                                           1, &after_write, run.out()));
    cl_event after_run = run;
    SETUP("clEnqueueReadBuffer", clEnqueueReadBuffer(d.queue, out_mem, CL_FALSE, 0, bytes,
                                                     out.data(), 1, &after_run, read.out()));
    // On the heap, and leaked when the callback has not run by the end: a late call must not
    // write into a dead stack frame.
    auto* callback = new CallbackRecord();
    struct CallbackOwner {
        CallbackRecord* record;
        ~CallbackOwner() {
            if (record->ran) delete record;
        }
    } callback_owner{callback};
    SETUP("clSetEventCallback", clSetEventCallback(read, CL_COMPLETE, on_complete, callback));
    // Callbacks for the earlier states get those states as their status.
    auto* submitted = new CallbackRecord();
    auto* running = new CallbackRecord();
    CallbackOwner submitted_owner{submitted}, running_owner{running};
    SETUP("clSetEventCallback submitted",
          clSetEventCallback(run, CL_SUBMITTED, on_complete, submitted));
    SETUP("clSetEventCallback running", clSetEventCallback(run, CL_RUNNING, on_complete, running));
    cl_event read_event = read;
    SETUP("clWaitForEvents read", clWaitForEvents(1, &read_event));
    status_fact(r, "read after its wait", read);
    cl_event all[] = {write, run, read};
    SETUP("clWaitForEvents all", clWaitForEvents(3, all));
    SETUP("clFinish", clFinish(d.queue));
    for (const auto& [name, event] :
         {std::pair{"write", write.get()}, {"kernel", run.get()}, {"read", read.get()}}) {
        status_fact(r, name, event);
        command_type_fact(r, name, event);
        cl_command_queue queue = nullptr;
        r.record(std::string("CL_EVENT_COMMAND_QUEUE ") + name,
                 clGetEventInfo(event, CL_EVENT_COMMAND_QUEUE, sizeof queue, &queue, nullptr));
        r.fact(std::string("queue of ") + name + " is the queue", queue == d.queue.get());
        cl_context context = nullptr;
        r.record(std::string("CL_EVENT_CONTEXT ") + name,
                 clGetEventInfo(event, CL_EVENT_CONTEXT, sizeof context, &context, nullptr));
        r.fact(std::string("context of ") + name + " is the context", context == d.context.get());
    }
    // Callbacks may run on another thread a little after completion: wait for it, bounded.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while ((!callback->ran || !submitted->ran || !running->ran) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    r.fact("callback ran", callback->ran.load());
    r.fact("submitted callback status", status_name(submitted->status));
    r.fact("running callback status", status_name(running->status));
    r.fact("callback status", status_name(callback->status));
    r.fact("callback event is the event", callback->event.load() == read.get());
    cl_ulong start = 0;
    r.record(
        "profiling info without profiling",
        clGetEventProfilingInfo(run, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr));
    r.put("out", out);
    return r;
}

namespace {
/// What the blocking callback saw; on the heap and leaked if the callback never runs.
struct BlockingCallback {
    cl_command_queue queue = nullptr;
    cl_mem buffer = nullptr;
    std::vector<cl_int> read = std::vector<cl_int>(64, -1);
    std::atomic<cl_int> read_status{1};
    std::atomic<cl_int> finish_status{1};
    std::atomic<bool> ran{false};
};

void CL_CALLBACK read_in_callback(cl_event, cl_int, void* data) {
    auto* c = static_cast<BlockingCallback*>(data);
    c->read_status =
        clEnqueueReadBuffer(c->queue, c->buffer, CL_TRUE, 0, c->read.size() * sizeof(cl_int),
                            c->read.data(), 0, nullptr, nullptr);
    c->finish_status = clFinish(c->queue);
    c->ran = true;
}
} // namespace

ScenarioResult blocking_call_in_callback(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    std::vector<cl_int> values(64);
    for (size_t i = 0; i < values.size(); ++i)
        values[i] = static_cast<cl_int>(i * i);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, values.size() * sizeof(cl_int), nullptr,
                              &err));
    SETUP("clCreateBuffer", err);
    Event write;
    SETUP("clEnqueueWriteBuffer",
          clEnqueueWriteBuffer(d.queue, buffer, CL_FALSE, 0, values.size() * sizeof(cl_int),
                               values.data(), 0, nullptr, write.out()));
    auto* callback = new BlockingCallback();
    callback->queue = d.queue;
    callback->buffer = buffer;
    SETUP("clSetEventCallback", clSetEventCallback(write, CL_COMPLETE, read_in_callback, callback));
    SETUP("clFlush", clFlush(d.queue));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!callback->ran && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    r.fact("callback finished", callback->ran.load());
    if (!callback->ran) return r; // leaked on purpose: it may still run
    r.record("clEnqueueReadBuffer in callback", callback->read_status);
    r.record("clFinish in callback", callback->finish_status);
    r.put("read in callback", callback->read);
    delete callback;
    r.record("clFinish", clFinish(d.queue));
    return r;
}

ScenarioResult profiling_timestamps(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const cl_queue_properties props[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
    Queue queue(clCreateCommandQueueWithProperties(d.context, d.id, props, &err));
    SETUP("clCreateCommandQueueWithProperties", err);
    cl_command_queue_properties got = 0;
    r.record("CL_QUEUE_PROPERTIES",
             clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof got, &got, nullptr));
    r.fact("queue properties", got);
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    Kernel kernel(clCreateKernel(program, "inc", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 4096, bytes = n * sizeof(cl_int);
    std::vector<cl_int> host(n, 1);
    Mem x(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer", err);
    cl_mem arg = x;
    SETUP("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    Event write, run, read;
    SETUP("clEnqueueWriteBuffer",
          clEnqueueWriteBuffer(queue, x, CL_FALSE, 0, bytes, host.data(), 0, nullptr, write.out()));
    SETUP("clEnqueueNDRangeKernel",
          clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, run.out()));
    SETUP("clEnqueueReadBuffer",
          clEnqueueReadBuffer(queue, x, CL_TRUE, 0, bytes, host.data(), 0, nullptr, read.out()));
    SETUP("clFinish", clFinish(queue));
    cl_ulong previous_end = 0;
    for (const auto& [name, event] :
         {std::pair{"write", write.get()}, {"kernel", run.get()}, {"read", read.get()}}) {
        cl_ulong t[4] = {};
        const cl_profiling_info params[] = {CL_PROFILING_COMMAND_QUEUED,
                                            CL_PROFILING_COMMAND_SUBMIT, CL_PROFILING_COMMAND_START,
                                            CL_PROFILING_COMMAND_END};
        const char* const param_names[] = {"queued", "submit", "start", "end"};
        for (int i = 0; i < 4; ++i)
            r.record(std::string(name) + " " + param_names[i],
                     clGetEventProfilingInfo(event, params[i], sizeof t[i], &t[i], nullptr));
        r.fact(std::string(name) + " queued <= submit", t[0] <= t[1]);
        r.fact(std::string(name) + " submit <= start", t[1] <= t[2]);
        r.fact(std::string(name) + " start <= end", t[2] <= t[3]);
        r.fact(std::string(name) + " end > 0", t[3] > 0);
        // An in-order queue: each command starts after the previous one ended.
        r.fact(std::string(name) + " starts after the previous end", previous_end <= t[2]);
        previous_end = t[3];
    }
    std::vector<cl_int> expected(n, 2);
    r.fact("kernel result", host == expected);
    return r;
}

ScenarioResult user_event_gate(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const size_t n = 64, bytes = n * sizeof(cl_int);
    std::vector<cl_int> source(n), result(n, -1);
    for (size_t i = 0; i < n; ++i)
        source[i] = static_cast<cl_int>(i * i);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer", err);
    Event gate(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);
    UserEventGuard guard(gate, d.queue);
    status_fact(r, "user event initially", gate);
    command_type_fact(r, "user event", gate);
    cl_command_queue no_queue = reinterpret_cast<cl_command_queue>(1);
    r.record("CL_EVENT_COMMAND_QUEUE user event",
             clGetEventInfo(gate, CL_EVENT_COMMAND_QUEUE, sizeof no_queue, &no_queue, nullptr));
    r.fact("user event has no queue", no_queue == nullptr);

    Event write;
    cl_event gate_event = gate;
    SETUP("clEnqueueWriteBuffer gated",
          clEnqueueWriteBuffer(d.queue, buffer, CL_FALSE, 0, bytes, source.data(), 1, &gate_event,
                               write.out()));
    SETUP("clFlush", clFlush(d.queue));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const cl_int before = event_status(write);
    r.fact("gated write complete before the user event", before == CL_COMPLETE);
    r.fact("gated write status valid before the user event",
           before == CL_QUEUED || before == CL_SUBMITTED || before == CL_RUNNING);

    SETUP("clSetUserEventStatus", clSetUserEventStatus(gate, CL_COMPLETE));
    guard.done();
    cl_event write_event = write;
    SETUP("clWaitForEvents", clWaitForEvents(1, &write_event));
    status_fact(r, "gated write after the user event", write);
    status_fact(r, "user event after set", gate);
    SETUP("clFinish", clFinish(d.queue));
    SETUP("clEnqueueReadBuffer", clEnqueueReadBuffer(d.queue, buffer, CL_TRUE, 0, bytes,
                                                     result.data(), 0, nullptr, nullptr));
    r.put("buffer", result);
    r.record("clSetUserEventStatus twice", clSetUserEventStatus(gate, CL_COMPLETE));

    Event second(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent second", err);
    r.record("clSetUserEventStatus CL_RUNNING", clSetUserEventStatus(second, CL_RUNNING));
    r.record("clSetUserEventStatus second", clSetUserEventStatus(second, CL_COMPLETE));
    return r;
}

ScenarioResult writes_behind_user_event(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    // 24 MiB of non-blocking writes wait for a user event the application sets afterwards:
    // whatever rgpu bounds (bytes in flight, staging), the command that opens the gate comes
    // behind them and must still get through.
    const size_t n = (1u << 20) / sizeof(cl_int), bytes = n * sizeof(cl_int);
    constexpr int kWrites = 24;
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes * kWrites, nullptr, &err));
    SETUP("clCreateBuffer", err);
    Event gate(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);
    UserEventGuard guard(gate, d.queue);
    std::vector<std::vector<cl_int>> sources(kWrites, std::vector<cl_int>(n));
    for (int w = 0; w < kWrites; ++w)
        for (size_t i = 0; i < n; ++i)
            sources[w][i] = static_cast<cl_int>(w * 1000003 + i);
    cl_event gate_event = gate;
    std::vector<Event> writes(kWrites);
    for (int w = 0; w < kWrites; ++w)
        SETUP("clEnqueueWriteBuffer gated",
              clEnqueueWriteBuffer(d.queue, buffer, CL_FALSE, w * bytes, bytes, sources[w].data(),
                                   1, &gate_event, writes[w].out()));
    SETUP("clFlush", clFlush(d.queue));
    r.fact("last write complete before the user event", event_status(writes.back()) == CL_COMPLETE);
    SETUP("clSetUserEventStatus", clSetUserEventStatus(gate, CL_COMPLETE));
    guard.done();
    SETUP("clFinish", clFinish(d.queue));
    status_fact(r, "last write after the user event", writes.back());
    std::vector<cl_int> result(n * kWrites, -1);
    SETUP("clEnqueueReadBuffer", clEnqueueReadBuffer(d.queue, buffer, CL_TRUE, 0, bytes * kWrites,
                                                     result.data(), 0, nullptr, nullptr));
    bool all = true;
    for (int w = 0; w < kWrites; ++w)
        all = all && std::equal(sources[w].begin(), sources[w].end(), result.begin() + w * n);
    r.fact("every write landed", all);
    return r;
}

ScenarioResult user_event_failure(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    std::vector<cl_int> source(16, 7);
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 64, nullptr, &err));
    SETUP("clCreateBuffer", err);
    Event gate(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);
    cl_event gate_event = gate;
    Event first, second;
    SETUP("clEnqueueWriteBuffer gated",
          clEnqueueWriteBuffer(d.queue, buffer, CL_FALSE, 0, 64, source.data(), 1, &gate_event,
                               first.out()));
    cl_event first_event = first;
    SETUP("clEnqueueMarkerWithWaitList after it",
          clEnqueueMarkerWithWaitList(d.queue, 1, &first_event, second.out()));
    SETUP("clFlush", clFlush(d.queue));
    // A failed user event fails everything waiting on it; the wait must return, not hang.
    SETUP("clSetUserEventStatus -1", clSetUserEventStatus(gate, -1));
    cl_event both[2] = {first, second};
    r.record("clWaitForEvents on failed commands", clWaitForEvents(2, both));
    r.fact("gated write failed", event_status(first) < 0);
    r.fact("marker behind it failed", event_status(second) < 0);
    r.record("clFinish after failure", clFinish(d.queue));
    return r;
}

ScenarioResult markers_and_barriers(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    cl_int err;
    Kernel kernel(clCreateKernel(program, "inc", &err));
    SETUP("clCreateKernel", err);
    const size_t n = 16, bytes = n * sizeof(cl_int);
    std::vector<cl_int> host(n, 0);
    Mem x(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, host.data(),
                         &err));
    SETUP("clCreateBuffer", err);
    cl_mem arg = x;
    SETUP("clSetKernelArg", clSetKernelArg(kernel, 0, sizeof arg, &arg));
    Event gate(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);
    UserEventGuard guard(gate, d.queue);

    Event marker, run, barrier, legacy_marker;
    cl_event gate_event = gate;
    SETUP("clEnqueueMarkerWithWaitList",
          clEnqueueMarkerWithWaitList(d.queue, 1, &gate_event, marker.out()));
    SETUP("clEnqueueNDRangeKernel",
          clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, run.out()));
    SETUP("clEnqueueBarrierWithWaitList",
          clEnqueueBarrierWithWaitList(d.queue, 0, nullptr, barrier.out()));
    SETUP("clFlush", clFlush(d.queue));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    r.fact("marker complete before the user event", event_status(marker) == CL_COMPLETE);
    r.fact("kernel complete before the user event", event_status(run) == CL_COMPLETE);
    r.fact("barrier complete before the user event", event_status(barrier) == CL_COMPLETE);
    SETUP("clSetUserEventStatus", clSetUserEventStatus(gate, CL_COMPLETE));
    guard.done();
    SETUP("clFinish", clFinish(d.queue));
    for (const auto& [name, event] :
         {std::pair{"marker", marker.get()}, {"kernel", run.get()}, {"barrier", barrier.get()}}) {
        status_fact(r, name, event);
        command_type_fact(r, name, event);
    }
    // The OpenCL 1.1 forms.
    SETUP("clEnqueueMarker", clEnqueueMarker(d.queue, legacy_marker.out()));
    SETUP("clEnqueueBarrier", clEnqueueBarrier(d.queue));
    // Not clEnqueueWaitForEvents: POCL 3.1 does not implement it and exits the process.
    SETUP("clEnqueueNDRangeKernel again",
          clEnqueueNDRangeKernel(d.queue, kernel, 1, nullptr, &n, nullptr, 0, nullptr, nullptr));
    SETUP("clEnqueueReadBuffer",
          clEnqueueReadBuffer(d.queue, x, CL_TRUE, 0, bytes, host.data(), 0, nullptr, nullptr));
    status_fact(r, "legacy marker", legacy_marker);
    command_type_fact(r, "legacy marker", legacy_marker);
    r.put("x", host);
    return r;
}

ScenarioResult migrate_mem_objects(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    const size_t n = 64, bytes = n * sizeof(cl_int);
    std::vector<cl_int> host(n);
    for (size_t i = 0; i < n; ++i)
        host[i] = static_cast<cl_int>(i * 7 + 3);
    Mem a(clCreateBuffer(d.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes, host.data(),
                         &err));
    SETUP("clCreateBuffer a", err);
    Mem b(clCreateBuffer(d.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer b", err);
    Event gate(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);
    UserEventGuard guard(gate, d.queue);

    cl_mem both[2] = {a, b};
    cl_event gate_event = gate;
    Event migrated, to_host, undefined;
    SETUP("migrate behind a user event",
          clEnqueueMigrateMemObjects(d.queue, 2, both, 0, 1, &gate_event, migrated.out()));
    SETUP("clFlush", clFlush(d.queue));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    r.fact("migration complete before the user event", event_status(migrated) == CL_COMPLETE);
    SETUP("clSetUserEventStatus", clSetUserEventStatus(gate, CL_COMPLETE));
    guard.done();
    SETUP("migrate to the host",
          clEnqueueMigrateMemObjects(d.queue, 1, both, CL_MIGRATE_MEM_OBJECT_HOST, 0, nullptr,
                                     to_host.out()));
    SETUP("migrate with contents undefined",
          clEnqueueMigrateMemObjects(d.queue, 1, &both[1],
                                     CL_MIGRATE_MEM_OBJECT_HOST |
                                         CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED,
                                     0, nullptr, undefined.out()));
    SETUP("clFinish", clFinish(d.queue));
    for (const auto& [name, event] : {std::pair{"migration", migrated.get()},
                                      {"migration to the host", to_host.get()},
                                      {"undefined migration", undefined.get()}}) {
        status_fact(r, name, event);
        command_type_fact(r, name, event);
    }
    // Contents survive a migration that keeps them.
    std::vector<cl_int> back(n, -1);
    SETUP("clEnqueueReadBuffer",
          clEnqueueReadBuffer(d.queue, a, CL_TRUE, 0, bytes, back.data(), 0, nullptr, nullptr));
    r.put("a", back);

    // Argument errors, one at a time.
    Device other;
    if (!open(r, platform, other)) return r;
    Mem foreign(clCreateBuffer(other.context, CL_MEM_READ_WRITE, bytes, nullptr, &err));
    SETUP("clCreateBuffer in another context", err);
    cl_mem with_foreign[2] = {a, foreign};
    cl_mem with_null[2] = {a, nullptr};
    cl_event null_event = nullptr;
    r.record("no queue", clEnqueueMigrateMemObjects(nullptr, 1, both, 0, 0, nullptr, nullptr));
    r.record("no objects", clEnqueueMigrateMemObjects(d.queue, 0, both, 0, 0, nullptr, nullptr));
    r.record("null list", clEnqueueMigrateMemObjects(d.queue, 1, nullptr, 0, 0, nullptr, nullptr));
    r.record("unknown flag",
             clEnqueueMigrateMemObjects(d.queue, 1, both, cl_mem_migration_flags(1) << 7, 0,
                                        nullptr, nullptr));
    r.record("null object",
             clEnqueueMigrateMemObjects(d.queue, 2, with_null, 0, 0, nullptr, nullptr));
    r.record("object of another context",
             clEnqueueMigrateMemObjects(d.queue, 2, with_foreign, 0, 0, nullptr, nullptr));
    r.record("null event in the wait list",
             clEnqueueMigrateMemObjects(d.queue, 1, both, 0, 1, &null_event, nullptr));
    r.record("wait list without events",
             clEnqueueMigrateMemObjects(d.queue, 1, both, 0, 1, nullptr, nullptr));
    SETUP("clFinish at the end", clFinish(d.queue));
    return r;
}

ScenarioResult reference_counts(cl_platform_id platform) {
    ScenarioResult r;
    Device d;
    if (!open(r, platform, d)) return r;
    cl_int err;
    Mem buffer(clCreateBuffer(d.context, CL_MEM_READ_WRITE, 256, nullptr, &err));
    SETUP("clCreateBuffer", err);
    Program program;
    if (!build(r, d, program, kTwiceSource, "")) return r;
    Kernel kernel(clCreateKernel(program, "inc", &err));
    SETUP("clCreateKernel", err);
    Event user(clCreateUserEvent(d.context, &err));
    SETUP("clCreateUserEvent", err);

    const auto counts = [&](const std::string& name, auto retain, auto release, auto query) {
        r.fact(name + " fresh", info_value<cl_uint>(r, name + " fresh", query));
        r.record(name + " retain", retain());
        r.fact(name + " after retain", info_value<cl_uint>(r, name + " after retain", query));
        r.record(name + " release", release());
        r.fact(name + " after release", info_value<cl_uint>(r, name + " after release", query));
    };
    counts(
        "CL_MEM_REFERENCE_COUNT", [&] { return clRetainMemObject(buffer); },
        [&] { return clReleaseMemObject(buffer); },
        [&](size_t s, void* v, size_t* rs) {
            return clGetMemObjectInfo(buffer, CL_MEM_REFERENCE_COUNT, s, v, rs);
        });
    counts(
        "CL_KERNEL_REFERENCE_COUNT", [&] { return clRetainKernel(kernel); },
        [&] { return clReleaseKernel(kernel); },
        [&](size_t s, void* v, size_t* rs) {
            return clGetKernelInfo(kernel, CL_KERNEL_REFERENCE_COUNT, s, v, rs);
        });
    counts(
        "CL_EVENT_REFERENCE_COUNT", [&] { return clRetainEvent(user); },
        [&] { return clReleaseEvent(user); },
        [&](size_t s, void* v, size_t* rs) {
            return clGetEventInfo(user, CL_EVENT_REFERENCE_COUNT, s, v, rs);
        });
    counts(
        "CL_QUEUE_REFERENCE_COUNT", [&] { return clRetainCommandQueue(d.queue); },
        [&] { return clReleaseCommandQueue(d.queue); },
        [&](size_t s, void* v, size_t* rs) {
            return clGetCommandQueueInfo(d.queue, CL_QUEUE_REFERENCE_COUNT, s, v, rs);
        });
    clSetUserEventStatus(user, CL_COMPLETE);
    return r;
}

} // namespace rgpu::e2e::scenarios
