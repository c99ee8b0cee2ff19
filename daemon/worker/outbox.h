// SPDX-License-Identifier: Apache-2.0
// Everything that flows to the daemon's I/O thread from other threads: replies built by
// executors, acks, and native event completions reported by OpenCL callbacks.
#pragma once

#include "native.h"

#include <notifier.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

/// What the daemon must do when one native event completes. Created by an executor,
/// finished by the I/O thread; the OpenCL callback only moves it into the outbox.
struct CompletionRecord {
    /// Export: a buffer read for another daemon's worker to fetch (peer_transfers.h);
    /// ImportPiece: a piece fetched from another daemon, written into its buffer.
    enum class Kind { Plain, Read, Finish, Export, ImportPiece };
    Kind kind = Kind::Plain;
    uint64_t session = 0;
    uint64_t queue = 0;
    uint64_t client_event = 0; ///< 0 = no client-visible event.
    uint64_t reply_seq = 0;    ///< Read and Finish answer this command.
    bool profiling = false;
    EventRef native;
    /// Read destination (sent back as a bulk frame once the read completes).
    zmq::message_t data;
    /// What must outlive the native command (a write's source data and its staging charge).
    std::shared_ptr<void> source;
    uint64_t read_offset = 0;
    /// Export and ImportPiece: the transfer's token; Export: the client's notice-only event.
    uint64_t token = 0;
    uint64_t transfer_event = 0;
    /// Export: the whole buffer's size (the piece is at read_offset); ImportPiece: the piece's.
    uint64_t transfer_bytes = 0;

    /// Set by whoever finishes the record first: its callback, or a sweep of the I/O thread
    /// (POCL never calls CL_COMPLETE callbacks of commands that fail, so sweeps find those).
    std::atomic<bool> finished{false};
    /// Frees the data the record carries once it is finished: a callback that never comes keeps
    /// the record itself alive, and must not keep megabytes (or staging budget) with it.
    void drop_payload() {
        data = zmq::message_t();
        source.reset();
    }
};

/// The command's execution status as the native runtime reports it now (CL_QUEUED if unknown).
cl_int native_status(const CompletionRecord& record);

class Outbox {
  public:
    struct Message {
        uint64_t session;
        std::vector<zmq::message_t> frames; ///< frame 0 is a finished DaemonMessage
    };
    struct Completion {
        std::shared_ptr<CompletionRecord> record;
        cl_int status;
    };
    /// A client event that failed before reaching the device.
    struct FailedEvent {
        uint64_t session;
        uint64_t event;
        cl_int status;
    };
    struct Ack {
        uint64_t session;
        uint64_t seq;
    };
    /// An import the executor accepted (ImportBuffer): the I/O thread fetches it.
    struct Import {
        uint64_t session;
        uint64_t token;
        uint64_t queue;
        uint64_t mem;
        uint64_t size;
        uint64_t event;
        std::string from;
        uint64_t from_session;
        std::string from_key;
    };
    using Item = std::variant<Message, Completion, FailedEvent, Ack, Import>;

    /// Safe from any thread.
    void push(Item item);
    /// I/O thread only: takes everything queued so far.
    std::vector<Item> drain();
    int fd() const { return notifier_.fd(); }
    /// Wakes the I/O thread without an item (used by the signal handler path).
    void wake() { notifier_.signal(); }

    /// Arranges for `record` to come back through this outbox when its native event completes.
    /// If no callback can be set, waits for the command here and queues the completion now.
    void watch(const std::shared_ptr<CompletionRecord>& record);
    /// True for the one caller that gets to finish `record` (callback or sweep).
    bool claim(CompletionRecord& record);
    /// Records not finished yet; the daemon waits for zero before exiting.
    size_t outstanding() const { return outstanding_.load(); }
    /// Whether anything is queued, without taking the lock (for the I/O thread's short spin).
    bool has_items() const { return has_items_.load(std::memory_order_acquire); }

    Outbox() = default;
    ~Outbox(); ///< Frees the callback arguments of callbacks that never came.
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

  private:
    struct CallbackArg;
    static void CL_CALLBACK on_complete(cl_event, cl_int status, void* user_data);

    Notifier notifier_;
    std::mutex mutex_;
    std::vector<Item> items_; // guarded by mutex_
    std::atomic<size_t> outstanding_{0};
    /// Arguments of callbacks set and not yet called: POCL never calls them for commands that
    /// fail, so they are owned here and freed at the end, not leaked.
    std::mutex args_mutex_;
    std::unordered_set<CallbackArg*> args_; // guarded by args_mutex_
    std::atomic<bool> has_items_{false};
};

} // namespace rgpu::daemon
