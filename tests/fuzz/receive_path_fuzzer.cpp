// SPDX-License-Identifier: Apache-2.0
// libFuzzer target over a worker's receive path: a client message (frame record: envelope and
// bulk frames) is decoded and verified exactly as the worker does, checked against the
// session's limits, and dispatched into a live session that holds real objects on the local
// OpenCL device (a context, a queue, buffers, a built program, a kernel, a user event).
//
// Kernels are code the client runs by design, so the harness never lets an input build one:
// requests that compile code are skipped, and the session's one kernel has an empty body, so
// any launch is harmless. Everything else a client can send reaches its handler.
#include <decode.h>
#include <frame_record.h>
#include <protocol.h>

#include "devices.h"
#include "exec_context.h"
#include "outbox.h"
#include "session.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>

using namespace rgpu;
using namespace rgpu::daemon;

namespace {

/// The ids the seeded session's objects have (as in the recorded sessions, which start at 1).
constexpr uint64_t kContext = 1, kQueue = 2, kBuffer = 3, kProgram = 4, kKernel = 5, kUserEvent = 6,
                   kSmallBuffer = 7;
/// A fresh session every so many inputs, so state neither grows nor hides bugs for long.
constexpr uint64_t kInputsPerSession = 2000;

bool compiles_code(wire::Request type) {
    return type == wire::Request::BuildProgram || type == wire::Request::CreateProgramWithBinary ||
           type == wire::Request::CompileProgram || type == wire::Request::LinkProgram ||
           type == wire::Request::Goodbye; // ends the executor: the harness resets instead
}

class Harness {
  public:
    Harness() : devices_(discover_devices(false)) {
        spdlog::set_level(spdlog::level::off);
        if (devices_.empty()) {
            std::fprintf(stderr, "receive_path_fuzzer: no OpenCL device\n");
            std::abort();
        }
        reset();
    }

    void run(const uint8_t* data, size_t size) {
        if (++inputs_ % kInputsPerSession == 0 || stuck_since_reset()) reset();
        auto frames = proto::decode_record(data, size, limits_.max_frames);
        if (frames.empty()) return;
        proto::align_frame(frames[0]);
        auto decoded = proto::decode_client_message(frames[0].data(), frames[0].size());
        if (!decoded) return;
        // The worker's own checks before dispatch (worker_server.cpp, handle()).
        if (frames[0].size() > limits_.max_envelope_bytes) return;
        const auto* commands = decoded.message->commands();
        if (!commands || commands->size() == 0) return;
        for (const auto* command : *commands) {
            if (compiles_code(command->body_type()) ||
                command->body_type() == wire::Request::Attach)
                return;
            // A launch of 2^40 work-items is valid and merely slow: runaway work is the
            // worker process's to bound (rgpu-ctl kill), not the receive path's.
            if (const auto* launch = command->body_as_NDRangeKernel(); launch && launch->global()) {
                uint64_t items = 1;
                for (uint64_t g : *launch->global())
                    items = g > (1u << 16) || items * g > (1u << 16) ? (1u << 17) : items * g;
                if (items > (1u << 16)) return;
            }
        }
        // Every input runs as new commands of the session: recorded sequence numbers are
        // whatever the recorded session used.
        session_->executed_seq = 0;
        WorkItem item{std::move(frames), nullptr, 0, 0, nullptr, nullptr};
        item.message = flatbuffers::GetRoot<wire::ClientMessage>(item.frames[0].data());
        {
            // While the input runs, completions are finished as the worker's I/O thread would
            // (which sends read data out and so frees staging room): a transfer waiting for
            // room is freed by the device's progress, not by its patience running out.
            IoStandIn io(*this);
            session_->run_now(item);
        }
        settle();
    }

  private:
    /// Finishes completion records (payload dropped, as once sent) until destroyed.
    class IoStandIn {
      public:
        explicit IoStandIn(Harness& h)
            : harness_(h), thread_([this] {
                  while (!stop_.load()) {
                      harness_.finish_completions();
                      std::this_thread::sleep_for(std::chrono::microseconds(200));
                  }
              }) {}
        ~IoStandIn() {
            stop_.store(true);
            thread_.join();
        }

      private:
        Harness& harness_;
        std::atomic<bool> stop_{false};
        std::thread thread_;
    };

    void finish_record(CompletionRecord& record) {
        session_->untrack(&record);
        record.drop_payload();
    }
    void finish_completions() {
        for (auto& item : outbox_.drain())
            if (auto* c = std::get_if<Outbox::Completion>(&item)) finish_record(*c->record);
    }

