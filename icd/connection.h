// SPDX-License-Identifier: Apache-2.0
// One daemon connection: the session, the batched command stream, replies and pushed completions.
//
// Threads: application threads encode commands into the current batch (under send_mutex_) and
// wake the I/O thread through an eventfd; only the I/O thread touches the DEALER socket after
// the handshake. Replies are matched by sequence number and wake exactly the waiting thread.
#pragma once

#include "callback_runner.h"
#include "lifetime.h"
#include "objects.h"

#include <curve.h>
#include <notifier.h>
#include <protocol.h>
#include <rgpu/wire/messages_generated.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

namespace rgpu::icd {

/// A request body ready to be wrapped in a Command.
using Body = std::pair<wire::Request, flatbuffers::Offset<void>>;
template <class T> Body body(flatbuffers::Offset<T> offset) {
    // Read the value into a local: binding the static member to a reference would ODR-use it,
    // and flatc declares it without a definition.
    const wire::Request type = wire::RequestTraits<T>::enum_value;
    return {type, offset.Union()};
}

/// Frames a received message arrived in; replies point into frame 0.
using Received = std::shared_ptr<std::vector<zmq::message_t>>;

/// A command whose answer someone waits for (a blocking call) or whose data must land
/// somewhere (a read, blocking or not).
struct Call {
    enum class Kind { Reply, Read };
    Kind kind = Kind::Reply;
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;              // guarded by mutex
    std::atomic<bool> ready{false}; ///< `done`, readable without the mutex (for spinning)
    cl_int status = 0;              // valid once done
    Received message;               // Reply: keeps `reply` valid
    const wire::Reply* reply = nullptr;
    // Read (touched by the I/O thread only until done):
    uint8_t* destination = nullptr;
    HostLayout layout; ///< An image read: where its packed rows go at `destination`.
    uint64_t size = 0;
    uint64_t remaining = 0;
    Event* event = nullptr; ///< Held by this call until the data has landed.
};

/// What a blocking call returns: the status and, on success, the reply (valid while `message`).
struct Answer {
    cl_int status = CL_SUCCESS;
    Received message;
    const wire::Reply* reply = nullptr;
};

struct RemoteDevice {
    uint32_t index = 0;
    std::map<cl_uint, std::vector<uint8_t>> info;
};

class Connection {
  public:
    /// `server_key`: the daemon's own CurveZMQ public key (RGPU_SERVERS `ENDPOINT|KEY`); empty:
    /// RGPU_SERVER_KEY's, or plain connections without it.
    explicit Connection(std::string endpoint, std::string server_key = {});
    ~Connection(); ///< Says Goodbye (bounded) and joins the I/O thread.
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Handshake with the daemon's supervisor, then Attach to the session's worker, both
    /// bounded by `timeout`; on success starts the I/O thread. Call once.
    bool open(std::chrono::milliseconds timeout);
    const std::vector<RemoteDevice>& devices() const { return devices_; }

    /// Object ids are chosen by the client, so creating an object never waits for the daemon.
    /// They are unique in the process: an object of a context spanning daemons has the same id
    /// on each of them.
    static uint64_t new_id() {
        static std::atomic<uint64_t> next{1};
        return next.fetch_add(1);
    }

    /// Queues a command without waiting. `build(fbb, first_frame)` encodes the body; bulk
    /// frames are numbered from first_frame.
    template <class Build> void post(Build&& build, std::vector<zmq::message_t> bulk = {}) {
        append(std::forward<Build>(build), bulk, false, nullptr);
    }
    /// Queues a command and waits for its reply. Costs one round trip.
    template <class Build> Answer call(Build&& build, std::vector<zmq::message_t> bulk = {}) {
        auto c = std::make_shared<Call>();
        append(std::forward<Build>(build), bulk, true, c);
        return wait(*c);
    }
    /// Queues a command whose reply the caller waits for later (`wait`): replies from several
    /// daemons are awaited together.
    template <class Build> std::shared_ptr<Call> ask(Build&& build) {
        auto c = std::make_shared<Call>();
        std::vector<zmq::message_t> none;
        append(std::forward<Build>(build), none, true, c);
        return c;
    }
    /// Queues a read whose chunks land in `destination`; returns the call to wait on (or not).
    /// `layout` (images) scatters the packed data into rows at `destination`.
    template <class Build>
    std::shared_ptr<Call> read(Build&& build, void* destination, uint64_t size, Event* event,
                               const HostLayout& layout = {}) {
        auto c = std::make_shared<Call>();
        c->kind = Call::Kind::Read;
        c->destination = static_cast<uint8_t*>(destination);
        c->layout = layout;
        c->size = c->remaining = size;
        c->event = event;
        if (event) {
            hold(event);                // dropped once the data has landed
            ++event->pending_transfers; // before the command can be answered
        }
        std::vector<zmq::message_t> none;
        append(std::forward<Build>(build), none, false, c);
        return c;
    }
    static Answer wait(Call& call);
    /// The application dropped its last reference to object `id`.
    void post_release(uint64_t id) {
        post([id](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateRelease(fbb, id));
        });
    }

