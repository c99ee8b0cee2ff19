// SPDX-License-Identifier: Apache-2.0
// Connection: handshake, the I/O thread, and matching of replies and notices.
#include "connection.h"

#include "lifetime.h"
#include "log.h"

#include <curve.h>
#include <decode.h>

#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace rgpu::icd {

using clock = std::chrono::steady_clock;

namespace {

/// How long a blocking call spins before it sleeps (RGPU_SPIN_US overrides, 0 disables).
const long kSpinMicros = [] {
    const char* v = std::getenv("RGPU_SPIN_US");
    return v ? std::atol(v) : 100L;
}();

std::chrono::milliseconds peer_timeout() {
    if (const char* v = std::getenv("RGPU_PEER_TIMEOUT_MS")) {
        long ms = std::atol(v);
        if (ms > 0) return std::chrono::milliseconds(ms);
    }
    return std::chrono::milliseconds(5 * proto::kHeartbeatMs);
}

/// How long the client tries to get its session back before failing what waits for it.
std::chrono::milliseconds reconnect_timeout() {
    if (const char* v = std::getenv("RGPU_RECONNECT_TIMEOUT_MS")) {
        long ms = std::atol(v);
        if (ms > 0) return std::chrono::milliseconds(ms);
    }
    return std::chrono::milliseconds(60000);
}

void free_detached(void*, void* hint) {
    delete static_cast<flatbuffers::DetachedBuffer*>(hint);
}

bool recv_message(zmq::socket_t& socket, std::vector<zmq::message_t>& frames) {
    zmq::message_t frame;
    if (!socket.recv(frame, zmq::recv_flags::dontwait)) return false;
    for (;;) {
        bool more = frame.more();
        if (frames.size() <= proto::kMaxFrames) frames.push_back(std::move(frame));
        if (!more) return true;
        (void)socket.recv(frame);
    }
}

void poll_items(zmq::pollitem_t* items, size_t count, std::chrono::milliseconds timeout) {
    try {
        zmq::poll(items, count, timeout);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
    }
}

} // namespace

Connection::Connection(std::string endpoint, std::string server_key)
    : endpoint_(std::move(endpoint)), curve_(curve::client_settings_for(server_key, &curve_error_)),
      context_(1), supervisor_(context_, zmq::socket_type::dealer),
      socket_(context_, zmq::socket_type::dealer), monitor_(context_, zmq::socket_type::pair),
      reconnect_timeout_(reconnect_timeout()) {
    configure(supervisor_);
    configure(socket_);
}

Connection::~Connection() {
    if (io_.joinable()) {
        stop_.store(true);
        notifier_.signal();
        io_.join();
    }
    zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

namespace {

using Deadline = std::chrono::steady_clock::time_point;

std::chrono::milliseconds left_until(Deadline deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(1));
}

/// Sends a one-command sessionless-style message once the connection is up (ZMQ_IMMEDIATE makes
/// the socket writable only then). False on timeout.
bool send_when_connected(zmq::socket_t& socket, const flatbuffers::FlatBufferBuilder& fbb,
                         Deadline deadline) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLOUT, 0};
    while (std::chrono::steady_clock::now() < deadline) {
        poll_items(&item, 1, left_until(deadline));
        if (item.revents & ZMQ_POLLOUT) {
            socket.send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()), zmq::send_flags::none);
            return true;
        }
    }
    return false;
}

/// The next message on `socket` before `deadline`, decoded; its first reply in `*reply`.
bool receive_reply(zmq::socket_t& socket, Deadline deadline, std::vector<zmq::message_t>& frames,
                   const wire::Reply** reply, std::string* error) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    while (std::chrono::steady_clock::now() < deadline) {
        poll_items(&item, 1, left_until(deadline));
        if (!(item.revents & ZMQ_POLLIN)) continue;
        frames.clear();
        if (!recv_message(socket, frames)) continue;
        proto::align_frame(frames[0]);
        auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
        if (!decoded || !decoded.message->replies() || decoded.message->replies()->size() != 1) {
            *error = "invalid handshake reply: " + decoded.error;
            return false;
        }
        *reply = decoded.message->replies()->Get(0);
        return true;
    }
    *error = "no answer in time";
    return false;
}

} // namespace

