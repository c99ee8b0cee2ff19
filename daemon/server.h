// SPDX-License-Identifier: Apache-2.0
// The daemon's I/O thread: owns the ROUTER socket, verifies and routes client messages to
// session executors, and sends replies, acks and pushed event completions back.
#pragma once

#include "devices.h"
#include "message_writer.h"
#include "outbox.h"
#include "session.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

struct ServerOptions {
    std::string listen;
    std::string ready_file; ///< If set, the bound endpoint is written here once listening.
    int session_timeout_ms = 0;
};

class Server {
  public:
    Server(ServerOptions options, std::vector<LocalDevice> devices);
    ~Server();

    /// Binds and serves until `stop` becomes true; returns the process exit status.
    int run(const std::atomic<bool>& stop);
    /// Async-signal-safe: makes run() look at `stop` now.
    void wake() { outbox_.wake(); }
    /// The endpoint actually bound (resolves tcp://host:*), valid once run() started listening.
    const std::string& endpoint() const { return endpoint_; }

  private:
    void receive_all();
    void handle(std::vector<zmq::message_t>& frames);
    void handle_sessionless(const std::string& routing, const wire::ClientMessage& message);
    void drain_outbox();
    void complete(MessageWriter& out, Session& session, CompletionRecord& record, cl_int status);
    void flush(uint64_t session_id, MessageWriter& out);
    /// Sends an ack-only message when acks have been held back long enough.
    void send_held_acks(Session& session, bool force);
    void send(const std::string& routing, std::vector<zmq::message_t>& frames);
    void reject(const std::string& routing, uint64_t session, uint64_t seq, const std::string& why,
                const zmq::message_t& envelope);
    void check_sessions(bool stopping);
    bool write_ready_file();

    ServerOptions options_;
    std::vector<LocalDevice> devices_;
    zmq::context_t context_;
    zmq::socket_t router_;
    Outbox outbox_;
    std::string endpoint_;
    std::unordered_map<uint64_t, std::unique_ptr<Session>> sessions_;
    /// Replies and notices gathered per session while draining the outbox, sent at the end.
    std::unordered_map<uint64_t, MessageWriter> pending_;
    std::mt19937_64 rng_;
    uint64_t rejected_ = 0;
};

} // namespace rgpu::daemon
