// SPDX-License-Identifier: Apache-2.0
// The supervisor: owns the daemon's public endpoint, answers handshakes, keeps the session
// table and a pool of warm worker processes, and runs no client command itself. Each session
// lives in a worker of its own that the client talks to directly; a worker that crashes or is
// killed ends only its session, and the supervisor tells that session's client at once.
#pragma once

#include "devices.h"
#include "log_limiter.h"
#include "session_limits.h"
#include "worker_process.h"
#include "zap_handler.h"

#include <curve.h>
#include <notifier.h>
#include <rgpu/wire/messages_generated.h>

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

struct SupervisorOptions {
    std::string listen;
    std::string ready_file; ///< If set, the bound endpoint is written here once listening.
    std::string log_level = "info";
    /// How long a session without a client is kept (its lease), in milliseconds.
    int session_timeout_ms = 0;
    uint32_t warm_workers = 2;
    uint32_t max_sessions = 64;
    uint32_t max_sessions_per_client = 16;
    std::chrono::milliseconds grace{5000};
    /// Threads one worker may run; beyond them it is killed (checked every second).
    uint32_t max_worker_threads = 256;
    SessionLimits limits;
    /// Where sessions are saved when the daemon stops (SIGTERM) and restored from at start;
    /// empty: sessions end with the daemon.
    std::string checkpoint_dir;
    /// --checkpoint-interval: sessions are also saved this often while they change (0: only at
    /// a stop).
    std::chrono::milliseconds checkpoint_interval{0};
    /// Flags every worker gets too (the pool's, the key file's).
    std::vector<std::string> worker_args;
    /// --curve-key: every connection is encrypted with this key pair and the daemon knows its
    /// peers by their keys (`curve_access`); nullopt: plain connections.
    std::optional<curve::KeyPair> curve_keys;
    CurveAccess curve_access;
};

class Supervisor {
  public:
    Supervisor(SupervisorOptions options, std::vector<LocalDevice> devices);
    ~Supervisor();

    /// Binds and serves until `stop` becomes true, then stops every worker within the grace
    /// period; returns the process exit status.
    int run(const std::atomic<bool>& stop);
    /// Async-signal-safe: makes run() look at `stop` now.
    void wake() { notifier_.signal(); }

  private:
    struct PendingHello {
        std::string routing;
        uint64_t seq = 0;
        std::string client;
        std::string peer;
        std::chrono::steady_clock::time_point deadline;
    };

