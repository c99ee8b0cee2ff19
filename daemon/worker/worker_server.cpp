// SPDX-License-Identifier: Apache-2.0
// A worker's I/O loop: one session, its client's connection and the control channel.
#include "worker_server.h"

#include "checkpoint.h"
#include "exec_context.h"
#include "session_limits.h"

#include <decode.h>
#include <frame_record.h>
#include <printable.h>
#include <protocol.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace rgpu::daemon {

using clock = std::chrono::steady_clock;

namespace {
constexpr int kMaxQueuedReplies = 100000;
/// How long an ending session may take to release its objects before the worker just exits.
constexpr auto kTeardownLimit = std::chrono::seconds(5);
/// Kernel output sent in one message at most (more waits for the next, within envelope limits).
constexpr size_t kMaxOutputPerMessage = size_t{1} << 20;

/// zmq::poll that treats a signal's EINTR as a wake-up, not an error.
void poll_items(zmq::pollitem_t* items, size_t count, std::chrono::milliseconds timeout) {
    try {
        zmq::poll(items, count, timeout);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
    }
}

/// Bounds this process's data segment (heap and private mappings): from here on, allocations
/// beyond `bytes` fail in this worker alone. Set once the session is known, after OpenCL is up,
/// so the devices report what the supervisor announced. Under AddressSanitizer the shadow
/// memory alone is terabytes of data segment: no limit there.
void limit_memory(uint64_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
    spdlog::debug("worker {}: no memory limit under AddressSanitizer ({} bytes asked)", getpid(),
                  bytes);
#else
    rlimit limit{static_cast<rlim_t>(bytes), static_cast<rlim_t>(bytes)};
    if (setrlimit(RLIMIT_DATA, &limit) != 0)
        spdlog::warn("worker {}: cannot limit memory to {} bytes: {}", getpid(), bytes,
                     std::strerror(errno));
#endif
}
} // namespace

WorkerServer::WorkerServer(WorkerOptions options, std::vector<LocalDevice> devices)
    : options_(std::move(options)), devices_(std::move(devices)), context_(1),
      router_(context_, zmq::socket_type::router), control_(options_.control_fd) {
    router_.set(zmq::sockopt::linger, 0);
    // A client that stops reading its replies must not grow this process without bound: its
    // session ends once this many messages wait for it (bulk data is bounded separately, by
    // the session's staging budget).
    router_.set(zmq::sockopt::sndhwm, kMaxQueuedReplies);
    // Messages ZeroMQ takes off the connection before this thread looks at them. An honest
    // client never has more in flight than its credit; beyond this many messages TCP pushes
    // back, so a client that ignores its credit queues its flood at home, not here.
    router_.set(zmq::sockopt::rcvhwm, 1024);
    // Frames above this are dropped by ZeroMQ itself, before we allocate for them.
    router_.set(
        zmq::sockopt::maxmsgsize,
        static_cast<int64_t>(std::max(proto::kMaxEnvelopeBytes, proto::kMaxBulkFrameBytes)));
    router_.set(zmq::sockopt::router_mandatory, 1);
    if (options_.curve_keys) curve::make_server(router_, *options_.curve_keys);
    PeerTransfers::Hooks hooks;
    hooks.send = [this](const std::string& routing, std::vector<zmq::message_t>& frames) {
        send(routing, frames);
    };
    hooks.notify = [this](uint64_t event, cl_int status) {
        if (event != 0 && !sessions_.empty())
            pending_[sessions_.begin()->first].add_notice(
                wire::EventNotice(event, status, 0, 0, 0, 0));
    };
    hooks.write = [this](std::shared_ptr<ImportPiece> piece) {
        if (sessions_.empty()) return;
        WorkItem item;
        item.piece = std::move(piece);
        if (periodic_)
            held_.push_back(std::move(item)); // after the save under way
        else
            sessions_.begin()->second->submit(std::move(item));
    };
    peers_ = std::make_unique<PeerTransfers>(context_, options_.curve_keys, std::move(hooks));
    if (const char* dir = std::getenv("RGPU_CORPUS_DIR"); dir && *dir) corpus_dir_ = dir;
}

WorkerServer::~WorkerServer() = default;