std::string Connection::resolve_worker(const std::string& announced,
                                       const std::string& supervisor) {
    const std::string any = "tcp://*:";
    if (announced.rfind(any, 0) != 0) return announced;
    auto colon = supervisor.rfind(':');
    if (supervisor.rfind("tcp://", 0) != 0 || colon == std::string::npos) return {};
    return supervisor.substr(0, colon + 1) + announced.substr(any.size());
}

Connection::Exchange Connection::say_hello(Deadline deadline, bool resume,
                                           std::vector<zmq::message_t>& frames,
                                           const wire::Reply** reply, std::string* error) {
    flatbuffers::FlatBufferBuilder fbb;
    char name[256] = "rgpu-client";
    if (readlink("/proc/self/exe", name, sizeof name - 1) < 0) std::strcpy(name, "rgpu-client");
    auto hello = wire::CreateHello(fbb, fbb.CreateString(name), static_cast<uint64_t>(getpid()),
                                   resume ? session_ : 0, resume ? resume_token_ : 0);
    std::vector<flatbuffers::Offset<wire::Command>> commands{
        wire::CreateCommand(fbb, wire::Request::Hello, hello.Union(), true)};
    fbb.Finish(
        wire::CreateClientMessage(fbb, proto::kProtocolVersion, 0, 0, fbb.CreateVector(commands)),
        proto::kFileIdentifier);
    if (!send_when_connected(supervisor_, fbb, deadline)) {
        *error = "no daemon answered";
        return Exchange::NoAnswer;
    }
    // The supervisor's connection also carries SessionEnded notices, and answers to earlier
    // attempts that came too late: skip what is not an answer.
    zmq::pollitem_t item{supervisor_.handle(), 0, ZMQ_POLLIN, 0};
    while (clock::now() < deadline) {
        poll_items(&item, 1, left_until(deadline));
        if (!(item.revents & ZMQ_POLLIN)) continue;
        frames.clear();
        if (!recv_message(supervisor_, frames)) continue;
        proto::align_frame(frames[0]);
        auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
        if (!decoded) {
            *error = "invalid handshake reply: " + decoded.error;
            return Exchange::Refused;
        }
        if (const auto* ended = decoded.message->session_ended()) {
            if (resume && ended->session() == session_) {
                *error = ended->reason() ? ended->reason()->str() : "the session ended";
                return Exchange::Refused;
            }
            continue;
        }
        if (!decoded.message->replies() || decoded.message->replies()->size() != 1) continue;
        *reply = decoded.message->replies()->Get(0);
        if (resume && (*reply)->status() == proto::kStatusMoved && (*reply)->message()) {
            *error = (*reply)->message()->str();
            return Exchange::Moved;
        }
        if ((*reply)->status() != CL_SUCCESS || !(*reply)->body_as_Welcome()) {
            *error = (*reply)->message() ? (*reply)->message()->str() : "no reason given";
            return Exchange::Refused;
        }
        return Exchange::Answered;
    }
    *error = "no answer in time";
    return Exchange::NoAnswer;
}

