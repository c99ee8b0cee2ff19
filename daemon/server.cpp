// SPDX-License-Identifier: Apache-2.0
// The daemon's I/O loop.
#include "server.h"

#include "exec_context.h"

#include <decode.h>
#include <protocol.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

namespace rgpu::daemon {

using clock = std::chrono::steady_clock;

namespace {
/// zmq::poll that treats a signal's EINTR as a wake-up, not an error.
void poll_items(zmq::pollitem_t* items, size_t count, std::chrono::milliseconds timeout) {
    try {
        zmq::poll(items, count, timeout);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
    }
}
} // namespace

Server::Server(ServerOptions options, std::vector<LocalDevice> devices)
    : options_(std::move(options)), devices_(std::move(devices)), context_(1),
      router_(context_, zmq::socket_type::router), rng_(std::random_device{}()) {
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::sndhwm, 0);
    router_.set(zmq::sockopt::rcvhwm, 0);
    // Frames above this are dropped by ZeroMQ itself, before we allocate for them.
    router_.set(
        zmq::sockopt::maxmsgsize,
        static_cast<int64_t>(std::max(proto::kMaxEnvelopeBytes, proto::kMaxBulkFrameBytes)));
    router_.set(zmq::sockopt::router_mandatory, 1);
}

Server::~Server() = default;

bool Server::write_ready_file() {
    if (options_.ready_file.empty()) return true;
    std::string tmp = options_.ready_file + ".tmp";
    {
        std::ofstream out(tmp);
        out << endpoint_ << "\n";
        if (!out) return false;
    }
    return std::rename(tmp.c_str(), options_.ready_file.c_str()) == 0;
}

int Server::run(const std::atomic<bool>& stop) {
    try {
        router_.bind(options_.listen);
    } catch (const zmq::error_t& e) {
        spdlog::error("cannot listen on {}: {}", options_.listen, e.what());
        return 1;
    }
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    if (!write_ready_file()) {
        spdlog::error("cannot write ready file {}", options_.ready_file);
        return 1;
    }
    spdlog::info("listening on {} with {} device(s)", endpoint_, devices_.size());

    zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, outbox_.fd(), ZMQ_POLLIN, 0}};
    auto last_check = clock::now();
    while (!stop.load()) {
        poll_items(items, 2, std::chrono::milliseconds(250));
        bool received = items[0].revents & ZMQ_POLLIN;
        if (received) receive_all();
        if (received && !outbox_.has_items() && outbox_.outstanding() > 0) {
            // A command just went to the device and its completion usually follows within
            // microseconds: waiting here (yielding) beats a wake-up through poll.
            auto until = clock::now() + std::chrono::microseconds(50);
            while (!outbox_.has_items() && clock::now() < until)
                std::this_thread::yield();
        }
        drain_outbox();
        if (clock::now() - last_check > std::chrono::milliseconds(200)) {
            check_sessions(false);
            last_check = clock::now();
        }
    }

    spdlog::info("shutting down: closing {} session(s)", sessions_.size());
    for (auto& [id, session] : sessions_)
        session->close();
    auto deadline = clock::now() + std::chrono::seconds(10);
    while ((!sessions_.empty() || outbox_.outstanding() > 0) && clock::now() < deadline) {
        poll_items(&items[1], 1, std::chrono::milliseconds(50));
        drain_outbox();
        check_sessions(true);
    }
    if (!sessions_.empty() || outbox_.outstanding() > 0) {
        // A kernel that never ends must not keep the daemon alive forever.
        spdlog::error("{} session(s) did not finish in time; exiting anyway", sessions_.size());
        std::fflush(nullptr);
        std::_Exit(1);
    }
    spdlog::info("stopped");
    return 0;
}