int WorkerServer::run(const std::atomic<bool>& stop) {
    if (std::string why; options_.capture_output && !output_.capture(&why))
        spdlog::warn("worker {}: kernel output stays on the daemon's standard output ({})",
                     getpid(), why);
    try {
        router_.bind(options_.bind);
    } catch (const zmq::error_t& e) {
        spdlog::error("worker cannot listen on {}: {}", options_.bind, e.what());
        return 1;
    }
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    {
        flatbuffers::FlatBufferBuilder fbb;
        auto ready = control::CreateWorkerReady(fbb, fbb.CreateString(endpoint_));
        fbb.Finish(
            control::CreateControlMessage(fbb, control::ControlBody::WorkerReady, ready.Union()),
            control::ControlMessageIdentifier());
        if (!control_.send(fbb)) return 1; // the supervisor is gone already
    }
    spdlog::debug("worker {} ready on {}", getpid(), endpoint_);

    std::vector<zmq::pollitem_t> items = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, outbox_.fd(), ZMQ_POLLIN, 0},
                                          {nullptr, control_.fd(), ZMQ_POLLIN, 0},
                                          {nullptr, output_.fd(), ZMQ_POLLIN, 0}}; // -1: ignored
    auto last_check = clock::now();
    bool supervisor_gone = false;
    while (!stop.load() && !save_requested_) {
        items.resize(4);
        peers_->add_poll_items(items); // imports' connections to other daemons' workers
        poll_items(items.data(), items.size(), std::chrono::milliseconds(250));
        // Control first: AssignSession is written before the client hears of this worker, so
        // it is always read before the client's Attach.
        if (!read_control()) {
            supervisor_gone = true;
            break;
        }
        bool received = items[0].revents & ZMQ_POLLIN;
        if (received) receive_all();
        if (received && !outbox_.has_items() && outbox_.outstanding() > 0) {
            // A command just went to the device and its completion usually follows within
            // microseconds: waiting here (yielding) beats a wake-up through poll.
            auto until = clock::now() + std::chrono::microseconds(50);
            while (!outbox_.has_items() && clock::now() < until)
                std::this_thread::yield();
        }
        peers_->receive();
        peers_->tick();
        drain_outbox();
        save_periodically();
        if (clock::now() - last_check > std::chrono::milliseconds(200)) {
            check_sessions(false);
            last_check = clock::now();
        }
        if (!sessions_.empty() && sessions_.begin()->second->ending()) {
            // Teardown drains the session's queues; a command that can never finish (an
            // endless kernel, an event nobody will set) must not keep this process alive: it
            // is disposable, and exiting frees everything the session held.
            if (ending_since_ == clock::time_point{}) ending_since_ = clock::now();
            if (clock::now() - ending_since_ > kTeardownLimit) {
                spdlog::warn("worker {}: session teardown did not finish in {} s; exiting",
                             getpid(), kTeardownLimit.count());
                forget_checkpoint();
                report_closed();
                std::fflush(nullptr);
                std::_Exit(0);
            }
        }
        if (assigned_ && sessions_.empty()) {
            // The session is over: tell the supervisor why, then leave. A fresh process serves
            // the next session, so nothing of this one can leak into it.
            forget_checkpoint();
            report_closed();
            return 0;
        }
    }

    if (supervisor_gone) spdlog::warn("worker {}: the supervisor is gone; exiting", getpid());
    // Transfers with other daemons end here: their clients move those contents themselves.
    peers_->fail_all();
    bool saving = false;
    for (auto& [id, session] : sessions_) {
        // Messages held back for a periodic save were received: they run before the last save.
        for (; !held_.empty(); held_.pop_front())
            session->submit(std::move(held_.front()));
        if (!checkpoint_dir_.empty() && !session->ending()) {
            // Runs what it received, finishes its queues and saves itself for a daemon started
            // again with the same directory; the supervisor's grace period bounds it.
            session->checkpoint(std::make_shared<CheckpointWriter>(session_dir()));
            saving = true;
        } else {
            session->close();
        }
    }
    // The supervisor kills what is still running after its grace period; a kernel that never
    // ends must not keep this process alive, so leave without waiting for it beyond that.
    auto deadline = clock::now() + (saving ? std::chrono::seconds(24 * 3600)
                                           : std::chrono::seconds(supervisor_gone ? 1 : 3));
    while ((!sessions_.empty() || outbox_.outstanding() > 0) && clock::now() < deadline) {
        poll_items(&items[1], 1, std::chrono::milliseconds(50)); // the outbox alone
        drain_outbox();
        check_sessions(true);
    }
    if (!sessions_.empty() || outbox_.outstanding() > 0) {
        spdlog::error("worker {}: session did not finish in time; exiting anyway", getpid());
        std::fflush(nullptr);
        std::_Exit(1);
    }
    if (saving) report_closed();
    return 0;
}