Connection::Exchange Connection::attach(Deadline deadline, uint64_t* acked, std::string* error) {
    // A fresh socket each time: nothing of a previous connection (queued, half-sent) survives.
    if (attached_once_) {
        zmq_socket_monitor(socket_.handle(), nullptr, 0);
        socket_.close();
        monitor_.close();
        socket_ = zmq::socket_t(context_, zmq::socket_type::dealer);
        monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
        configure(socket_);
    }
    attached_once_ = true;
    const std::string monitor = "inproc://rgpu-worker-monitor-" + std::to_string(++generation_);
    if (zmq_socket_monitor(socket_.handle(), monitor.c_str(), ZMQ_EVENT_DISCONNECTED) == 0)
        monitor_.connect(monitor);
    socket_.connect(worker_endpoint_);
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::Command>> commands{
        wire::CreateCommand(fbb, wire::Request::Attach,
                            wire::CreateAttach(fbb, resume_token_, acked_seq_).Union(), true)};
    fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, session_, 0,
                                         fbb.CreateVector(commands), received_seq_.load()),
               proto::kFileIdentifier);
    std::vector<zmq::message_t> frames;
    const wire::Reply* reply = nullptr;
    if (!send_when_connected(socket_, fbb, deadline)) {
        *error = "no answer in time";
        return Exchange::NoAnswer;
    }
    if (!receive_reply(socket_, deadline, frames, &reply, error))
        return error->rfind("invalid", 0) == 0 ? Exchange::Refused : Exchange::NoAnswer;
    if (reply->status() != CL_SUCCESS) {
        *error = reply->message() ? reply->message()->str() : "no reason given";
        return Exchange::Refused;
    }
    auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
    if (acked && decoded) *acked = decoded.message->acked_seq();
    return Exchange::Answered;
}

void Connection::configure(zmq::socket_t& s) {
    s.set(zmq::sockopt::linger, 200);
    s.set(zmq::sockopt::sndhwm, 0);
    s.set(zmq::sockopt::rcvhwm, 0);
    s.set(zmq::sockopt::immediate, 1); // no queuing onto a connection that is not up
    s.set(zmq::sockopt::reconnect_ivl, 100);
    if (curve_) curve::make_client(s, *curve_);
}

bool Connection::open(std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    const bool curve = curve_.has_value();
    if (!curve_error_.empty()) {
        // Never in the clear when encryption was asked for.
        log()->error("{}; not connecting to the daemon at {}", curve_error_, endpoint_);
        return false;
    }
    try {
        supervisor_.connect(endpoint_);
        std::vector<zmq::message_t> frames;
        const wire::Reply* reply = nullptr;
        std::string error;
        switch (say_hello(deadline, false, frames, &reply, &error)) {
        case Exchange::NoAnswer:
            log()->info("daemon at {}: {}{}", endpoint_, error,
                        curve ? " (CurveZMQ: is RGPU_SERVER_KEY, or the key after '|' in "
                                "RGPU_SERVERS, that daemon's public key, and "
                                "does it allow this client's key?)"
                              : "");
            return false;
        case Exchange::Refused:
        case Exchange::Moved: // only an answer to a resume
            log()->error("daemon at {} refused the session: {}", endpoint_, error);
            return false;
        case Exchange::Answered:
            break;
        }
        const wire::Welcome* welcome = reply->body_as_Welcome();
        session_ = welcome->session();
        resume_token_ = welcome->resume_token();
        set_worker_endpoint(resolve_worker(
            welcome->worker_endpoint() ? welcome->worker_endpoint()->str() : "", endpoint_));
        if (worker_endpoint_.empty()) {
            log()->error("daemon at {} announced no usable worker endpoint", endpoint_);
            return false;
        }
        if (const auto* limits = welcome->limits()) {
            if (limits->max_frames() >= 2) max_frames_ = limits->max_frames();
            if (limits->max_envelope_bytes() >= 4096)
                max_envelope_bytes_ = limits->max_envelope_bytes();
            if (limits->max_bulk_frame_bytes() >= 4096)
                max_bulk_frame_bytes_ = limits->max_bulk_frame_bytes();
            max_device_memory_ = limits->max_device_memory();
            max_commands_in_flight_ = limits->max_commands_in_flight();
            max_bytes_in_flight_ = limits->max_bytes_in_flight();
            if (max_commands_in_flight_)
                batch_commands_ = std::max<size_t>(1, max_commands_in_flight_ / 2);
            if (max_bytes_in_flight_) batch_bytes_ = std::max<size_t>(1, max_bytes_in_flight_ / 2);
        }
        if (welcome->devices()) {
            for (const auto* d : *welcome->devices()) {
                RemoteDevice device;
                device.index = d->index();
                if (d->info())
                    for (const auto* v : *d->info())
                        device.info[v->param()] =
                            v->value()
                                ? std::vector<uint8_t>(v->value()->begin(), v->value()->end())
                                : std::vector<uint8_t>{};
                devices_.push_back(std::move(device));
            }
        }

        // Attach: the session lives in a worker process of its own; talk to it directly.
        if (attach(deadline, nullptr, &error) != Exchange::Answered) {
            log()->error("session worker at {} did not take the session: {}", worker_endpoint_,
                         error);
            return false;
        }
        last_sent_ = last_heard_ = clock::now();
        io_ = std::thread([this] { run(); });
        log()->debug("session {:016x} open on {} (worker {}) with {} device(s)", session_,
                     endpoint_, worker_endpoint_, devices_.size());
        return true;
    } catch (const zmq::error_t& e) {
        log()->warn("cannot connect to {}: {}", endpoint_, e.what());
    }
    return false;
}

