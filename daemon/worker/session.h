// SPDX-License-Identifier: Apache-2.0
// One client process's state on this daemon: its objects and the executor that runs its commands.
#pragma once

#include "devices.h"
#include "log_limiter.h"
#include "object_table.h"
#include "outbox.h"
#include "pool.h"
#include "replay_log.h"
#include "session_limits.h"
#include "staging_budget.h"

#include <protocol.h>
#include <rgpu/wire/messages_generated.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

class CheckpointWriter;

/// A piece of a buffer fetched from another daemon's worker (peer_transfers.h), to be written
/// at `offset` of buffer `mem` on `queue` in order with the session's commands.
struct ImportPiece {
    uint64_t token = 0;
    uint64_t queue = 0;
    uint64_t mem = 0;
    uint64_t offset = 0;
    zmq::message_t data;
};

/// A verified client message on its way to the executor; `message` points into frames[0].
struct WorkItem {
    std::vector<zmq::message_t> frames;
    const wire::ClientMessage* message = nullptr;
    /// Credit the message took when it was admitted, returned when the executor takes it up.
    uint64_t credit_commands = 0;
    uint64_t credit_bytes = 0;
    /// Not a message: a save of the session while it goes on (Session::save_in_place).
    std::shared_ptr<CheckpointWriter> save;
    /// Not a message: a piece of an import to write.
    std::shared_ptr<ImportPiece> piece;
};

class Session {
  public:
    Session(uint64_t id, std::string client, const std::vector<LocalDevice>& devices,
            Outbox& outbox, SessionLimits limits);
    ~Session(); ///< Joins the executor; call close() first and wait for finished().
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    uint64_t id() const { return id_; }
    const std::string& client() const { return client_; }
    const SessionLimits& limits() const { return limits_; }

    /// I/O thread: hands a verified batch to the executor, or runs it at once when the executor
    /// is idle and the batch cannot block (runs in order either way).
    void submit(WorkItem item);
    /// Runs a verified batch on the calling thread, in order with everything else (it takes the
    /// execution lock). For the receive-path fuzzer, which needs each input done on return.
    void run_now(WorkItem& item) {
        std::lock_guard lock(exec_mutex_);
        execute(item);
    }
    /// Any thread: asks the executor to drain, release every object and stop.
    void close();
    /// I/O thread: the executor runs everything received, finishes every queue, saves the
    /// session into `writer`, then releases everything and stops (finished() as after close()).
    /// checkpoint_error() is empty once finished if the objects were saved.
    void checkpoint(std::shared_ptr<CheckpointWriter> writer);
    bool checkpointing() const { return checkpoint_ != nullptr; }
    /// I/O thread: after everything submitted so far, the executor finishes every queue and
    /// saves the session's objects into `writer`; the session goes on. The I/O thread submits
    /// nothing meanwhile (it holds messages back) and finishes the save once saved_in_place().
    void save_in_place(std::shared_ptr<CheckpointWriter> writer);
    /// Whether the save asked for last has run (and `error` why it failed, else empty).
    bool saved_in_place(std::string* error);
    const std::shared_ptr<CheckpointWriter>& checkpoint_writer() const { return checkpoint_; }
    /// Valid once finished().
    const std::string& checkpoint_error() const { return checkpoint_error_; }
    /// Runs `f` with the execution lock held (restoring a checkpoint before anything runs).
    template <class F> auto exclusive(F&& f) {
        std::lock_guard lock(exec_mutex_);
        return f();
    }
    /// True once the executor has released everything and exited.
    bool finished() const { return finished_.load(); }
    /// True once the client said Goodbye (set by the executor).
    bool closing() const { return closing_.load(); }
    /// True once close() was called or the client said Goodbye.
    bool ending() const { return closing() || close_requested_.load(); }

    /// Buffers move straight to and from other daemons' workers (--no-direct-moves unset).
    /// Set before the session runs anything.
    bool direct_moves = true;
    static constexpr const char* kNoDirectMoves =
        "this daemon moves no buffer straight to or from another daemon (--no-direct-moves)";

    // --- I/O thread state: routing and liveness. ---
    /// The client's connection; empty while released (nothing is sent, everything is kept).
    std::string routing_id;
    /// Numbered messages the client has not reported received: sent again after a reconnect.
    ReplayLog replay;
    uint64_t next_recv_seq = 1; ///< Sequence number the next command must carry.
    std::chrono::steady_clock::time_point last_seen;
    /// Acks: the executor's progress as the I/O thread knows it, and what the client was told.
    /// Acks ride on other messages; an ack-only message goes out only when they fall far behind
    /// (in commands or in bytes), or while the client waits for credit.
    uint64_t ack_known = 0;
    uint64_t ack_sent = 0;
    uint64_t retired_bytes_sent = 0; ///< retired_bytes() when the last ack went out
    /// The client asked for an ack (an empty message) while commands were still running: each
    /// ack goes out as soon as it is known until everything received has run.
    bool ack_wanted = false;
    /// The ack to put on an outgoing message: notes what the client will know. It covers the
    /// command the executor has started too: a notice or reply this message carries may be that
    /// command's, and once the client sees it the client must not keep (or ever resend) the
    /// command's data, which may be application memory it is now free to reuse. Commands run
    /// in order and a started one is never run again, so the ack is true.
    uint64_t ack_for_send() {
        ack_known = std::max(ack_known, started_seq_.load(std::memory_order_acquire));
        ack_sent = ack_known;
        retired_bytes_sent = retired_bytes();
        if (ack_known + 1 >= next_recv_seq) ack_wanted = false;
        return ack_known;
    }