void WorkerServer::report_stats() {
    Session::Holdings now;
    bool attached = false;
    std::vector<MemberFigures> members = members_reported_; // an ended session's counters stand
    if (!sessions_.empty()) {
        const Session& s = *sessions_.begin()->second;
        if (s.pool) members = s.pool->figures();
        now = s.holdings();
        // A client heartbeats every second: a few missed means its connection is gone.
        attached = !s.routing_id.empty() &&
                   clock::now() - s.last_seen < std::chrono::milliseconds(3 * proto::kHeartbeatMs);
    }
    if (rejected_ == rejected_reported_ && now == holdings_reported_ &&
        attached == attached_reported_ && members == members_reported_)
        return;
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<control::MemberLoad>> loads;
    for (const auto& m : members)
        loads.push_back(control::CreateMemberLoad(fbb, m.queued, m.running, m.queued_work_ns,
                                                  m.placements, m.queues, m.migrations,
                                                  m.migrated_bytes, m.busy_ns, m.resident_bytes));
    auto stats = control::CreateWorkerStats(fbb, rejected_, now.objects, now.device_bytes,
                                            now.commands_in_flight, now.bytes_in_flight, attached,
                                            fbb.CreateVector(loads));
    fbb.Finish(control::CreateControlMessage(fbb, control::ControlBody::WorkerStats, stats.Union()),
               control::ControlMessageIdentifier());
    if (control_.send(fbb)) {
        rejected_reported_ = rejected_;
        holdings_reported_ = now;
        attached_reported_ = attached;
        members_reported_ = std::move(members);
    }
}

void WorkerServer::report_closed() {
    report_stats();
    flatbuffers::FlatBufferBuilder fbb;
    auto closed = control::CreateSessionClosed(fbb, fbb.CreateString(close_reason_));
    fbb.Finish(
        control::CreateControlMessage(fbb, control::ControlBody::SessionClosed, closed.Union()),
        control::ControlMessageIdentifier());
    (void)control_.send(fbb);
}

bool WorkerServer::read_control() {
    for (;;) {
        const control::ControlMessage* message = nullptr;
        std::string error;
        switch (control_.receive(&message, &error)) {
        case ControlChannel::Status::Nothing:
            return true;
        case ControlChannel::Status::Closed:
            return false;
        case ControlChannel::Status::Invalid:
            spdlog::error("worker {}: invalid control packet: {}", getpid(), error);
            return false;
        case ControlChannel::Status::Message:
            break;
        }
        if (message->body_as_SaveSession()) {
            // A session that cannot be saved is not stopped for nothing: it goes on here.
            std::string why = sessions_.empty() ? "" : sessions_.begin()->second->unsaveable();
            if (why.empty()) {
                save_requested_ = true; // the loop ends; the session is saved on the way out
            } else {
                flatbuffers::FlatBufferBuilder fbb;
                auto refused = control::CreateSaveRefused(fbb, fbb.CreateString(why));
                fbb.Finish(control::CreateControlMessage(fbb, control::ControlBody::SaveRefused,
                                                         refused.Union()),
                           control::ControlMessageIdentifier());
                (void)control_.send(fbb);
            }
            continue;
        }
        if (const auto* load = message->body_as_PoolLoad()) {
            std::vector<MemberFigures> others;
            if (load->members())
                for (const auto* m : *load->members()) {
                    MemberFigures f;
                    f.queued = m->queued();
                    f.running = m->running();
                    f.queued_work_ns = m->queued_work_ns();
                    f.resident_bytes = m->resident_bytes();
                    others.push_back(f);
                }
            for (auto& [id, session] : sessions_)
                if (session->pool) session->pool->set_others(others);
            continue;
        }
        if (message->body_as_ReleaseClient()) {
            for (auto& [id, session] : sessions_)
                release_client(*session);
            continue;
        }
        const auto* assign = message->body_as_AssignSession();
        if (!assign || assigned_) {
            spdlog::error("worker {}: unexpected control message", getpid());
            return false;
        }
        assigned_ = true;
        session_id_ = assign->session();
        resume_token_ = assign->resume_token();
        session_timeout_ms_ = static_cast<int>(assign->session_timeout_ms());
        std::string client = assign->client() ? assign->client()->str() : "?";
        SessionLimits limits = SessionLimits::read(assign->limits());
        if (assign->max_staging()) limits.max_staging = assign->max_staging();
        limits.max_worker_memory = assign->max_worker_memory();
        if (assign->checkpoint_dir()) checkpoint_dir_ = assign->checkpoint_dir()->str();
        checkpoint_interval_ = std::chrono::milliseconds(assign->checkpoint_interval_ms());
        auto session =
            std::make_unique<Session>(assign->session(), client, devices_, outbox_, limits);
        session->next_recv_seq = 1;
        session->executed_seq = 0;
        limit_memory(limits.max_worker_memory ? limits.max_worker_memory
                                              : session->device_quota + (uint64_t(4) << 30));
        session->direct_moves = options_.direct_moves;
        Session& s = *session;
        sessions_.emplace(assign->session(), std::move(session));
        if (assign->restore()) {
            // Before any client message is read: the session is whole when its client comes.
            if (!restore(s)) continue;
        } else {
            spdlog::info("worker {}: session {:016x} opened for {}", getpid(), assign->session(),
                         client);
        }
    }
}