void Connection::seal_locked() {
    if (commands_.empty()) return;
    auto commands = fbb_.CreateVector(commands_);
    uint64_t received = received_seq_.load();
    auto msg = wire::CreateClientMessage(fbb_, proto::kProtocolVersion, session_, first_seq_,
                                         commands, received);
    fbb_.Finish(msg, proto::kFileIdentifier);
    Outgoing out;
    out.frames.reserve(1 + bulk_.size());
    if (fbb_.GetSize() <= kCopiedEnvelopeBytes) {
        // Kept until acknowledged: a small message is copied to its own size (the builder keeps
        // its block for the next), so a window of small messages holds what it counts, not a
        // 64 KiB block each.
        out.frames.emplace_back(fbb_.GetBufferPointer(), fbb_.GetSize());
        fbb_.Clear();
    } else {
        auto* detached = new flatbuffers::DetachedBuffer(fbb_.Release());
        out.frames.emplace_back(detached->data(), detached->size(), free_detached, detached);
    }
    for (auto& m : bulk_)
        out.frames.push_back(std::move(m));
    out.first_seq = first_seq_;
    out.last_seq = first_seq_ + commands_.size() - 1;
    out.received_seq = received;
    ready_.push_back(std::move(out));
    commands_.clear();
    bulk_.clear();
    batch_bulk_ = 0;
}

Answer Connection::wait(Call& call) {
    // No wake-up needed: append() woke the I/O thread when the batch became non-empty, and the
    // I/O thread sends the whole batch each time it wakes, so this call's command is on its way.
    // A round trip is tens of microseconds; a sleeping thread takes about as long to wake.
    // Spin briefly first, yielding so the threads that produce the answer keep running.
    auto spin_until = clock::now() + std::chrono::microseconds(kSpinMicros);
    while (!call.ready.load(std::memory_order_acquire) && clock::now() < spin_until)
        std::this_thread::yield();
    std::unique_lock lock(call.mutex);
    call.cv.wait(lock, [&] { return call.done; });
    return Answer{call.status, call.message, call.reply};
}

void Connection::track_event(Event* event) {
    std::lock_guard lock(pending_mutex_);
    if (broken_.load()) {
        event->status.store(CL_OUT_OF_RESOURCES); // no notice will ever come
        return;
    }
    hold(event);
    events_.emplace(event->id, event);
}

void Connection::wait_events(const std::vector<Event*>& events) {
    auto all_complete = [&] {
        for (Event* e : events)
            if (!e->complete()) return false;
        return true;
    };
    auto spin_until = clock::now() + std::chrono::microseconds(kSpinMicros);
    while (!all_complete() && clock::now() < spin_until)
        std::this_thread::yield();
    std::unique_lock lock(pending_mutex_);
    events_cv_.wait(lock, all_complete);
}

void Connection::notify_event_waiters() {
    std::lock_guard lock(pending_mutex_);
    events_cv_.notify_all();
}