void Server::receive_all() {
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

void Server::handle(std::vector<zmq::message_t>& frames) {
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
        handle_sessionless(routing, message);
        return;
    }
    auto it = sessions_.find(message.session());
    if (it == sessions_.end() || it->second->routing_id != routing) {
        reject(routing, message.session(), message.first_seq(), "unknown session", envelope);
        return;
    }
    Session& session = *it->second;
    uint32_t count = message.commands() ? message.commands()->size() : 0;
    if (message.first_seq() > session.next_recv_seq) {
        reject(routing, session.id(), message.first_seq(),
               "sequence gap: expected " + std::to_string(session.next_recv_seq), envelope);
        return;
    }
    session.next_recv_seq = std::max(session.next_recv_seq, message.first_seq() + count);
    session.last_seen = clock::now();
    if (count == 0) {
        // Heartbeat: answer from here, so a long build on the executor cannot look like death.
        MessageWriter pong;
        auto frames = pong.finish(session.id(), session.ack_known);
        session.ack_sent = session.ack_known;
        send(routing, frames);
        return;
    }
    // Drop the routing frame: the executor sees the envelope as frame 0, bulk from 1.
    // Erasing moves the envelope's zmq_msg_t, and a small message keeps its bytes inside it:
    // point at the verified root again after the move.
    frames.erase(frames.begin());
    const auto* moved = flatbuffers::GetRoot<wire::ClientMessage>(frames[0].data());
    session.submit(WorkItem{std::move(frames), moved});
}

void Server::handle_sessionless(const std::string& routing, const wire::ClientMessage& message) {
    const auto* commands = message.commands();
    if (!commands || commands->size() != 1) {
        zmq::message_t empty;
        reject(routing, 0, message.first_seq(), "a message without session must hold one command",
               empty);
        return;
    }
    const wire::Command* command = commands->Get(0);
    uint64_t seq = message.first_seq();
    MessageWriter writer;
    auto& fbb = writer.builder();
    if (const auto* hello = command->body_as_Hello()) {
        uint64_t id = 0, token = 0;
        while (id == 0 || sessions_.count(id))
            id = rng_();
        while (token == 0)
            token = rng_();
        std::string client = hello->client_name() ? hello->client_name()->str() : "?";
        client += " pid " + std::to_string(hello->pid());
        std::vector<flatbuffers::Offset<wire::DeviceDesc>> devices;
        for (const auto& d : devices_) {
            std::vector<flatbuffers::Offset<wire::InfoValue>> info;
            for (const auto& [param, value] : d.info)
                info.push_back(wire::CreateInfoValue(fbb, param, fbb.CreateVector(value)));
            devices.push_back(wire::CreateDeviceDesc(fbb, d.index, fbb.CreateVector(info)));
        }
        auto welcome = wire::CreateWelcome(fbb, id, token, fbb.CreateString("rgpu-daemon"),
                                           fbb.CreateVector(devices));
        writer.add_reply(seq, CL_SUCCESS, wire::ReplyBody::Welcome, welcome.Union());
        auto session = std::make_unique<Session>(id, token, client, devices_, outbox_);
        session->routing_id = routing;
        session->next_recv_seq = seq + 1;
        session->executed_seq = seq;
        sessions_.emplace(id, std::move(session));
        spdlog::info("session {:016x} opened for {}", id, client);
        auto frames = writer.finish(id, seq);
        send(routing, frames);
        return;
    }
    if (command->body_as_StatusRequest()) {
        auto status = wire::CreateStatusReply(fbb, static_cast<uint32_t>(sessions_.size()),
                                              static_cast<uint32_t>(devices_.size()), rejected_);
        writer.add_reply(seq, CL_SUCCESS, wire::ReplyBody::StatusReply, status.Union());
        auto frames = writer.finish(0, 0);
        send(routing, frames);
        return;
    }
    zmq::message_t empty;
    reject(routing, 0, seq, "only Hello and StatusRequest may come without a session", empty);
}