    /// Lets what the input queued finish and finishes its records as the I/O thread would.
    void settle() {
        // Commands gated on a user event the input never set would wait forever: set them.
        session_->release_user_events(CL_COMPLETE);
        // Not clFinish: POCL's never returns for a queue holding a command that failed through
        // a failed user event. A marker per queue reaches a final status either way.
        std::vector<cl_event> markers;
        session_->objects.for_each([&](uint64_t, Object& object) {
            auto* q = std::get_if<QueueObject>(&object);
            cl_event marker = nullptr;
            if (q &&
                clEnqueueMarkerWithWaitList(q->queue.get(), 0, nullptr, &marker) == CL_SUCCESS) {
                clFlush(q->queue.get());
                markers.push_back(marker);
            }
        });
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
        for (cl_event m : markers) {
            cl_int status = CL_QUEUED;
            while (std::chrono::steady_clock::now() < deadline) {
                clGetEventInfo(m, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                               nullptr);
                if (status <= CL_COMPLETE) break;
                std::this_thread::yield();
            }
            // A failed marker: its queue cannot be finished natively. One still pending: the
            // input built a dependency POCL never resolves. Either way the session is retired
            // (the worker process would exit); what it did until here was checked.
            if (status != CL_COMPLETE) wedged_ = true;
            if (status > CL_COMPLETE) ++stuck_;
            clReleaseEvent(m);
        }
        // Finish records as WorkerServer::complete does: untracked, payload dropped.
        auto finish = [&](CompletionRecord& record) { finish_record(record); };
        finish_completions();
        for (auto& failed : session_->sweep_failed())
            if (outbox_.claim(*failed)) finish(*failed);
        session_->objects.for_each([&](uint64_t id, Object& object) {
            if (std::holds_alternative<QueueObject>(object))
                for (auto& done : session_->sweep_completed(id))
                    if (outbox_.claim(*done)) finish(*done);
        });
    }

    void reset() {
        if (session_ && wedged_) {
            // Its teardown would wait forever in POCL (see settle): keep it, unreleased and
            // reachable, as the worker process would simply exit.
            graveyard_.push_back(std::move(session_));
        } else if (session_) {
            session_->close();
            session_.reset();
        }
        outbox_.drain();
        wedged_ = false;
        stuck_at_reset_ = stuck_;
        if (graveyard_.size() % 16 == 1)
            std::fprintf(stderr, "receive_path_fuzzer: %zu sessions retired, %llu stuck\n",
                         graveyard_.size(), static_cast<unsigned long long>(stuck_));
        limits_.max_objects = 256;
        limits_.max_device_memory = 64u << 20;
        limits_.max_staging = 16u << 20;
        session_ = std::make_unique<Session>(0x5eed, "fuzzer", devices_, outbox_, limits_);
        seed();
    }

    /// Objects every input may name, created through the handlers themselves.
    void seed() {
        flatbuffers::FlatBufferBuilder fbb;
        std::vector<flatbuffers::Offset<wire::Command>> commands;
        auto add = [&]<class T>(flatbuffers::Offset<T> offset) {
            const wire::Request type = wire::RequestTraits<T>::enum_value;
            commands.push_back(wire::CreateCommand(fbb, type, offset.Union(), false));
        };
        std::vector<uint32_t> device{0};
        add(wire::CreateCreateContext(fbb, kContext, fbb.CreateVector(device)));
        add(wire::CreateCreateQueue(fbb, kQueue, kContext, 0, 0));
        add(wire::CreateCreateBuffer(fbb, kBuffer, kContext, CL_MEM_READ_WRITE, 4096));
        add(wire::CreateCreateBuffer(fbb, kSmallBuffer, kContext, CL_MEM_READ_WRITE, 16));
        add(wire::CreateCreateProgramWithSource(
            fbb, kProgram, kContext,
            fbb.CreateString("__kernel void k(__global int* p, int v, __local int* l) {}")));
        add(wire::CreateBuildProgram(fbb, kProgram));
        add(wire::CreateCreateKernel(fbb, kKernel, kProgram, fbb.CreateString("k")));
        add(wire::CreateCreateUserEvent(fbb, kUserEvent, kContext));
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, 0x5eed, 1,
                                             fbb.CreateVector(commands)),
                   proto::kFileIdentifier);
        WorkItem item;
        item.frames.emplace_back(fbb.GetBufferPointer(), fbb.GetSize());
        proto::align_frame(item.frames[0]);
        item.message = flatbuffers::GetRoot<wire::ClientMessage>(item.frames[0].data());
        session_->run_now(item);
        outbox_.drain();
        if (session_->objects.size() != 7) {
            std::fprintf(stderr, "receive_path_fuzzer: seeding the session failed (%zu objects)\n",
                         session_->objects.size());
            std::abort();
        }
    }

    std::vector<LocalDevice> devices_;
    Outbox outbox_;
    SessionLimits limits_;
    std::unique_ptr<Session> session_;
    std::vector<std::unique_ptr<Session>> graveyard_;
    bool wedged_ = false;
    uint64_t stuck_ = 0, stuck_at_reset_ = 0;
    bool stuck_since_reset() const { return stuck_ != stuck_at_reset_; }
    uint64_t inputs_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Harness* harness = new Harness(); // never destroyed: libFuzzer exits the process
    harness->run(data, size);
    return 0;
}