void Connection::run() {
    const auto heartbeat = std::chrono::milliseconds(proto::kHeartbeatMs);
    const auto dead_after = peer_timeout();
    while (!stop_.load()) {
        // Rebuilt each round: a reconnect replaces the worker socket and its monitor.
        zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                   {nullptr, notifier_.fd(), ZMQ_POLLIN, 0},
                                   {supervisor_.handle(), 0, ZMQ_POLLIN, 0},
                                   {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
        auto wait = heartbeat;
        if (reconnecting_)
            wait = std::clamp(
                std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - clock::now()),
                std::chrono::milliseconds(0), heartbeat);
        poll_items(items, 4, wait);
        notifier_.clear();
        receive_all();
        if (items[2].revents & ZMQ_POLLIN) read_supervisor();
        // After the replies: whatever the worker sent before it went is applied first.
        if (items[3].revents & ZMQ_POLLIN) read_monitor();
        take_control_request();
        if (broken_.load() || detached_) continue;
        if (reconnecting_) {
            if (clock::now() >= next_attempt_) try_reconnect();
            continue;
        }
        send_ready();
        report_receipt(false);
        auto now = clock::now();
        if (now - last_sent_ >= heartbeat) send_empty(false);
        if (now - last_heard_ > dead_after)
            lost("silent for " + std::to_string(dead_after.count()) + " ms");
    }
    // Goodbye lets the daemon free the session now instead of after its lease.
    if (!broken_.load() && !reconnecting_ && !detached_) {
        {
            std::lock_guard lock(send_mutex_);
            uint64_t seq = next_seq_++;
            if (commands_.empty()) first_seq_ = seq;
            commands_.push_back(wire::CreateCommand(fbb_, wire::Request::Goodbye,
                                                    wire::CreateGoodbye(fbb_).Union(), false));
        }
        send_ready();
    }
}

void Connection::apply_ack(uint64_t acked) {
    if (acked <= acked_seq_) return;
    acked_seq_ = acked;
    while (!unacked_.empty() && unacked_.front().last_seq <= acked_seq_) {
        for (auto& f : unacked_.front().frames)
            unacked_bytes_ -= f.size();
        unacked_.pop_front();
    }
}

void Connection::send_empty(bool receipt_only) {
    // An empty batch: the worker answers it from its I/O thread (a heartbeat, or a wait for
    // credit), or, as a receipt, only notes what this client received.
    flatbuffers::FlatBufferBuilder fbb(128);
    uint64_t received = received_seq_.load();
    fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, session_, 0, 0, received,
                                         receipt_only),
               proto::kFileIdentifier);
    if (socket_.send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()), zmq::send_flags::dontwait))
        note_receipt_sent(received);
    if (!receipt_only) last_sent_ = clock::now();
}

void Connection::note_receipt_sent(uint64_t received) {
    if (received > receipt_sent_) {
        receipt_sent_ = received;
        receipt_bytes_ = 0;
    }
}

void Connection::report_receipt(bool force) {
    // The worker keeps what it sent until told it arrived (read data among it, against its
    // staging budget): report often enough that it never waits for this.
    uint64_t received = received_seq_.load();
    if (received == receipt_sent_) return;
    if (force || received - receipt_sent_ >= 64 || receipt_bytes_ >= (1u << 20)) send_empty(true);
}

bool Connection::credit_allows(const Outgoing& out) const {
    if (unacked_.empty()) return true; // one message always goes when nothing is in flight
    uint64_t commands = out.last_seq - out.first_seq + 1;
    if (max_commands_in_flight_ && sent_seq_ - acked_seq_ + commands > max_commands_in_flight_)
        return false;
    return !max_bytes_in_flight_ || unacked_bytes_ + out.bytes() <= max_bytes_in_flight_;
}