void WorkerServer::receive_all() {
    // Bounded per wake-up so completions are not starved by a busy client.
    for (int n = 0; n < 256; ++n) {
        std::vector<zmq::message_t> frames;
        zmq::message_t frame;
        bool overflow = false;
        auto got = router_.recv(frame, zmq::recv_flags::dontwait);
        if (!got) return;
        for (;;) {
            bool more = frame.more();
            if (frames.size() <= proto::kMaxFrames)
                frames.push_back(std::move(frame));
            else
                overflow = true;
            if (!more) break;
            (void)router_.recv(frame); // the rest of a multipart message is already here
        }
        if (overflow) {
            std::string routing = frames[0].to_string();
            reject(routing, 0, 0, "message has more than the allowed number of frames", frames[1]);
            continue;
        }
        handle(frames);
    }
}

void WorkerServer::handle(std::vector<zmq::message_t>& frames) {
    std::string routing = frames[0].to_string();
    if (frames.size() < 2) {
        zmq::message_t empty;
        reject(routing, 0, 0, "message without an envelope", empty);
        return;
    }
    zmq::message_t& envelope = frames[1];
    proto::align_frame(envelope);
    auto decoded = proto::decode_client_message(envelope.data(), envelope.size());
    if (!decoded) {
        reject(routing, 0, 0, decoded.error, envelope);
        return;
    }
    const wire::ClientMessage& message = *decoded.message;
    if (message.session() == 0) {
        reject(routing, 0, message.first_seq(),
               "a worker serves one session: send Hello to the daemon's endpoint", envelope);
        return;
    }
    auto it = sessions_.find(message.session());
    if (it == sessions_.end()) {
        reject(routing, message.session(), message.first_seq(), "unknown session", envelope,
               proto::kStatusUnknownSession);
        return;
    }
    const auto* commands = message.commands();
    if (commands && commands->size() == 1 &&
        commands->Get(0)->body_type() == wire::Request::Attach) {
        handle_attach(routing, message);
        return;
    }
    if (commands && commands->size() == 1 && message.first_seq() == 0 &&
        commands->Get(0)->body_type() == wire::Request::FetchBuffer) {
        // Another daemon's worker fetching an export: outside the client's numbered stream,
        // admitted by the export's token alone.
        if (!options_.direct_moves)
            reject(routing, message.session(), 0, Session::kNoDirectMoves, envelope);
        else
            peers_->fetch(message.session(), routing, *commands->Get(0)->body_as_FetchBuffer());
        return;
    }
    Session& session = *it->second;
    if (session.routing_id != routing) {
        // Only Attach (with the token) binds a connection to the session.
        reject(routing, message.session(), message.first_seq(), "unknown session", envelope,
               proto::kStatusUnknownSession);
        return;
    }
    uint32_t count = commands ? commands->size() : 0;
    session.replay.trim(message.received_seq());
    if (message.receipt_only() && count == 0) {
        session.last_seen = clock::now();
        return;
    }
    if (count > 0 && message.first_seq() + count <= session.next_recv_seq) {
        // Sent again after a reconnect, and received before: each command runs once. Its ack
        // comes when the executor gets past it.
        session.last_seen = clock::now();
        return;
    }
    if (message.first_seq() > session.next_recv_seq) {
        reject(routing, session.id(), message.first_seq(),
               "sequence gap: expected " + std::to_string(session.next_recv_seq), envelope);
        return;
    }
    const SessionLimits& limits = session.limits();
    uint64_t bytes = envelope.size();
    bool frame_too_big = false;
    for (size_t i = 2; i < frames.size(); ++i) {
        bytes += frames[i].size();
        frame_too_big |= frames[i].size() > limits.max_bulk_frame_bytes;
    }
    if (frames.size() - 1 > limits.max_frames || envelope.size() > limits.max_envelope_bytes ||
        frame_too_big) {
        reject(routing, session.id(), message.first_seq(),
               "message exceeds the session's frame, envelope or bulk frame limit", envelope);
        return;
    }
    if (count == 0) {
        // Heartbeat, or a client waiting for credit: answer from here, so a long build on the
        // executor cannot look like death; and if commands are still running, send the ack that
        // covers them as soon as it is known instead of holding it back.
        session.last_seen = clock::now();
        session.ack_wanted = session.ack_known + 1 < session.next_recv_seq;
        send_ack(session);
        return;
    }
    // A resent duplicate (after a reconnect) carries commands already counted.
    uint64_t fresh = message.first_seq() + count > session.next_recv_seq
                         ? message.first_seq() + count - session.next_recv_seq
                         : 0;
    if (!session.admit(fresh, bytes)) {
        reject(routing, session.id(), message.first_seq(),
               fmt::format("message exceeds the session's credit ({} commands, {} bytes in flight "
                           "at most)",
                           limits.max_commands_in_flight, limits.max_bytes_in_flight),
               envelope);
        return;
    }
    session.next_recv_seq = std::max(session.next_recv_seq, message.first_seq() + count);
    session.last_seen = clock::now();
    if (!corpus_dir_.empty()) record(frames);
    // Drop the routing frame: the executor sees the envelope as frame 0, bulk from 1.
    // Erasing moves the envelope's zmq_msg_t, and a small message keeps its bytes inside it:
    // point at the verified root again after the move.
    frames.erase(frames.begin());
    const auto* moved = flatbuffers::GetRoot<wire::ClientMessage>(frames[0].data());
    WorkItem item{std::move(frames), moved, fresh, bytes, nullptr, nullptr};
    if (periodic_)
        held_.push_back(std::move(item)); // after the save under way
    else
        session.submit(std::move(item));
}