    // --- Credit (flow control): received messages the executor has not taken up yet. ---
    /// I/O thread: counts a received message; false when it exceeds the session's credit (the
    /// client sends only when nothing is in flight or the message fits, so an honest client
    /// never gets false: the worker retires credit before the client can learn of it).
    bool admit(uint64_t commands, uint64_t bytes);
    /// Bytes of messages the executor has taken up since the session began.
    uint64_t retired_bytes() const { return retired_bytes_.load(std::memory_order_relaxed); }
    /// What the session holds, for the operator's listing (any thread; a snapshot the executor
    /// refreshes after each message).
    struct Holdings {
        uint32_t objects = 0;
        uint64_t device_bytes = 0;
        uint64_t commands_in_flight = 0;
        uint64_t bytes_in_flight = 0;
        bool operator==(const Holdings&) const = default;
    };
    Holdings holdings() const {
        return {static_cast<uint32_t>(objects_held_.load(std::memory_order_relaxed)),
                device_bytes_held_.load(std::memory_order_relaxed), backlog_commands_.load(),
                backlog_bytes_.load()};
    }

    // --- Shared between the executor (adds) and the I/O thread (sweeps). ---
    /// Every watched record stays tracked until it is finished.
    void track(const std::shared_ptr<CompletionRecord>& record);
    void untrack(CompletionRecord* record);
    /// Tracked records of `queue` whose command is complete or failed natively (a Finish sweeps
    /// them so their notices precede its reply).
    std::vector<std::shared_ptr<CompletionRecord>> sweep_completed(uint64_t queue);
    /// Tracked records whose command failed: their callbacks may never come.
    std::vector<std::shared_ptr<CompletionRecord>> sweep_failed();