void Connection::send_ready() {
    if (broken_.load() || reconnecting_) return;
    std::deque<Outgoing> batch;
    {
        std::lock_guard lock(send_mutex_);
        seal_locked();
        batch.swap(ready_);
    }
    auto put_back = [&] {
        std::lock_guard lock(send_mutex_);
        while (!batch.empty()) {
            ready_.push_front(std::move(batch.back()));
            batch.pop_back();
        }
    };
    while (!batch.empty()) {
        Outgoing& out = batch.front();
        if (!credit_allows(out)) {
            // Out of credit: the worker still has to take up what was sent. Wait for its acks
            // (they come unasked every quarter credit; ask once in case this wait needs more).
            if (!credit_asked_) send_empty(false);
            credit_asked_ = true;
            put_back();
            return;
        }
        // Kept for a resend after a reconnect; large frames share their buffer, nothing is copied.
        Outgoing kept;
        kept.first_seq = out.first_seq;
        kept.last_seq = out.last_seq;
        kept.received_seq = out.received_seq;
        kept.frames.resize(out.frames.size());
        for (size_t i = 0; i < out.frames.size(); ++i)
            kept.frames[i].copy(out.frames[i]);
        // Never block: with ZMQ_IMMEDIATE a send to a daemon that is not connected would wait
        // forever. What cannot go now goes back to the front of the queue for the next round.
        auto first = out.frames.size() > 1 ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                           : zmq::send_flags::dontwait;
        if (!socket_.send(out.frames[0], first)) {
            put_back();
            return;
        }
        // Later parts of a message whose first part was accepted are accepted too.
        for (size_t i = 1; i < out.frames.size(); ++i)
            socket_.send(out.frames[i], i + 1 < out.frames.size() ? zmq::send_flags::sndmore
                                                                  : zmq::send_flags::none);
        for (auto& f : kept.frames)
            unacked_bytes_ += f.size();
        unacked_.push_back(std::move(kept));
        sent_seq_ = out.last_seq;
        note_receipt_sent(out.received_seq);
        credit_asked_ = false;
        batch.pop_front();
        last_sent_ = clock::now();
    }
}

void Connection::read_supervisor() {
    for (int n = 0; n < 64; ++n) {
        std::vector<zmq::message_t> frames;
        if (!recv_message(supervisor_, frames)) return;
        proto::align_frame(frames[0]);
        auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
        log()->debug("daemon at {}: a notice from its supervisor{}", endpoint_,
                     decoded ? "" : " that does not decode: " + decoded.error);
        if (!decoded) continue;
        const auto* ended = decoded.message->session_ended();
        if (!ended || ended->session() != session_ || broken_.load()) continue;
        log()->error("daemon at {} ended session {:016x}: {}", endpoint_, session_,
                     ended->reason() ? ended->reason()->str() : "no reason given");
        fail_everything(CL_OUT_OF_RESOURCES);
    }
}

void Connection::read_monitor() {
    for (;;) {
        // Two frames per event: 16-bit event id + 32-bit value, then the endpoint.
        std::vector<zmq::message_t> frames;
        if (!recv_message(monitor_, frames)) return;
        uint16_t event = 0;
        if (!frames.empty() && frames[0].size() >= sizeof event)
            std::memcpy(&event, frames[0].data(), sizeof event);
        if (event != ZMQ_EVENT_DISCONNECTED) continue;
        lost("the connection to the session's worker broke");
    }
}

cl_int Connection::to_cl_status(int32_t status) {
    // Wire-only statuses say the daemon refused or lost the request: for an application that
    // is a failure of the implementation's resources, the code every call may return.
    return proto::is_wire_status(status) ? CL_OUT_OF_RESOURCES : status;
}

void Connection::receive_all() {
    for (int n = 0; n < 1024; ++n) {
        std::vector<zmq::message_t> frames;
        if (!recv_message(socket_, frames)) return;
        handle(frames);
    }
}