    /// The event's completion will arrive as a notice: keep it alive until then.
    void track_event(Event* event);
    /// Sends whatever is batched now (clFlush; blocking calls do this implicitly).
    void flush() { notifier_.signal(); }
    /// Blocks until every event in `events` is complete or failed.
    void wait_events(const std::vector<Event*>& events);
    /// Wakes event waiters after a status change made outside the I/O thread (user events).
    void notify_event_waiters();
    bool broken() const { return broken_.load(); }
    /// Counts `bytes` of a new buffer against the session's device memory quota (announced in
    /// Welcome); false, counting nothing, when it would exceed it. Any thread.
    bool reserve_device_memory(uint64_t bytes) {
        uint64_t used = device_bytes_.load();
        do {
            if (max_device_memory_ &&
                bytes > max_device_memory_ - std::min(used, max_device_memory_))
                return false;
        } while (!device_bytes_.compare_exchange_weak(used, used + bytes));
        return true;
    }
    void release_device_memory(uint64_t bytes) { device_bytes_.fetch_sub(bytes); }
    /// The largest bulk frame the session's worker accepts (from Welcome).
    size_t max_bulk_frame_bytes() const { return max_bulk_frame_bytes_; }
    /// The largest program source the worker accepts (in bulk frames of one message).
    size_t max_source_bytes() const {
        return std::min<size_t>(proto::kMaxSourceFrames, max_frames_ - 1) * max_bulk_frame_bytes_;
    }
    /// The most bytes one command should carry inside its envelope (a quarter of the limit, so
    /// the batch around it fits too).
    size_t max_inline_bytes() const { return max_envelope_bytes_ / 4; }
    /// The size transfers are cut into: pipelining's chunk, or less if the worker says so.
    size_t transfer_chunk_bytes() const {
        return std::min(proto::kTransferChunkBytes, max_bulk_frame_bytes_);
    }
    /// An error a fire-and-forget command met on the daemon, reported once.
    cl_int take_async_error() { return async_error_.exchange(CL_SUCCESS); }

    /// cl_rgpu_session: sends what is queued, drops the connections, keeps the session (the
    /// daemon goes on executing). Commands queue up meanwhile. Any thread; returns once done.
    void detach() { (void)request(Control::Detach); }
    /// Connects again and resumes the session: CL_SUCCESS once it is back, CL_OUT_OF_RESOURCES
    /// if it cannot be (then everything outstanding has failed with it). Any thread.
    cl_int attach_again() { return request(Control::Attach); }
    /// Where another daemon's worker reaches this session's worker (direct buffer moves): its
    /// endpoint as this client reaches it, the session, the daemon's CurveZMQ key (or empty).
    struct PeerAddress {
        std::string endpoint;
        uint64_t session = 0;
        std::string server_key;
    };
    PeerAddress peer_address() const {
        std::lock_guard lock(peer_mutex_);
        return {peer_endpoint_, session_, curve_ ? curve_->server_key : std::string()};
    }
    /// Times the session got its connection back after losing it (for tests and logs).
    uint64_t reconnects() const { return reconnects_.load(); }

  private:
    using Deadline = std::chrono::steady_clock::time_point;
    enum class Control { None, Detach, Attach };
    /// Hands a detach or attach to the I/O thread and waits for its result.
    cl_int request(Control what);
    /// I/O thread: carries out a waiting request (an attach finishes when the reconnect does).
    void take_control_request();
    void finish_control(uint64_t ticket, cl_int result);
    /// I/O thread: closes the connections (letting what was sent leave) and leaves a fresh,
    /// unconnected worker socket.
    void drop_connections();
    /// How a handshake step ended: an answer, a definite no (the session is gone), or nothing
    /// in time (try again).
    enum class Exchange { Answered, Refused, NoAnswer, Moved };
    struct Outgoing {
        std::vector<zmq::message_t> frames;
        uint64_t first_seq = 0;
        uint64_t last_seq = 0;
        uint64_t received_seq = 0; ///< what the message tells the worker this client received
        size_t bytes() const {
            size_t n = 0;
            for (auto& f : frames)
                n += f.size();
            return n;
        }
    };

