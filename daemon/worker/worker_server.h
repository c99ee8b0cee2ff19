// SPDX-License-Identifier: Apache-2.0
// A worker process's I/O thread: serves exactly one session. Owns the worker's ROUTER socket
// (the client connects to it directly, so isolation adds no hop to the command path), verifies
// and routes client messages to the session's executor, sends replies, acks and pushed event
// completions back, and talks to the supervisor over the control channel.
#pragma once

#include "control_channel.h"
#include "devices.h"
#include "kernel_output.h"
#include "log_limiter.h"
#include "message_writer.h"
#include "outbox.h"
#include "peer_transfers.h"
#include "session.h"

#include <curve.h>
#include <protocol.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

struct WorkerOptions {
    /// Where to listen for the client: tcp://HOST:* (a free port) or a unique ipc:// path.
    std::string bind;
    /// This process's end of the control channel (inherited from the supervisor).
    int control_fd = -1;
    /// Send what kernels print to the client (standard output becomes a pipe; see
    /// kernel_output.h). Off for in-process servers such as the fuzzer's.
    bool capture_output = false;
    /// The daemon's CurveZMQ key pair (--curve-key): the client's connection is encrypted with
    /// it. The resume token admits the client; keys are the supervisor's business.
    std::optional<curve::KeyPair> curve_keys;
    /// --no-direct-moves unset: buffers move straight to and from other daemons' workers.
    bool direct_moves = true;
};

class WorkerServer {
  public:
    WorkerServer(WorkerOptions options, std::vector<LocalDevice> devices);
    ~WorkerServer();

    /// Binds, reports WorkerReady, waits for AssignSession and serves that session until it
    /// ends, `stop` becomes true or the supervisor goes away; returns the exit status.
    int run(const std::atomic<bool>& stop);
    /// Async-signal-safe: makes run() look at `stop` now.
    void wake() { outbox_.wake(); }

  private:
    /// Tells the supervisor the session is over (close_reason_), before the worker exits.
    void report_closed();
    /// Tells the supervisor this worker's counters if they changed since the last report.
    void report_stats();
    /// Takes every control packet waiting; false once the supervisor is gone.
    bool read_control();
    void receive_all();
    void handle(std::vector<zmq::message_t>& frames);
    /// Binds the sending connection to the session when the token matches.
    void handle_attach(const std::string& routing, const wire::ClientMessage& message);
    /// Writes an accepted message (routing frame first) to corpus_dir_.
    void record(const std::vector<zmq::message_t>& frames);
    void drain_outbox();
    void complete(MessageWriter& out, Session& session, CompletionRecord& record, cl_int status);
    void flush(uint64_t session_id, MessageWriter& out);
    /// Sends an ack-only message when acks have been held back long enough.
    void send_held_acks(Session& session, bool force);
    /// Sends an ack-only message now.
    void send_ack(Session& session);
    void send(const std::string& routing, std::vector<zmq::message_t>& frames);
    /// Sends a message of the session to its client: numbered and kept until the client reports
    /// it received; while the session is released only kept.
    void send_to_client(Session& session, std::vector<zmq::message_t>& frames);
    /// The operator's release: tells the client, then forgets its connection.
    void release_client(Session& session);
    void reject(const std::string& routing, uint64_t session, uint64_t seq, const std::string& why,
                const zmq::message_t& envelope, int32_t status = proto::kStatusProtocolError);
    void check_sessions(bool stopping);

    WorkerOptions options_;
    std::vector<LocalDevice> devices_;
    zmq::context_t context_;
    zmq::socket_t router_;
    Outbox outbox_;
    /// Buffers moving straight to and from other daemons' workers.
    std::unique_ptr<PeerTransfers> peers_;
    KernelOutput output_;
    ControlChannel control_;
    std::string endpoint_;
    /// The one session this worker serves (at most one entry: the map keeps the lookups of the
    /// completion paths uniform).
    std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
    /// Replies and notices gathered per session while draining the outbox, sent at the end.
    std::unordered_map<uint64_t, MessageWriter> pending_;
    /// From AssignSession.
    uint64_t session_id_ = 0;
    uint64_t resume_token_ = 0;
    int session_timeout_ms_ = 0; ///< the lease
    /// --checkpoint-dir of the daemon (empty: sessions are not saved when it stops).
    std::string checkpoint_dir_;
    /// The supervisor asked for the session to be saved (a move): serving ends.
    bool save_requested_ = false;
    /// This session's checkpoint directory.
    std::string session_dir() const;
    /// Restores the session from its checkpoint; false (session closing) if it cannot be.
    bool restore(Session& session);
    /// Writes the saved session once its executor is done; reports the result.
    void finish_checkpoint(Session& session);

    // --- --checkpoint-interval (periodic_save.cpp) ---
    /// Starts a save of the session when one is due and the session is idle, or finishes the
    /// one under way; called every turn of the loop.
    void save_periodically();
    void finish_periodic_save(Session& session);
    /// The session ended (not saved for a stop or a move): removes its saved state, so that a
    /// later start does not bring back a session its client was told is over.
    void forget_checkpoint();
    std::chrono::milliseconds checkpoint_interval_{0};
    std::chrono::steady_clock::time_point last_save_{};
    uint64_t saved_recv_seq_ = 0; ///< the session's next_recv_seq at the last save
    /// A save under way: what it covers, since when, and the messages received meanwhile (run
    /// once it is written, so the saved objects, sequence numbers and kept replies agree).
    std::shared_ptr<CheckpointWriter> periodic_;
    uint64_t periodic_recv_seq_ = 0;
    std::chrono::steady_clock::time_point periodic_since_{};
    std::deque<WorkItem> held_;
    /// session_dir() holds this session's current state (a periodic save, or the restored one).
    bool owns_checkpoint_ = false;
    bool assigned_ = false;
    std::chrono::steady_clock::time_point ending_since_{};
    std::string close_reason_ = "client said goodbye";
    /// RGPU_CORPUS_DIR: every accepted client message is also written there (frame records),
    /// the seed corpus of the receive-path fuzzer. Empty: off.
    std::string corpus_dir_;
    uint64_t corpus_count_ = 0;
    LogLimiter reject_log_;
    uint64_t rejected_ = 0;
    uint64_t rejected_reported_ = 0;
    Session::Holdings holdings_reported_;
    bool attached_reported_ = false;
    std::vector<MemberFigures> members_reported_;
};

} // namespace rgpu::daemon