void WorkerServer::record(const std::vector<zmq::message_t>& frames) {
    size_t bytes = 0;
    for (size_t i = 1; i < frames.size(); ++i)
        bytes += frames[i].size();
    if (bytes > (1u << 20)) return; // big transfers add nothing a small one does not
    std::ofstream out(corpus_dir_ + "/w" + std::to_string(getpid()) + "-" +
                          std::to_string(++corpus_count_),
                      std::ios::binary);
    std::string record = proto::encode_record(frames, 1);
    out.write(record.data(), static_cast<std::streamsize>(record.size()));
}

void WorkerServer::handle_attach(const std::string& routing, const wire::ClientMessage& message) {
    Session& session = *sessions_.at(message.session());
    const auto* attach = message.commands()->Get(0)->body_as_Attach();
    // Compared without an early exit, so timing tells nothing about the token.
    if ((attach->resume_token() ^ resume_token_) != 0 || message.first_seq() != 0) {
        zmq::message_t empty;
        reject(routing, message.session(), message.first_seq(), "unknown session", empty,
               proto::kStatusUnknownSession);
        return;
    }
    // A session restored from a save older than what its client saw (a daemon killed after the
    // session had run more) cannot go on with it: the client no longer holds the commands run
    // since, and it has seen replies this session would number again. It is told at once.
    if (attach->acked_seq() >= session.next_recv_seq ||
        message.received_seq() >= session.replay.next_seq()) {
        zmq::message_t empty;
        const std::string why = "the session was restored from a save older than its client";
        reject(routing, message.session(), 0, why, empty, proto::kStatusUnknownSession);
        spdlog::warn("session {:016x} ({}): {} (it ran up to command {}, the save has {}); "
                     "closing it",
                     session.id(), session.client(), why, attach->acked_seq(),
                     session.next_recv_seq - 1);
        close_reason_ = why;
        session.close();
        return;
    }
    // A reconnect: whatever the previous connection still had on its way is lost or stale;
    // this one is the session's from now on.
    bool again = !session.routing_id.empty() || session.replay.last_seq() > 0;
    session.routing_id = routing;
    session.last_seen = clock::now();
    session.replay.trim(message.received_seq());
    MessageWriter writer;
    writer.add_reply(0, CL_SUCCESS);
    // The ack tells the client which of its messages to send again; the reply itself is not
    // numbered (ReplayLog keeps only what the client has not yet seen, and it waits for this).
    auto frames = writer.finish(session.id(), session.ack_for_send());
    send(routing, frames);
    auto missed = session.replay.copies();
    for (auto& m : missed)
        send(routing, m);
    if (again)
        spdlog::info("session {:016x} ({}): client reattached; {} messages sent again",
                     session.id(), session.client(), missed.size());
}