    void receive_all();
    void handle(std::vector<zmq::message_t>& frames);
    void handle_hello(const std::string& routing, uint64_t seq, const wire::Hello& hello,
                      const std::string& peer);
    /// A Hello that names a session the client had: its Welcome again, or unknown session.
    void handle_resume(const std::string& routing, uint64_t seq, const wire::Hello& hello);
    void send_welcome(const std::string& routing, uint64_t seq, const WorkerProcess& worker);
    void handle_operator(const std::string& routing, uint64_t seq, const wire::Command& command);
    void read_control(WorkerProcess& worker);
    /// Gives waiting Hellos to warm workers; refuses those that waited too long.
    void serve_pending();
    void assign(WorkerProcess& worker, PendingHello& hello);
    /// Starts a worker for every session saved in the checkpoint directory; refuses (renames
    /// to *.refused, with a log line) what is not a checkpoint of this format.
    void load_checkpoints();
    /// Starts a worker restoring the checkpoint DIR/`name` (a session id in hex); false (and
    /// `error`) for what is not a checkpoint of this format or not for this daemon.
    bool start_restore(const std::string& name, std::string* error);
    /// Operator: MoveSession; daemon to daemon: AdoptChunk and AdoptSession.
    void handle_move(const std::string& routing, uint64_t seq, const wire::MoveSession& move);
    void handle_adopt_chunk(const std::string& routing, uint64_t seq, const wire::AdoptChunk& chunk,
                            const zmq::message_t* data);
    void handle_adopt(const std::string& routing, uint64_t seq, const wire::AdoptSession& adopt);
    /// The moving session's worker saved it and exited: send the checkpoint to the target and
    /// answer the operator; on failure the session is restored here again.
    void finish_move(WorkerProcess& worker, bool saved);
    /// The worker of a session being moved said it cannot be saved (`reason`): the move fails.
    void refuse_move(WorkerProcess& worker, const std::string& reason);
    /// Sends DIR/`name` to the daemon at `to` (AdoptChunk..., AdoptSession); empty or why not.
    std::string send_checkpoint(const std::string& name, uint64_t session, const std::string& to);
    /// A worker started for a saved session is ready: it restores the session and serves it.
    void assign_restored(WorkerProcess& worker);
    /// The AssignSession control message for `worker`'s session.
    bool send_assignment(WorkerProcess& worker, bool restore);
    /// Spawns one worker process (throws std::system_error when it cannot).
    std::unique_ptr<WorkerProcess> start_worker();
    /// Starts workers until the warm pool is full (bounded by the session limit).
    void fill_pool();
    /// Reaps ended workers and ends their sessions.
    void reap();
    /// Kills serving workers beyond their thread bound.
    void watch_workers();
    /// Messages refused since start: by the supervisor and by every worker (as reported).
    uint64_t rejected_messages() const;
    void end_session(WorkerProcess& worker, int wait_status);
    void refuse(const std::string& routing, uint64_t seq, int32_t status, const std::string& why);
    void reject(const std::string& routing, uint64_t seq, const std::string& why,
                const zmq::message_t& envelope);
    /// Finishes a DaemonMessage holding the one `reply` built in `fbb` and sends it.
    void send_reply(const std::string& routing, flatbuffers::FlatBufferBuilder& fbb,
                    flatbuffers::Offset<wire::Reply> reply, uint64_t session = 0,
                    uint64_t acked_seq = 0);
    void send(const std::string& routing, std::vector<zmq::message_t>& frames);
    void shutdown();
    bool write_ready_file();
    size_t count(WorkerProcess::State state) const;

    SupervisorOptions options_;
    std::vector<LocalDevice> devices_;
    WorkerLaunch launch_;
    zmq::context_t context_;
    std::unique_ptr<ZapHandler> zap_; // with CurveZMQ: bound before router_
    zmq::socket_t router_;
    Notifier notifier_;
    std::string endpoint_;
    std::vector<std::unique_ptr<WorkerProcess>> workers_;
    std::unordered_map<uint64_t, WorkerProcess*> sessions_;
    /// Saved sessions whose worker is still starting: their clients' resumes wait (unanswered,
    /// the client tries again) rather than hearing "unknown session".
    std::unordered_map<uint64_t, WorkerProcess*> restoring_;
    /// Sessions moved to other daemons: their clients are sent there (kStatusMoved).
    std::unordered_map<uint64_t, std::string> moved_;
    std::deque<PendingHello> pending_;
    uint64_t worker_serial_ = 0; ///< numbers workers' ipc paths
    uint32_t failed_starts_ = 0; ///< workers that died before WorkerReady, in a row
    std::chrono::steady_clock::time_point next_spawn_{};
    uint64_t rejected_ = 0; ///< by the supervisor itself
    uint64_t rejected_by_ended_workers_ = 0;

    // The pooled device's load (pool_load.cpp).
    /// Sends every serving worker the load the other sessions put on each member, when it
    /// changed (at most every 100 ms).
    void share_pool_load();
    /// Keeps an ended session's counters (placements, migrations, busy time) in the totals.
    void retire_pool_load(const WorkerProcess& worker);
    /// The served devices, each pool member with its load summed over every session.
    flatbuffers::Offset<wire::DeviceList> device_list(flatbuffers::FlatBufferBuilder& fbb);
    std::vector<MemberLoad> ended_pool_load_;
    bool pool_load_changed_ = false;
    std::chrono::steady_clock::time_point pool_load_sent_;
    LogLimiter reject_log_;
};

} // namespace rgpu::daemon