void Server::reject(const std::string& routing, uint64_t session, uint64_t seq,
                    const std::string& why, const zmq::message_t& envelope) {
    ++rejected_;
    spdlog::warn("rejected message from session {:016x}: {} (sample {})", session, why,
                 proto::printable_sample(envelope.data(), envelope.size()));
    MessageWriter writer;
    writer.add_reply(seq, kProtocolError, wire::ReplyBody::NONE, 0, why);
    auto frames = writer.finish(session, 0);
    send(routing, frames);
}

void Server::send(const std::string& routing, std::vector<zmq::message_t>& frames) {
    try {
        router_.send(zmq::buffer(routing), zmq::send_flags::sndmore);
        for (size_t i = 0; i < frames.size(); ++i)
            router_.send(frames[i],
                         i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
        // EHOSTUNREACH: the peer is gone; its session times out on its own.
        spdlog::debug("send to a departed peer dropped: {}", e.what());
    }
}

void Server::drain_outbox() {
    auto items = outbox_.drain();
    if (items.empty()) return;
    for (auto& item : items) {
        if (auto* m = std::get_if<Outbox::Message>(&item)) {
            auto it = sessions_.find(m->session);
            if (it == sessions_.end()) continue;
            // Keep order: whatever was gathered for this session goes out first.
            if (auto p = pending_.find(m->session); p != pending_.end())
                flush(m->session, p->second);
            send(it->second->routing_id, m->frames);
        } else if (auto* a = std::get_if<Outbox::Ack>(&item)) {
            if (auto it = sessions_.find(a->session); it != sessions_.end()) {
                Session& s = *it->second;
                s.ack_known = std::max(s.ack_known, a->seq);
                send_held_acks(s, false);
            }
        } else if (auto* f = std::get_if<Outbox::FailedEvent>(&item)) {
            pending_[f->session].add_notice(wire::EventNotice(f->event, f->status, 0, 0, 0, 0));
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

void Server::complete(MessageWriter& out, Session& session, CompletionRecord& record,
                      cl_int status) {
    // Only the claimant of a record gets here (Outbox::claim), exactly once.
    session.untrack(&record);
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

void Server::flush(uint64_t session_id, MessageWriter& out) {
    if (out.empty()) return;
    auto it = sessions_.find(session_id);
    if (it == sessions_.end()) return;
    Session& session = *it->second;
    auto frames = out.finish(session_id, session.ack_known);
    session.ack_sent = session.ack_known;
    send(session.routing_id, frames);
}

void Server::send_held_acks(Session& session, bool force) {
    // An ack per batch would double the messages of a busy client: hold acks back until they
    // lag by a window's worth of commands, or until the periodic check forces them out.
    constexpr uint64_t kAckLag = 1024;
    if (session.ack_known == session.ack_sent) return;
    if (!force && session.ack_known - session.ack_sent < kAckLag) return;
    MessageWriter writer;
    auto frames = writer.finish(session.id(), session.ack_known);
    session.ack_sent = session.ack_known;
    send(session.routing_id, frames);
}

void Server::check_sessions(bool stopping) {
    auto now = clock::now();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        Session& s = *it->second;
        if (s.finished()) {
            it = sessions_.erase(it);
            continue;
        }
        send_held_acks(s, true);
        // Commands that failed (a user event set to an error, say) get no callback from POCL.
        for (auto& failed : s.sweep_failed())
            if (outbox_.claim(*failed))
                complete(pending_[s.id()], s, *failed, native_status(*failed));
        if (!stopping && options_.session_timeout_ms > 0 &&
            now - s.last_seen > std::chrono::milliseconds(options_.session_timeout_ms)) {
            spdlog::info("session {:016x} ({}) silent for {} ms: closing", s.id(), s.client(),
                         options_.session_timeout_ms);
            s.close();
            s.last_seen = now + std::chrono::hours(24 * 365); // close once
        }
        ++it;
    }
    for (auto& [id, out] : pending_)
        flush(id, out);
    pending_.clear();
}

} // namespace rgpu::daemon