void Connection::handle(std::vector<zmq::message_t>& frames) {
    proto::align_frame(frames[0]);
    auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
    if (!decoded) {
        log()->error("daemon at {} sent an invalid message: {}", endpoint_, decoded.error);
        return;
    }
    const wire::DaemonMessage& msg = *decoded.message;
    if (msg.replies())
        for (const auto* reply : *msg.replies())
            if (reply->status() == proto::kStatusUnknownSession) {
                // This connection is not (or no longer) the session's: a worker that took
                // another connection, or a new process on its port. The supervisor knows
                // whether the session still exists.
                lost("the worker does not know this connection");
                return;
            }
    last_heard_ = clock::now();
    if (msg.released()) {
        lost("released by the daemon");
        return;
    }
    if (msg.seq() != 0) {
        uint64_t received = received_seq_.load();
        if (msg.seq() <= received) return; // sent again after a reconnect: seen already
        if (msg.seq() != received + 1)
            log()->error("daemon at {}: session {:016x} missed messages {}..{}", endpoint_,
                         session_, received + 1, msg.seq() - 1);
        received_seq_.store(msg.seq());
        for (auto& f : frames)
            receipt_bytes_ += f.size();
    }
    apply_ack(msg.acked_seq());
    auto message = std::make_shared<std::vector<zmq::message_t>>(std::move(frames));
    // What kernels printed comes before the notices of the commands that printed it, so it is
    // on the application's standard output by the time their events complete.
    if (msg.output() && msg.output()->size()) write_kernel_output(*msg.output());
    // Notices first: a Finish reply in the same message must find its queue's events complete.
    if (msg.events())
        for (const auto* notice : *msg.events())
            apply_notice(*notice);
    if (msg.replies())
        for (const auto* reply : *msg.replies())
            apply_reply(*reply, message);
    if (msg.events() && msg.events()->size()) notify_event_waiters();
}

void Connection::write_kernel_output(const flatbuffers::Vector<uint8_t>& bytes) {
    // Through stdio, so it lands wherever the application sent its standard output (freopen),
    // after what the application itself printed before.
    static std::mutex mutex; // one daemon's output at a time, never interleaved mid-chunk
    std::lock_guard lock(mutex);
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::fflush(stdout);
}

void Connection::apply_notice(const wire::EventNotice& notice) {
    Event* event = nullptr;
    {
        std::lock_guard lock(pending_mutex_);
        auto it = events_.find(notice.event());
        if (it == events_.end()) return;
        event = it->second;
        events_.erase(it);
    }
    cl_ulong times[4] = {notice.queued(), notice.submit(), notice.start(), notice.end()};
    if (event->pending_transfers > 0) {
        // A read's event completes only once its data has landed in the application's memory.
        event->notice_deferred = true;
        event->deferred_status = to_cl_status(notice.status());
        std::memcpy(event->times, times, sizeof times);
        return;
    }
    complete_event(event, to_cl_status(notice.status()), times);
}

void Connection::complete_event(Event* event, cl_int status, const cl_ulong* times) {
    if (times) std::memcpy(event->times, times, sizeof event->times);
    std::vector<EventCallback> callbacks;
    std::vector<std::function<void(cl_int)>> hooks;
    {
        std::lock_guard lock(event->mutex);
        event->status.store(status > CL_COMPLETE ? CL_COMPLETE : status);
        callbacks.swap(event->callbacks);
        hooks.swap(event->hooks);
    }
    // Hooks only post to other daemons' connections: safe on this thread, never blocking.
    for (auto& hook : hooks)
        hook(event->status.load());
    for (const auto& cb : callbacks)
        callbacks_.post(event, cb.status_for(event->status.load()), cb.fn, cb.data);
    notify_event_waiters();
    drop(event); // the hold taken by track_event
}

void Connection::finish_call(const std::shared_ptr<Call>& call, cl_int status) {
    if (call->kind == Call::Kind::Read && call->event) {
        Event* event = call->event;
        if (--event->pending_transfers == 0 && event->notice_deferred)
            complete_event(event, status != CL_SUCCESS ? status : event->deferred_status, nullptr);
        else if (status != CL_SUCCESS && !event->notice_deferred) {
            // The read failed before any notice: the notice may still come; record the error.
            event->deferred_status = status;
        }
        drop(event);
        call->event = nullptr;
    }
    {
        std::lock_guard lock(call->mutex);
        call->status = status;
        call->done = true;
        call->ready.store(true, std::memory_order_release);
    }
    call->cv.notify_one();
}