    template <class Build>
    void append(Build&& build, std::vector<zmq::message_t>& bulk, bool want_reply,
                std::shared_ptr<Call> call) {
        bool wake;
        std::shared_ptr<Call> refused;
        {
            std::lock_guard lock(send_mutex_);
            size_t bytes = 0;
            for (auto& m : bulk)
                bytes += m.size();
            // A batch carries at most about one chunk of bulk data, so chunks pipeline; and it
            // never exceeds what the worker accepts (frames, envelope bytes), so a valid program
            // cannot produce a message the daemon must refuse.
            // Nor half of a credit, so a batch goes while the one before it runs.
            if (!commands_.empty() &&
                ((bytes && batch_bulk_ + bytes > proto::kBatchBulkBytes) ||
                 1 + bulk_.size() + bulk.size() > max_frames_ ||
                 fbb_.GetSize() > max_envelope_bytes_ / 2 || commands_.size() >= batch_commands_ ||
                 fbb_.GetSize() + batch_bulk_ + bytes > batch_bytes_))
                seal_locked();
            wake = commands_.empty();
            uint64_t seq = next_seq_++;
            if (commands_.empty()) first_seq_ = seq;
            uint32_t frame = bulk.empty() ? 0 : static_cast<uint32_t>(1 + bulk_.size());
            Body b = build(fbb_, frame);
            commands_.push_back(wire::CreateCommand(fbb_, b.first, b.second, want_reply));
            for (auto& m : bulk)
                bulk_.push_back(std::move(m));
            batch_bulk_ += bytes;
            if (call) {
                std::lock_guard plock(pending_mutex_);
                if (broken_.load())
                    refused = std::move(call); // nobody would ever answer it
                else
                    calls_.emplace(seq, std::move(call));
            }
        }
        if (refused) finish_call(refused, CL_OUT_OF_RESOURCES);
        if (wake) notifier_.signal();
    }
    void seal_locked(); // send_mutex_ held
    /// Envelopes up to this size are copied out of the builder when sealed (see seal_locked).
    static constexpr size_t kCopiedEnvelopeBytes = 16u << 10;

    /// Socket options, CurveZMQ's included (curve_).
    void configure(zmq::socket_t& socket);
    /// The worker's endpoint as announced ("tcp://*:PORT": the supervisor's host, that port).
    static std::string resolve_worker(const std::string& announced, const std::string& supervisor);
    /// Hello to the supervisor (a new session, or `resume` this one); on Answered `*reply` is
    /// a Welcome pointing into `frames`; on Moved `*error` is where the session went.
    Exchange say_hello(Deadline deadline, bool resume, std::vector<zmq::message_t>& frames,
                       const wire::Reply** reply, std::string* error);
    /// Binds a connection to the session's worker (a fresh socket after the first); `*acked`
    /// gets the worker's ack: what need not be sent again.
    Exchange attach(Deadline deadline, uint64_t* acked, std::string* error);
    /// The connection is lost (broken, silent, released): start reconnecting (I/O thread).
    void lost(const std::string& why);
    /// One bounded reconnect attempt; fails everything once the reconnect timeout has passed
    /// or the daemon says the session is gone.
    void try_reconnect();
    /// Reattached: sends again what the worker has not executed.
    void resume_after(uint64_t acked);
    void apply_ack(uint64_t acked);
    /// Tells the worker what arrived (a receipt), when enough did or `force`.
    void report_receipt(bool force);
    void note_receipt_sent(uint64_t received);

    void run();
    void send_ready();
    void receive_all();
    void handle(std::vector<zmq::message_t>& frames);
    void apply_notice(const wire::EventNotice& notice);
    void apply_reply(const wire::Reply& reply, const Received& message);
    /// Writes kernel printf output to the application's standard output (I/O thread).
    static void write_kernel_output(const flatbuffers::Vector<uint8_t>& bytes);
    /// Copies a read's chunk (packed offset `offset`) to where it goes in the call's memory.
    static void place(const Call& call, uint64_t offset, const uint8_t* data, uint64_t size);
    void finish_call(const std::shared_ptr<Call>& call, cl_int status);
    void complete_event(Event* event, cl_int status, const cl_ulong* times);
    void fail_everything(cl_int status);
    /// A pushed SessionEnded from the supervisor, or an "unknown session" answer.
    void read_supervisor();
    /// Connection events of the worker socket (monitor_).
    void read_monitor();
    /// The client's name for a wire-only status: the OpenCL code an application sees.
    static cl_int to_cl_status(int32_t status);