    // --- Executor state (handlers run on the executor thread only). ---
    ObjectTable objects;
    const std::vector<LocalDevice>& devices;
    Outbox& outbox;
    /// The pooled device's placement and member threads (null when no device is pooled).
    std::unique_ptr<DevicePool> pool;
    /// A sub-device the client made (clCreateSubDevices): named proto::kSubDeviceBase plus its
    /// position here, and how it was made (a checkpoint makes it again). Its native device is
    /// retained until the session ends.
    struct SubDevice {
        LocalDevice device;
        uint32_t parent = 0;
        std::vector<int64_t> properties;
        uint32_t position = 0; ///< Among the devices its partition made.
    };
    std::vector<SubDevice> sub_devices;
    /// The device requests name `index` (served or a sub-device); null if there is none.
    const LocalDevice* device(uint64_t index) const {
        if (index < devices.size()) return &devices[index];
        if (index >= proto::kSubDeviceBase && index - proto::kSubDeviceBase < sub_devices.size())
            return &sub_devices[index - proto::kSubDeviceBase].device;
        return nullptr;
    }
    /// The native devices device `index` stands for (a pool's members, else itself).
    std::vector<cl_device_id> native_devices(uint32_t index) const {
        const LocalDevice& d = *device(index);
        return d.pooled() ? d.members : std::vector<cl_device_id>{d.device};
    }
    /// The device a native device is to the client (a pool member: the pool); -1 if none.
    int64_t served_index(cl_device_id native) const {
        for (const auto& d : devices)
            if (d.device == native ||
                std::find(d.members.begin(), d.members.end(), native) != d.members.end())
                return d.index;
        for (const auto& sub : sub_devices)
            if (sub.device.device == native) return sub.device.index;
        return -1;
    }
    /// The native queue for a command the executor enqueues itself. On the pooled device the
    /// member's thread first enqueues everything handed to it: the queue keeps its order.
    cl_command_queue native(QueueObject& queue) {
        if (queue.pooled) pool->thread(queue.member).settle();
        return queue.queue.get();
    }
    /// Marks `mem` as written by a command on `queue` (where its newest contents now are).
    void written_by(const QueueObject& queue, MemObject& mem) {
        if (queue.pooled) pool->written_on(mem, queue.member);
    }
    /// Client events that failed before reaching the device, with their status.
    std::unordered_map<uint64_t, cl_int> failed_events;
    /// User events the client released before setting them: commands may still wait on them,
    /// so teardown must be able to set them (else draining the queues would never end).
    std::vector<EventRef> orphaned_user_events;
    /// Sets every unset user event of the session (held or orphaned) to `status`.
    void release_user_events(cl_int status);
    /// True while a user event of the session is unset: commands may wait for the client.
    bool awaits_client_events();
    /// How long a transfer may wait for staging room (see StagingBudget) before overdrawing.
    std::chrono::milliseconds staging_patience();
    /// The wait while only the device's progress (and the I/O thread's sending) can make room.
    /// (In the fuzzer no I/O thread sends staged data during an input, so such a wait lasts it
    /// out: fuzz.sh allows inputs 90 s.)
    std::chrono::milliseconds device_patience{60000};
    /// Native events of the earlier chunks of a chunked write, awaited by its last chunk.
    std::vector<EventRef> write_chunks;
    uint64_t executed_seq = 0; ///< Highest sequence number executed.
    /// A restored session continues from `executed` (before anything runs).
    void restore_progress(uint64_t executed) {
        executed_seq = executed;
        started_seq_.store(executed);
        ack_known = executed;
    }
    /// Bytes of the session's live buffers, and the most they may hold (the configured limit,
    /// else the largest served device's global memory).
    uint64_t device_bytes = 0;
    uint64_t device_quota = 0;
    /// The session's SVM allocations by address (to their object ids): what an address the
    /// client sends may point into.
    std::map<uint64_t, uint64_t> svm_ranges;
    /// Why the session cannot be saved (checkpointed or moved); empty when it can. Any thread.
    std::string unsaveable() const { return used_svm_.load() ? kSvmNotSaved : std::string(); }
    static constexpr const char* kSvmNotSaved =
        "the session uses SVM memory: its addresses could not be had again after a restore";
    /// Executor: the session allocated SVM memory (from then on it cannot be saved).
    void note_svm_use() { used_svm_.store(true); }
    /// The SVM allocation holding all of [address, address + size), or null.
    SvmObject* svm_at(uint64_t address, uint64_t size) {
        auto it = svm_ranges.upper_bound(address);
        if (it == svm_ranges.begin()) return nullptr;
        --it;
        SvmObject* svm = objects.find<SvmObject>(it->second);
        if (!svm) return nullptr;
        uint64_t offset = address - it->first;
        return offset <= svm->size && size <= svm->size - offset ? svm : nullptr;
    }
    /// Host memory of read data on its way to the client (shared with ZeroMQ's free functions).
    std::shared_ptr<StagingBudget> staging;
    /// clFlush for every queue that got commands since the last flush.
    void flush_dirty_queues();
    /// Logs (rate-limited) that a transfer overdrew the staging budget after waiting `waited`.
    void warn_overdrawn(std::chrono::milliseconds waited);
    /// Notes that `queue` got commands; it is flushed once at the end of the batch.
    void mark_dirty(uint64_t id, QueueObject& queue) {
        if (!queue.dirty) {
            queue.dirty = true;
            dirty_queues_.push_back(id);
        }
    }
    void mark_closing() { closing_.store(true); }

  private:
    template <class Visit> void for_each_unset_user_event(Visit&& visit);
    void run();
    void execute(WorkItem& item);
    void teardown();

    const uint64_t id_;
    const std::string client_;
    const SessionLimits limits_;
    LogLimiter warn_log_; // executor only

    std::mutex
        exec_mutex_; // held by whoever runs this session's commands (order: after work_mutex_)
    std::mutex work_mutex_;
    std::condition_variable work_cv_;
    std::deque<WorkItem> work_; // guarded by work_mutex_
    bool stop_ = false;         // guarded by work_mutex_

    std::mutex tracked_mutex_;
    std::unordered_map<CompletionRecord*, std::shared_ptr<CompletionRecord>>
        tracked_; // guarded by tracked_mutex_

    std::vector<uint64_t> dirty_queues_; // executor only

    /// The command the executor is running or has run last (see ack_for_send).
    std::atomic<uint64_t> started_seq_{0};
    /// Credit in use: commands and bytes admitted, not yet taken up by the executor.
    std::atomic<uint64_t> backlog_commands_{0};
    std::atomic<uint64_t> backlog_bytes_{0};
    std::atomic<uint64_t> retired_bytes_{0};
    std::atomic<uint64_t> objects_held_{0};
    std::atomic<uint64_t> device_bytes_held_{0};

    std::shared_ptr<CheckpointWriter> checkpoint_; // set before stop_, read by the executor
    std::string checkpoint_error_;                 // executor, then read once finished
    /// Finishes every queue and saves the objects into `writer`; empty, or why not.
    std::string save_objects(CheckpointWriter& writer);
    std::mutex in_place_mutex_;
    bool in_place_done_ = false; // guarded by in_place_mutex_
    std::string in_place_error_; // guarded by in_place_mutex_

    std::atomic<bool> used_svm_{false};
    std::atomic<bool> closing_{false};
    std::atomic<bool> close_requested_{false};
    std::atomic<bool> finished_{false};
    std::thread executor_;
};

} // namespace rgpu::daemon