void Connection::place(const Call& call, uint64_t offset, const uint8_t* data, uint64_t size) {
    const HostLayout& l = call.layout;
    if (l.row_bytes == 0) {
        std::memcpy(call.destination + offset, data, size);
        return;
    }
    // Packed offset -> (slice, row, byte in row) -> the application's pitched memory.
    const uint64_t slice_bytes = uint64_t{l.row_bytes} * l.rows;
    while (size > 0) {
        uint64_t z = offset / slice_bytes, y = offset % slice_bytes / l.row_bytes,
                 x = offset % l.row_bytes;
        uint64_t n = std::min<uint64_t>(l.row_bytes - x, size);
        std::memcpy(call.destination + z * l.slice_stride + y * l.row_stride + x, data, n);
        offset += n;
        data += n;
        size -= n;
    }
}

void Connection::apply_reply(const wire::Reply& reply, const Received& message) {
    std::shared_ptr<Call> call;
    {
        std::lock_guard lock(pending_mutex_);
        auto it = calls_.find(reply.seq());
        if (it != calls_.end()) call = it->second;
    }
    if (!call) {
        if (reply.status() != CL_SUCCESS) {
            log()->warn("command {} failed on the daemon with {}{}{}", reply.seq(), reply.status(),
                        reply.message() ? ": " : "", reply.message() ? reply.message()->str() : "");
            async_error_.store(to_cl_status(reply.status()));
        }
        return;
    }
    auto erase = [&] {
        std::lock_guard lock(pending_mutex_);
        calls_.erase(reply.seq());
    };
    if (proto::is_wire_status(reply.status()))
        log()->warn("command {} refused by the daemon: {}", reply.seq(),
                    reply.message() ? reply.message()->str() : "no reason given");
    if (call->kind == Call::Kind::Reply) {
        erase();
        call->message = message;
        call->reply = &reply;
        finish_call(call, to_cl_status(reply.status()));
        return;
    }
    // A read chunk (or the read's failure).
    const wire::ReadData* data = reply.body_as_ReadData();
    if (reply.status() != CL_SUCCESS || !data) {
        erase();
        finish_call(call, reply.status() != CL_SUCCESS ? to_cl_status(reply.status())
                                                       : CL_OUT_OF_RESOURCES);
        return;
    }
    uint32_t index = reply.data_frame();
    if (index == 0 || index >= message->size() || (*message)[index].size() != data->size() ||
        data->offset() > call->size || data->size() > call->size - data->offset() ||
        data->size() > call->remaining) {
        log()->error("daemon sent a malformed read chunk for command {}", reply.seq());
        erase();
        finish_call(call, CL_OUT_OF_RESOURCES);
        return;
    }
    place(*call, data->offset(), static_cast<const uint8_t*>((*message)[index].data()),
          data->size());
    call->remaining -= data->size();
    if (call->remaining == 0) {
        erase();
        finish_call(call, CL_SUCCESS);
    }
}

void Connection::fail_everything(cl_int status) {
    std::vector<std::shared_ptr<Call>> calls;
    std::vector<Event*> events;
    {
        std::lock_guard lock(pending_mutex_);
        broken_.store(true); // under the lock: append() registers no call after this
        for (auto& [seq, c] : calls_)
            calls.push_back(c);
        for (auto& [id, e] : events_)
            events.push_back(e);
        calls_.clear();
        events_.clear();
    }
    for (auto& c : calls)
        finish_call(c, status);
    for (Event* e : events)
        complete_event(e, status, nullptr);
    // An attach waiting for the session to come back gets the news too.
    finish_control(attach_waiter_, status);
}

} // namespace rgpu::icd