    /// The daemon's endpoint; changes (I/O thread) when the session moves to another daemon.
    std::string endpoint_;
    /// CurveZMQ for this daemon (nullopt: plain); a malformed setting (curve_error_) means no
    /// connection at all, never one in the clear. A session moved elsewhere keeps the key.
    std::string curve_error_; // before curve_: its initializer writes here
    std::optional<curve::ClientSettings> curve_;
    zmq::context_t context_;
    /// To the supervisor: the handshake, then only pushed SessionEnded notices.
    zmq::socket_t supervisor_;
    /// To the session's worker: every command, reply and notice.
    zmq::socket_t socket_;
    /// Events of socket_'s connection: a lost connection starts a reconnect at once.
    zmq::socket_t monitor_;
    std::string worker_endpoint_;
    /// Sets worker_endpoint_ and its copy for other threads (peer_address()).
    void set_worker_endpoint(std::string endpoint) {
        worker_endpoint_ = endpoint;
        std::lock_guard lock(peer_mutex_);
        peer_endpoint_ = std::move(endpoint);
    }
    mutable std::mutex peer_mutex_;
    std::string peer_endpoint_; // guarded by peer_mutex_
    Notifier notifier_;
    std::thread io_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> broken_{false};
    std::atomic<cl_int> async_error_{CL_SUCCESS};
    uint64_t session_ = 0;
    uint64_t resume_token_ = 0;
    std::vector<RemoteDevice> devices_;
    // Limits announced in Welcome (fixed after open()).
    size_t max_frames_ = proto::kMaxFrames;
    size_t max_envelope_bytes_ = proto::kMaxEnvelopeBytes;
    size_t max_bulk_frame_bytes_ = proto::kMaxBulkFrameBytes;
    uint64_t max_device_memory_ = 0; ///< 0: no quota announced
    /// Credits (0: none announced) and the batch bounds derived from them.
    uint64_t max_commands_in_flight_ = 0;
    uint64_t max_bytes_in_flight_ = 0;
    size_t batch_commands_ = SIZE_MAX;
    size_t batch_bytes_ = SIZE_MAX;
    std::atomic<uint64_t> device_bytes_{0};

    std::mutex send_mutex_;                         // order: send_mutex_ before pending_mutex_
    flatbuffers::FlatBufferBuilder fbb_{64 * 1024}; // guarded by send_mutex_
    std::vector<flatbuffers::Offset<wire::Command>> commands_; // guarded by send_mutex_
    std::vector<zmq::message_t> bulk_;                         // guarded by send_mutex_
    size_t batch_bulk_ = 0;                                    // guarded by send_mutex_
    uint64_t first_seq_ = 0;                                   // guarded by send_mutex_
    uint64_t next_seq_ = 1;                                    // guarded by send_mutex_
    std::deque<Outgoing> ready_;                               // guarded by send_mutex_

    /// Application event callbacks; declared before the I/O thread's state so it outlives the
    /// thread that posts to it.
    CallbackRunner callbacks_;

    std::mutex pending_mutex_;
    std::unordered_map<uint64_t, std::shared_ptr<Call>> calls_; // guarded by pending_mutex_
    std::unordered_map<uint64_t, Event*> events_;               // guarded by pending_mutex_
    std::condition_variable events_cv_;                         // with pending_mutex_

    /// Whether the message may go now under the session's credit (I/O thread).
    bool credit_allows(const Outgoing& out) const;
    /// An empty message: the worker answers it at once (with its acks); a receipt only tells
    /// it what this client received and is not answered.
    void send_empty(bool receipt_only);

    // I/O thread only:
    std::deque<Outgoing> unacked_; ///< Sent, not yet acknowledged: resent after a reconnect.
    size_t unacked_bytes_ = 0;     ///< Bytes in flight
    uint64_t acked_seq_ = 0;
    uint64_t sent_seq_ = 0; ///< Last sequence number sent: sent_seq_ - acked_seq_ are in flight
    /// Out of credit, an empty message asked the worker for its acks; cleared once a message
    /// goes, so each wait asks once.
    bool credit_asked_ = false;
    std::chrono::steady_clock::time_point last_sent_, last_heard_;
    /// The last numbered daemon message received (read by application threads when they seal
    /// a batch, which carries it), the last one reported, and bytes received since.
    std::atomic<uint64_t> received_seq_{0};
    uint64_t receipt_sent_ = 0;
    size_t receipt_bytes_ = 0;
    // Reconnecting (I/O thread only): lost() starts it, try_reconnect() runs attempts.
    const std::chrono::milliseconds reconnect_timeout_;
    bool reconnecting_ = false;
    Deadline reconnect_deadline_{}, next_attempt_{};
    std::chrono::milliseconds backoff_{50};
    bool attached_once_ = false;
    unsigned generation_ = 0; ///< names each worker socket's monitor endpoint
    std::atomic<uint64_t> reconnects_{0};
    // Detach and attach requests from application threads.
    std::mutex control_mutex_;
    std::condition_variable control_cv_;
    Control control_ = Control::None;    // guarded by control_mutex_
    uint64_t control_ticket_ = 0;        // guarded by control_mutex_: requests made
    uint64_t control_done_ = 0;          // guarded by control_mutex_: requests finished
    cl_int control_result_ = CL_SUCCESS; // guarded by control_mutex_
    bool detached_ = false;              ///< I/O thread: no connection wanted
    uint64_t attach_waiter_ = 0;         ///< I/O thread: the attach waiting for the reconnect
};

} // namespace rgpu::icd