void WorkerServer::release_client(Session& session) {
    if (session.routing_id.empty()) return;
    MessageWriter writer;
    writer.set_released();
    auto frames = writer.finish(session.id(), session.ack_for_send());
    send(session.routing_id, frames);
    session.routing_id.clear();
    spdlog::info("session {:016x} ({}): released by the operator", session.id(), session.client());
}

void WorkerServer::reject(const std::string& routing, uint64_t session, uint64_t seq,
                          const std::string& why, const zmq::message_t& envelope, int32_t status) {
    ++rejected_;
    uint64_t suppressed = 0;
    if (reject_log_.allow(&suppressed))
        spdlog::warn("rejected message for session {:016x}: {} (sample {}){}", session, why,
                     proto::printable_sample(envelope.data(), envelope.size()),
                     suppressed ? fmt::format(" [{} similar lines suppressed]", suppressed) : "");
    MessageWriter writer;
    writer.add_reply(seq, status, wire::ReplyBody::NONE, 0, why);
    auto frames = writer.finish(session, 0);
    send(routing, frames);
}

void WorkerServer::send(const std::string& routing, std::vector<zmq::message_t>& frames) {
    try {
        if (!router_.send(zmq::buffer(routing),
                          zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            // The client's queue is full: it does not read what it asked for.
            for (auto& [id, session] : sessions_)
                if (session->routing_id == routing && !session->closing()) {
                    spdlog::warn("session {:016x} ({}): {} replies wait unread; closing it", id,
                                 session->client(), kMaxQueuedReplies);
                    close_reason_ = "the client stopped reading its replies";
                    session->close();
                }
            return;
        }
        for (size_t i = 0; i < frames.size(); ++i)
            router_.send(frames[i],
                         i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
        // EHOSTUNREACH: the peer is gone; its session times out on its own.
        spdlog::debug("send to a departed peer dropped: {}", e.what());
    }
}

void WorkerServer::drain_outbox() {
    auto items = outbox_.drain();
    // Read after the completions were taken: a command among them printed before it completed,
    // so its output is in the pipe now and goes out ahead of its notice (the client writes a
    // message's output before applying its notices).
    if (std::string printed = output_.take(kMaxOutputPerMessage);
        !printed.empty() && sessions_.size() == 1)
        pending_[sessions_.begin()->first].add_output(printed);
    if (items.empty() && pending_.empty()) return;
    for (auto& item : items) {
        if (auto* m = std::get_if<Outbox::Message>(&item)) {
            auto it = sessions_.find(m->session);
            if (it == sessions_.end()) continue;
            // Keep order: whatever was gathered for this session goes out first.
            if (auto p = pending_.find(m->session); p != pending_.end())
                flush(m->session, p->second);
            send_to_client(*it->second, m->frames);
        } else if (auto* a = std::get_if<Outbox::Ack>(&item)) {
            if (auto it = sessions_.find(a->session); it != sessions_.end()) {
                Session& s = *it->second;
                s.ack_known = std::max(s.ack_known, a->seq);
                send_held_acks(s, false);
            }
        } else if (auto* f = std::get_if<Outbox::FailedEvent>(&item)) {
            pending_[f->session].add_notice(wire::EventNotice(f->event, f->status, 0, 0, 0, 0));
        } else if (auto* import = std::get_if<Outbox::Import>(&item)) {
            peers_->start(*import);
        } else if (auto* c = std::get_if<Outbox::Completion>(&item)) {
            auto it = sessions_.find(c->record->session);
            if (it == sessions_.end()) continue; // its session is gone: drop the record
            complete(pending_[c->record->session], *it->second, *c->record, c->status);
        }
    }
    for (auto& [id, out] : pending_)
        flush(id, out);
    pending_.clear();
}

namespace {
wire::EventNotice make_notice(const CompletionRecord& record, cl_int status) {
    cl_ulong t[4] = {0, 0, 0, 0};
    if (record.profiling && status == CL_COMPLETE) {
        const cl_profiling_info params[4] = {CL_PROFILING_COMMAND_QUEUED,
                                             CL_PROFILING_COMMAND_SUBMIT,
                                             CL_PROFILING_COMMAND_START, CL_PROFILING_COMMAND_END};
        for (int i = 0; i < 4; ++i)
            clGetEventProfilingInfo(record.native.get(), params[i], sizeof t[i], &t[i], nullptr);
    }
    return wire::EventNotice(record.client_event, status, t[0], t[1], t[2], t[3]);
}
} // namespace

void WorkerServer::complete(MessageWriter& out, Session& session, CompletionRecord& record,
                            cl_int status) {
    // Only the claimant of a record gets here (Outbox::claim), exactly once.
    session.untrack(&record);
    struct DropPayload {
        CompletionRecord& record;
        ~DropPayload() { record.drop_payload(); }
    } drop_payload{record};
    if (record.client_event != 0) out.add_notice(make_notice(record, status));
    switch (record.kind) {
    case CompletionRecord::Kind::Plain:
        break;
    case CompletionRecord::Kind::Read: {
        auto& fbb = out.builder();
        size_t size = record.data.size();
        auto body = wire::CreateReadData(fbb, record.read_offset, size);
        out.add_reply(record.reply_seq, status, wire::ReplyBody::ReadData, body.Union(), {},
                      status == CL_COMPLETE ? &record.data : nullptr);
        break;
    }
    case CompletionRecord::Kind::Export:
        peers_->exported(session.id(), record.token, record.transfer_event, record.read_offset,
                         record.transfer_bytes, std::move(record.data), status);
        break;
    case CompletionRecord::Kind::ImportPiece:
        peers_->written(record.token, record.transfer_bytes, status);
        break;
    case CompletionRecord::Kind::Finish:
        // Everything before the marker is done: publish what has not raced here yet, so the
        // client sees every notice of the queue before clFinish returns.
        for (auto& done : session.sweep_completed(record.queue))
            if (outbox_.claim(*done)) complete(out, session, *done, native_status(*done));
        // Like native clFinish, success even when commands failed: their events say so.
        out.add_reply(record.reply_seq, CL_SUCCESS);
        break;
    }
}

void WorkerServer::flush(uint64_t session_id, MessageWriter& out) {
    if (out.empty()) return;
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    Session& session = *it->second;
    auto frames = out.finish(session_id, session.ack_for_send());
    send_to_client(session, frames);
}

void WorkerServer::send_held_acks(Session& session, bool force) {
    // An ack per batch would double the messages of a busy client: hold acks back until they
    // lag by a quarter of a credit (commands or bytes), so a client streaming at its credit
    // limit never stalls for one, or until the client asks for one or the periodic check forces
    // them out.
    if (session.ack_known == session.ack_sent) return;
    const SessionLimits& limits = session.limits();
    uint64_t command_lag = limits.max_commands_in_flight
                               ? std::max<uint64_t>(limits.max_commands_in_flight / 4, 1)
                               : 1024;
    uint64_t byte_lag = limits.max_bytes_in_flight ? limits.max_bytes_in_flight / 4 : UINT64_MAX;
    if (!force && !session.ack_wanted && session.ack_known - session.ack_sent < command_lag &&
        session.retired_bytes() - session.retired_bytes_sent < byte_lag)
        return;
    send_ack(session);
}

void WorkerServer::send_ack(Session& session) {
    MessageWriter writer;
    auto frames = writer.finish(session.id(), session.ack_for_send());
    send_to_client(session, frames);
}

void WorkerServer::send_to_client(Session& session, std::vector<zmq::message_t>& frames) {
    session.replay.keep(frames);
    // A client that never reports what it received (or stays away while its session produces
    // results) must not grow this process without bound.
    uint64_t max_bytes = 2 * session.limits().max_staging + (uint64_t(256) << 20);
    if ((session.replay.messages() > kMaxQueuedReplies || session.replay.bytes() > max_bytes) &&
        !session.ending()) {
        spdlog::warn("session {:016x} ({}): {} messages ({} bytes) not confirmed by the client; "
                     "closing it",
                     session.id(), session.client(), session.replay.messages(),
                     session.replay.bytes());
        close_reason_ = "the client did not confirm what it received";
        session.close();
        return;
    }
    if (!session.routing_id.empty()) send(session.routing_id, frames);
}

void WorkerServer::check_sessions(bool stopping) {
    report_stats();
    auto now = clock::now();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        Session& s = *it->second;
        if (s.finished()) {
            if (s.checkpointing()) finish_checkpoint(s);
            it = sessions_.erase(it);
            continue;
        }
        send_held_acks(s, true);
        // Commands that failed (a user event set to an error, say) get no callback from POCL.
        for (auto& failed : s.sweep_failed())
            if (outbox_.claim(*failed))
                complete(pending_[s.id()], s, *failed, native_status(*failed));
        if (!stopping && session_timeout_ms_ > 0 &&
            now - s.last_seen > std::chrono::milliseconds(session_timeout_ms_)) {
            spdlog::info("session {:016x} ({}): no client for {} ms, its lease: closing", s.id(),
                         s.client(), session_timeout_ms_);
            close_reason_ =
                "no client for " + std::to_string(session_timeout_ms_) + " ms (the lease ran out)";
            s.close();
            s.last_seen = now + std::chrono::hours(24 * 365); // close once
        }
        ++it;
    }
    for (auto& [id, out] : pending_)
        flush(id, out);
    pending_.clear();
}

std::string WorkerServer::session_dir() const {
    return checkpoint_dir_ + "/" + fmt::format("{:016x}", session_id_);
}

bool WorkerServer::restore(Session& session) {
    const std::string dir = session_dir();
    std::vector<uint8_t> bytes;
    CheckpointHeader header;
    std::string error;
    auto started = clock::now();
    bool ok = read_checkpoint(dir, bytes, &header, &error);
    if (ok && (header.session != session.id() || header.resume_token != resume_token_)) {
        error = "the checkpoint is of another session";
        ok = false;
    }
    if (ok)
        ok = session.exclusive([&] {
            return restore_checkpoint(session, dir, *checkpoint::GetSession(bytes.data()), &error);
        });
    if (!ok) {
        spdlog::error("worker {}: session {:016x} cannot be restored from {}: {}", getpid(),
                      session.id(), dir, error);
        close_reason_ = "its checkpoint could not be restored: " + error;
        session.close();
        return false;
    }
    saved_recv_seq_ = session.next_recv_seq;
    last_save_ = clock::now();
    if (checkpoint_interval_.count() > 0) {
        // Still the session's state until the next save: a daemon killed before that restores
        // it again.
        owns_checkpoint_ = true;
    } else {
        // Consumed: the session lives here now, and a later stop saves it again.
        remove_checkpoint(dir);
    }
    // Read by rgpu-checkpoint-bench: keep the figures' wording.
    const double ms = std::chrono::duration<double, std::milli>(clock::now() - started).count();
    spdlog::info("worker {}: session {:016x} ({}) restored in {:.1f} ms: {} objects, {} bytes of "
                 "buffer and image contents ({:.2f} GB/s), {} messages kept for its client",
                 getpid(), session.id(), session.client(), ms, session.objects.size(),
                 session.device_bytes, ms > 0 ? session.device_bytes / ms / 1e6 : 0.0,
                 session.replay.messages());
    return true;
}

void WorkerServer::finish_checkpoint(Session& session) {
    // The executor is done: every completion it caused is in the outbox; keep them too.
    drain_outbox();
    if (session.closing()) return; // its client said Goodbye while it drained: nothing to save
    std::string error = session.checkpoint_error();
    const CheckpointWriter& writer = *session.checkpoint_writer();
    const auto started = clock::now();
    if (error.empty()) session.checkpoint_writer()->finish(session, resume_token_, &error);
    if (error.empty()) {
        // Read by rgpu-checkpoint-bench: keep the figures' wording. The contents were written
        // on the executor thread (save_objects), the state file here.
        using ms = std::chrono::duration<double, std::milli>;
        const double contents_ms = ms(writer.contents_time()).count();
        spdlog::info("worker {}: session {:016x} ({}) saved to {}: {} bytes of buffer and image "
                     "contents in {:.1f} ms ({:.2f} GB/s), the state in {:.1f} ms",
                     getpid(), session.id(), session.client(), writer.dir(),
                     writer.contents_bytes(), contents_ms,
                     contents_ms > 0 ? writer.contents_bytes() / contents_ms / 1e6 : 0.0,
                     ms(clock::now() - started).count());
        close_reason_ = save_requested_ ? "saved for a move" : "saved for a restart";
    } else {
        spdlog::error("worker {}: session {:016x} ({}) could not be saved: {}", getpid(),
                      session.id(), session.client(), error);
        close_reason_ = "could not be saved: " + error;
    }
}

} // namespace rgpu::daemon
