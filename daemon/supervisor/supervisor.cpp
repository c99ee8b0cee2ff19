// SPDX-License-Identifier: Apache-2.0
// The supervisor's loop: handshakes, the worker pool, operator requests, ended sessions.
#include "supervisor.h"

#include <decode.h>
#include <printable.h>
#include <protocol.h>
#include <secure_random.h>

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace rgpu::daemon {

using clock = std::chrono::steady_clock;

namespace {

/// How long a Hello may wait for a worker before it is refused.
constexpr auto kHelloWait = std::chrono::seconds(20);

void poll_items(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout) {
    try {
        zmq::poll(items.data(), items.size(), timeout);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
    }
}

/// The sender's address ("127.0.0.1"), or "local" for ipc:// peers.
std::string peer_address(zmq::message_t& frame) {
    const char* address = zmq_msg_gets(frame.handle(), "Peer-Address");
    return address && *address ? address : "local";
}

bool is_local_peer(const std::string& peer) {
    return peer == "local" || peer.rfind("127.", 0) == 0 || peer == "::1" ||
           peer.rfind("::ffff:127.", 0) == 0;
}

/// Where a worker binds: the supervisor's own interface with a free port, or an ipc path
/// beside the supervisor's.
std::string worker_bind(const std::string& endpoint, uint64_t serial) {
    if (endpoint.rfind("ipc://", 0) == 0)
        return endpoint + ".w" + std::to_string(getpid()) + "." + std::to_string(serial);
    auto colon = endpoint.rfind(':');
    return endpoint.substr(0, colon) + ":*";
}

/// What the client is told: "tcp://*:PORT" (the host it reached us at) or the ipc path.
std::string announced(const std::string& worker_endpoint) {
    if (worker_endpoint.rfind("tcp://", 0) != 0) return worker_endpoint;
    return "tcp://*:" + worker_endpoint.substr(worker_endpoint.rfind(':') + 1);
}

std::string self_executable() {
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return {};
    path[n] = '\0';
    return path;
}

} // namespace

Supervisor::Supervisor(SupervisorOptions options, std::vector<LocalDevice> devices)
    : options_(std::move(options)), devices_(std::move(devices)), context_(1),
      router_(context_, zmq::socket_type::router) {
    router_.set(zmq::sockopt::linger, 0);
    // Only handshakes and operator requests come here: small messages.
    router_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(1 << 20));
    router_.set(zmq::sockopt::router_mandatory, 1);
    if (options_.curve_keys) {
        CurveAccess access = options_.curve_access;
        access.operators.push_back(options_.curve_keys->public_key);
        zap_ = std::make_unique<ZapHandler>(context_, std::move(access));
        curve::make_server(router_, *options_.curve_keys);
        // Moves reach other daemons as this one: those that share its key pair let it in.
        curve::set_client(
            curve::ClientSettings{options_.curve_keys->public_key, *options_.curve_keys});
    }
    launch_.executable = self_executable();
    launch_.log_level = options_.log_level;
    launch_.args = options_.worker_args;
    if (options_.limits.max_device_memory == 0) {
        // No quota configured: a session may hold what the largest device has, no more.
        for (const auto& d : devices_)
            for (const auto& [param, value] : d.info)
                if (param == CL_DEVICE_GLOBAL_MEM_SIZE && value.size() == sizeof(cl_ulong)) {
                    cl_ulong global = 0;
                    std::memcpy(&global, value.data(), sizeof global);
                    options_.limits.max_device_memory =
                        std::max<uint64_t>(options_.limits.max_device_memory, global);
                }
    }
}

Supervisor::~Supervisor() = default;

std::unique_ptr<WorkerProcess> Supervisor::start_worker() {
    WorkerLaunch launch = launch_;
    launch.bind = worker_bind(endpoint_, ++worker_serial_);
    return std::make_unique<WorkerProcess>(launch);
}

bool Supervisor::write_ready_file() {
    if (options_.ready_file.empty()) return true;
    std::string tmp = options_.ready_file + ".tmp";
    {
        std::ofstream out(tmp);
        out << endpoint_ << "\n";
        if (!out) return false;
    }
    return std::rename(tmp.c_str(), options_.ready_file.c_str()) == 0;
}

size_t Supervisor::count(WorkerProcess::State state) const {
    size_t n = 0;
    for (auto& w : workers_)
        n += !w->reaped() && !w->control_closed && w->state == state;
    return n;
}

int Supervisor::run(const std::atomic<bool>& stop) {
    try {
        router_.bind(options_.listen);
    } catch (const zmq::error_t& e) {
        spdlog::error("cannot listen on {}: {}", options_.listen, e.what());
        return 1;
    }
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    if (launch_.executable.empty()) {
        spdlog::error("cannot find this program's own path to start workers");
        return 1;
    }
    load_checkpoints();
    fill_pool();
    if (!write_ready_file()) {
        spdlog::error("cannot write ready file {}", options_.ready_file);
        return 1;
    }
    spdlog::info("listening on {} with {} device(s); {} warm worker(s), at most {} session(s)",
                 endpoint_, devices_.size(), options_.warm_workers, options_.max_sessions);

    auto last_check = clock::now();
    auto last_watch = last_check;
    while (!stop.load()) {
        // The ZAP socket too (when there is one): a handshake waits for its answer.
        std::vector<zmq::pollitem_t> items = {
            {router_.handle(), 0, ZMQ_POLLIN, 0},
            {zap_ ? zap_->socket().handle() : nullptr, zap_ ? 0 : -1, ZMQ_POLLIN, 0}};
        std::vector<WorkerProcess*> polled;
        for (auto& w : workers_) {
            if (w->control_closed) continue;
            items.push_back({nullptr, w->control().fd(), ZMQ_POLLIN, 0});
            polled.push_back(w.get());
        }
        items.push_back({nullptr, notifier_.fd(), ZMQ_POLLIN, 0});
        poll_items(items, std::chrono::milliseconds(250));
        notifier_.clear();
        if (zap_) zap_->answer_all();
        bool changed = false;
        for (size_t i = 0; i < polled.size(); ++i)
            if (items[2 + i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
                read_control(*polled[i]);
                changed = true;
            }
        if (items[0].revents & ZMQ_POLLIN) receive_all();
        if (clock::now() - last_watch > std::chrono::seconds(1)) {
            watch_workers();
            last_watch = clock::now();
        }
        share_pool_load();
        if (changed || clock::now() - last_check > std::chrono::milliseconds(200)) {
            reap();
            fill_pool();
            serve_pending();
            last_check = clock::now();
        }
    }
    shutdown();
    return 0;
}

void Supervisor::shutdown() {
    size_t serving = count(WorkerProcess::State::Serving);
    spdlog::info("shutting down: stopping {} worker(s), {} serving a session", workers_.size(),
                 serving);
    for (auto& hello : pending_)
        refuse(hello.routing, hello.seq, CL_OUT_OF_RESOURCES, "the daemon is shutting down");
    pending_.clear();
    for (auto& w : workers_) {
        if (w->state == WorkerProcess::State::Serving && !w->closed_cleanly)
            w->close_reason = "the daemon is shutting down";
        w->signal(SIGTERM);
    }
    auto deadline = clock::now() + options_.grace;
    for (;;) {
        // A worker that saved its session says so (SessionClosed) before it exits: that session
        // did not end, and its client must not be told it did.
        for (auto& w : workers_)
            if (!w->control_closed) read_control(*w);
        reap();
        if (workers_.empty() || clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!workers_.empty()) {
        spdlog::warn("{} worker(s) still running after the {} ms grace period: killing them",
                     workers_.size(), options_.grace.count());
        for (auto& w : workers_)
            w->signal(SIGKILL);
        while (!workers_.empty()) {
            reap();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    // The SessionEnded notices just sent must reach their clients before the socket closes (a
    // zero linger would drop what ZeroMQ has not written yet, and those clients would wait for
    // their peer timeout); bounded, since a client may be gone.
    router_.set(zmq::sockopt::linger, 1000);
    spdlog::info("stopped");
}

void Supervisor::fill_pool() {
    auto now = clock::now();
    if (now < next_spawn_) return;
    size_t live = 0;
    for (auto& w : workers_)
        live += !w->reaped();
    size_t ready = count(WorkerProcess::State::Starting) + count(WorkerProcess::State::Warm);
    // Enough for the Hellos waiting, at least the warm target; never more processes than the
    // session limit plus the pool.
    size_t want = std::max<size_t>(options_.warm_workers, pending_.size());
    size_t cap = options_.max_sessions + options_.warm_workers;
    while (ready < want && live < cap) {
        try {
            workers_.push_back(start_worker());
            spdlog::debug("started worker {}", workers_.back()->pid());
        } catch (const std::exception& e) {
            spdlog::error("cannot start a worker: {}", e.what());
            next_spawn_ = now + std::chrono::seconds(1);
            return;
        }
        ++ready;
        ++live;
    }
}

void Supervisor::read_control(WorkerProcess& worker) {
    for (;;) {
        const control::ControlMessage* message = nullptr;
        std::string error;
        auto status = worker.control().receive(&message, &error);
        if (status == ControlChannel::Status::Nothing) return;
        if (status != ControlChannel::Status::Message) {
            if (status == ControlChannel::Status::Invalid) {
                // A worker runs client kernels: treat a garbled channel as a hostile worker.
                spdlog::error("worker {}: {}; killing it", worker.pid(), error);
                worker.signal(SIGKILL);
            }
            worker.control_closed = true;
            return;
        }
        if (const auto* ready = message->body_as_WorkerReady();
            ready && worker.state == WorkerProcess::State::Starting && ready->endpoint()) {
            worker.endpoint = ready->endpoint()->str();
            worker.state = WorkerProcess::State::Warm;
            if (worker.restore) assign_restored(worker);
            failed_starts_ = 0;
            spdlog::debug(
                "worker {} warm on {} after {} ms", worker.pid(), worker.endpoint,
                std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - worker.started)
                    .count());
        } else if (const auto* stats = message->body_as_WorkerStats();
                   stats && worker.state == WorkerProcess::State::Serving) {
            // A worker's own count, believed only as far as it can move the total: it only grows.
            worker.rejected_messages =
                std::max(worker.rejected_messages, stats->rejected_messages());
            worker.objects = stats->objects();
            worker.device_bytes = stats->device_bytes();
            worker.commands_in_flight = stats->commands_in_flight();
            worker.bytes_in_flight = stats->bytes_in_flight();
            worker.attached = stats->attached();
            std::vector<MemberLoad> members;
            if (stats->members())
                for (const auto* m : *stats->members())
                    members.push_back(MemberLoad{m->queued(), m->running(), m->placements(),
                                                 m->queues(), m->migrations(), m->migrated_bytes(),
                                                 m->busy_ns(), m->resident_bytes(),
                                                 m->queued_work_ns()});
            if (members != worker.members) {
                worker.members = std::move(members);
                pool_load_changed_ = true;
            }
        } else if (const auto* refused = message->body_as_SaveRefused();
                   refused && worker.state == WorkerProcess::State::Serving) {
            refuse_move(worker, refused->reason() ? printable(refused->reason()->str()) : "");
        } else if (const auto* closed = message->body_as_SessionClosed();
                   closed && worker.state == WorkerProcess::State::Serving) {
            worker.closed_cleanly = true;
            worker.close_reason = closed->reason() ? printable(closed->reason()->str()) : "";
        } else {
            spdlog::error("worker {}: unexpected control message; killing it", worker.pid());
            worker.signal(SIGKILL);
            worker.control_closed = true;
            return;
        }
    }
}

void Supervisor::reap() {
    for (auto it = workers_.begin(); it != workers_.end();) {
        WorkerProcess& w = **it;
        auto status = w.try_reap();
        if (!status) {
            ++it;
            continue;
        }
        if (w.state == WorkerProcess::State::Serving) {
            end_session(w, *status);
        } else if (w.state == WorkerProcess::State::Starting) {
            spdlog::error("worker {} ended before it was ready: {}", w.pid(),
                          describe_wait_status(*status));
            if (w.restore) restoring_.erase(w.session); // its checkpoint stays for a next start
            // Back off so a worker that cannot start does not become a spawn storm.
            ++failed_starts_;
            next_spawn_ = clock::now() +
                          std::chrono::milliseconds(std::min<uint32_t>(failed_starts_, 10) * 500);
        } else {
            spdlog::warn("warm worker {} ended: {}", w.pid(), describe_wait_status(*status));
        }
        rejected_by_ended_workers_ += w.rejected_messages;
        retire_pool_load(w);
        it = workers_.erase(it);
    }
}

uint64_t Supervisor::rejected_messages() const {
    uint64_t total = rejected_ + rejected_by_ended_workers_;
    for (const auto& w : workers_)
        total += w->rejected_messages;
    return total;
}

void Supervisor::watch_workers() {
    // Threads cannot be bounded by a process limit (RLIMIT_NPROC counts a whole user, and not
    // root's), so the supervisor looks: a worker beyond its bound is killed, which ends only
    // its session.
    for (auto& w : workers_) {
        if (w->reaped() || w->state != WorkerProcess::State::Serving || !w->kill_reason.empty())
            continue;
        // A session that cannot drain (a kernel that never ends) cannot be saved: a move gets
        // the grace period (at least 30 s), like a stop, and then ends the session.
        auto move_limit =
            std::max<std::chrono::milliseconds>(options_.grace, std::chrono::seconds(30));
        if (!w->moving_to.empty() && clock::now() - w->move_started > move_limit) {
            w->kill_reason = fmt::format("it could not be drained for a move in {} s",
                                         move_limit.count() / 1000);
            spdlog::warn("session {:016x} ({}): {}; killing it", w->session, w->client,
                         w->kill_reason);
            w->signal(SIGKILL);
            continue;
        }
        uint64_t threads = process_threads(w->pid());
        if (threads <= options_.max_worker_threads) continue;
        w->kill_reason =
            fmt::format("its worker exceeded the thread limit ({} threads, at most {})", threads,
                        options_.max_worker_threads);
        spdlog::warn("session {:016x} ({}): {}; killing it", w->session, w->client, w->kill_reason);
        w->signal(SIGKILL);
    }
}

void Supervisor::end_session(WorkerProcess& worker, int wait_status) {
    sessions_.erase(worker.session);
    bool clean = worker.closed_cleanly && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
    if (!worker.moving_to.empty()) {
        bool saved = clean && worker.close_reason == "saved for a move";
        finish_move(worker, saved);
        if (saved) return; // the session lives on, elsewhere or here again
        worker.close_reason = "it could not be saved for a move: " + worker.close_reason;
        clean = false;
    }
    if (clean) {
        spdlog::info("session {:016x} ({}) ended: {}", worker.session, worker.client,
                     worker.close_reason);
        return;
    }
    std::string reason = !worker.kill_reason.empty() ? worker.kill_reason
                         : worker.close_reason.empty()
                             ? "its worker process died (" + describe_wait_status(wait_status) + ")"
                             : worker.close_reason;
    spdlog::warn("session {:016x} ({}) ended: {}", worker.session, worker.client, reason);
    if (options_.checkpoint_interval.count() > 0) {
        // A periodic save of a session whose client is told it is over must not come back at
        // the next start (the worker removes it itself when it ends cleanly).
        std::error_code ignored;
        std::filesystem::remove_all(
            options_.checkpoint_dir + "/" + fmt::format("{:016x}", worker.session), ignored);
    }
    // The client's supervisor connection is still there: tell it now instead of letting it
    // find out from silence.
    flatbuffers::FlatBufferBuilder fbb;
    auto ended = wire::CreateSessionEnded(fbb, worker.session, CL_OUT_OF_RESOURCES,
                                          fbb.CreateString(reason));
    wire::DaemonMessageBuilder builder(fbb);
    builder.add_version(proto::kProtocolVersion);
    builder.add_session(worker.session);
    builder.add_session_ended(ended);
    fbb.Finish(builder.Finish(), proto::kFileIdentifier);
    std::vector<zmq::message_t> frames;
    frames.emplace_back(fbb.GetBufferPointer(), fbb.GetSize());
    send(worker.client_routing, frames);
    spdlog::debug("session {:016x}: its client was told", worker.session);
}

void Supervisor::receive_all() {
    for (int n = 0; n < 256; ++n) {
        std::vector<zmq::message_t> frames;
        zmq::message_t frame;
        auto got = router_.recv(frame, zmq::recv_flags::dontwait);
        if (!got) return;
        bool overflow = false;
        for (;;) {
            bool more = frame.more();
            if (frames.size() <= proto::kMaxFrames)
                frames.push_back(std::move(frame));
            else
                overflow = true;
            if (!more) break;
            (void)router_.recv(frame);
        }
        if (overflow) {
            reject(frames[0].to_string(), 0, "message has more than the allowed number of frames",
                   frames[1]);
            continue;
        }
        handle(frames);
    }
}

void Supervisor::handle(std::vector<zmq::message_t>& frames) {
    std::string routing = frames[0].to_string();
    if (frames.size() < 2) {
        zmq::message_t empty;
        reject(routing, 0, "message without an envelope", empty);
        return;
    }
    zmq::message_t& envelope = frames[1];
    std::string peer = peer_address(envelope);
    const bool operator_key = ZapHandler::role_of(envelope) == "operator";
    proto::align_frame(envelope);
    auto decoded = proto::decode_client_message(envelope.data(), envelope.size());
    if (!decoded) {
        reject(routing, 0, decoded.error, envelope);
        return;
    }
    const wire::ClientMessage& message = *decoded.message;
    uint64_t seq = message.first_seq();
    if (message.session() != 0) {
        // Commands go to the session's worker; here a session id can only be stale.
        refuse(routing, seq, proto::kStatusUnknownSession, "unknown session");
        return;
    }
    const auto* commands = message.commands();
    if (!commands || commands->size() != 1) {
        reject(routing, seq, "a message without session must hold one command", envelope);
        return;
    }
    const wire::Command* command = commands->Get(0);
    if (const auto* hello = command->body_as_Hello()) {
        handle_hello(routing, seq, *hello, peer);
        return;
    }
    if (command->body_as_StatusRequest()) {
        flatbuffers::FlatBufferBuilder fbb;
        auto status = wire::CreateStatusReply(
            fbb, static_cast<uint32_t>(sessions_.size()), static_cast<uint32_t>(devices_.size()),
            rejected_messages(), static_cast<uint32_t>(count(WorkerProcess::State::Warm)));
        auto reply =
            wire::CreateReply(fbb, seq, CL_SUCCESS, wire::ReplyBody::StatusReply, status.Union());
        send_reply(routing, fbb, reply);
        return;
    }
    const auto type = command->body_type();
    if (type == wire::Request::ListDevices) { // read-only, like StatusRequest
        flatbuffers::FlatBufferBuilder fbb;
        auto body = device_list(fbb);
        send_reply(
            routing, fbb,
            wire::CreateReply(fbb, seq, CL_SUCCESS, wire::ReplyBody::DeviceList, body.Union()));
        return;
    }
    if (type == wire::Request::ListSessions || type == wire::Request::KillSession ||
        type == wire::Request::ReleaseSession || type == wire::Request::MoveSession ||
        type == wire::Request::AdoptChunk || type == wire::Request::AdoptSession) {
        if (!is_local_peer(peer) && !operator_key) {
            refuse(routing, seq, proto::kStatusProtocolError,
                   "operator requests are accepted from loopback and ipc peers, and from peers "
                   "with an operator key");
            return;
        }
        if (const auto* move = command->body_as_MoveSession())
            handle_move(routing, seq, *move);
        else if (const auto* chunk = command->body_as_AdoptChunk())
            handle_adopt_chunk(routing, seq, *chunk, frames.size() > 2 ? &frames[2] : nullptr);
        else if (const auto* adopt = command->body_as_AdoptSession())
            handle_adopt(routing, seq, *adopt);
        else
            handle_operator(routing, seq, *command);
        return;
    }
    reject(routing, seq,
           "only Hello, StatusRequest and operator requests may come without a session", envelope);
}

void Supervisor::handle_hello(const std::string& routing, uint64_t seq, const wire::Hello& hello,
                              const std::string& peer) {
    if (hello.resume_session() != 0) {
        handle_resume(routing, seq, hello);
        return;
    }
    size_t per_peer = 0;
    for (auto& [id, w] : sessions_)
        per_peer += w->peer == peer;
    for (auto& p : pending_)
        per_peer += p.peer == peer;
    if (sessions_.size() + pending_.size() >= options_.max_sessions) {
        refuse(routing, seq, CL_OUT_OF_RESOURCES,
               "the daemon already serves its maximum of " + std::to_string(options_.max_sessions) +
                   " sessions");
        return;
    }
    if (per_peer >= options_.max_sessions_per_client) {
        refuse(routing, seq, CL_OUT_OF_RESOURCES,
               "client " + peer + " already has its maximum of " +
                   std::to_string(options_.max_sessions_per_client) + " sessions");
        return;
    }
    PendingHello p;
    p.routing = routing;
    p.seq = seq;
    p.peer = peer;
    p.client = (hello.client_name() ? printable(hello.client_name()->string_view(), 64)
                                    : std::string("?")) +
               " pid " + std::to_string(hello.pid()) + " from " + printable(peer, 64);
    p.deadline = clock::now() + kHelloWait;
    pending_.push_back(std::move(p));
    fill_pool();
    serve_pending();
}

void Supervisor::serve_pending() {
    auto now = clock::now();
    while (!pending_.empty()) {
        WorkerProcess* warm = nullptr;
        for (auto& w : workers_)
            if (w->state == WorkerProcess::State::Warm && !w->control_closed && !w->reaped()) {
                warm = w.get();
                break;
            }
        if (!warm) break;
        PendingHello hello = std::move(pending_.front());
        pending_.pop_front();
        assign(*warm, hello);
    }
    while (!pending_.empty() && pending_.front().deadline <= now) {
        refuse(pending_.front().routing, pending_.front().seq, CL_OUT_OF_RESOURCES,
               "no worker process could be started for the session");
        pending_.pop_front();
    }
    fill_pool();
}

void Supervisor::assign(WorkerProcess& worker, PendingHello& hello) {
    uint64_t id = 0;
    while (id == 0 || sessions_.count(id) || restoring_.count(id))
        id = secure_random_u64();
    uint64_t token = secure_random_u64();
    worker.session = id;
    worker.resume_token = token;
    worker.client = hello.client;
    if (!send_assignment(worker, false)) {
        // The worker died while warm: the next one takes this Hello.
        worker.control_closed = true;
        worker.session = 0;
        pending_.push_front(std::move(hello));
        return;
    }
    worker.state = WorkerProcess::State::Serving;
    worker.session = id;
    worker.resume_token = token;
    worker.client = hello.client;
    worker.client_routing = hello.routing;
    worker.peer = hello.peer;
    worker.assigned = clock::now();
    sessions_.emplace(id, &worker);
    send_welcome(hello.routing, hello.seq, worker);
    spdlog::info("session {:016x} opened for {} in worker {}", id, hello.client, worker.pid());
}

bool Supervisor::send_assignment(WorkerProcess& worker, bool restore) {
    flatbuffers::FlatBufferBuilder fbb;
    auto limits = options_.limits.write(fbb);
    auto assign = control::CreateAssignSession(
        fbb, worker.session, worker.resume_token, fbb.CreateString(worker.client), limits,
        static_cast<uint32_t>(options_.session_timeout_ms), options_.limits.max_staging,
        options_.limits.max_worker_memory,
        options_.checkpoint_dir.empty() ? 0 : fbb.CreateString(options_.checkpoint_dir), restore,
        static_cast<uint32_t>(options_.checkpoint_interval.count()));
    fbb.Finish(
        control::CreateControlMessage(fbb, control::ControlBody::AssignSession, assign.Union()),
        control::ControlMessageIdentifier());
    return worker.control().send(fbb);
}

void Supervisor::send_welcome(const std::string& routing, uint64_t seq,
                              const WorkerProcess& worker) {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::DeviceDesc>> devices;
    for (const auto& d : devices_) {
        std::vector<flatbuffers::Offset<wire::InfoValue>> info;
        for (const auto& [param, value] : d.info)
            info.push_back(wire::CreateInfoValue(fbb, param, fbb.CreateVector(value)));
        devices.push_back(wire::CreateDeviceDesc(fbb, d.index, fbb.CreateVector(info)));
    }
    auto welcome = wire::CreateWelcome(fbb, worker.session, worker.resume_token,
                                       fbb.CreateString("rgpu-daemon"), fbb.CreateVector(devices),
                                       fbb.CreateString(announced(worker.endpoint)),
                                       options_.limits.write(fbb));
    auto reply = wire::CreateReply(fbb, seq, CL_SUCCESS, wire::ReplyBody::Welcome, welcome.Union());
    send_reply(routing, fbb, reply, worker.session, seq);
}

void Supervisor::handle_resume(const std::string& routing, uint64_t seq, const wire::Hello& hello) {
    if (restoring_.count(hello.resume_session())) return; // not yet: the client asks again
    if (auto moved = moved_.find(hello.resume_session()); moved != moved_.end()) {
        // The token is checked by the daemon that has the session now.
        refuse(routing, seq, proto::kStatusMoved, moved->second);
        return;
    }
    auto it = sessions_.find(hello.resume_session());
    // Compared without an early exit, so timing tells nothing about the token.
    if (it == sessions_.end() || (it->second->resume_token ^ hello.resume_token()) != 0) {
        // A restarted daemon, a session that ended (its lease ran out), or a guess.
        refuse(routing, seq, proto::kStatusUnknownSession, "unknown session");
        return;
    }
    WorkerProcess& worker = *it->second;
    // Notices for the session (SessionEnded) go to the connection the client came back on.
    worker.client_routing = routing;
    send_welcome(routing, seq, worker);
    spdlog::debug("session {:016x} ({}): its client is back", worker.session, worker.client);
}

void Supervisor::handle_operator(const std::string& routing, uint64_t seq,
                                 const wire::Command& command) {
    flatbuffers::FlatBufferBuilder fbb;
    flatbuffers::Offset<wire::Reply> reply;
    if (const auto* kill = command.body_as_KillSession()) {
        auto it = sessions_.find(kill->session());
        if (it == sessions_.end()) {
            refuse(routing, seq, CL_INVALID_VALUE, "no such session");
            return;
        }
        WorkerProcess& w = *it->second;
        w.kill_reason = "ended by the operator";
        w.signal(SIGKILL);
        spdlog::warn("session {:016x} ({}): killed by the operator", w.session, w.client);
        reply = wire::CreateReply(fbb, seq, CL_SUCCESS);
    } else if (const auto* release = command.body_as_ReleaseSession()) {
        auto it = sessions_.find(release->session());
        if (it == sessions_.end()) {
            refuse(routing, seq, CL_INVALID_VALUE, "no such session");
            return;
        }
        WorkerProcess& w = *it->second;
        flatbuffers::FlatBufferBuilder control_fbb;
        auto body = control::CreateReleaseClient(control_fbb);
        control_fbb.Finish(control::CreateControlMessage(
                               control_fbb, control::ControlBody::ReleaseClient, body.Union()),
                           control::ControlMessageIdentifier());
        if (w.control_closed || !w.control().send(control_fbb)) {
            refuse(routing, seq, CL_INVALID_VALUE, "the session's worker is gone");
            return;
        }
        w.attached = false; // until the worker reports its client back
        spdlog::info("session {:016x} ({}): released by the operator", w.session, w.client);
        reply = wire::CreateReply(fbb, seq, CL_SUCCESS);
    } else {
        auto now = clock::now();
        std::vector<flatbuffers::Offset<wire::SessionSummary>> list;
        for (auto& [id, w] : sessions_) {
            auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - w->assigned);
            list.push_back(wire::CreateSessionSummary(
                fbb, id, fbb.CreateString(w->client), static_cast<uint32_t>(w->pid()),
                static_cast<uint64_t>(age.count()),
                fbb.CreateString(w->attached ? "attached" : "released"), w->objects,
                w->device_bytes, w->commands_in_flight, w->bytes_in_flight));
        }
        for (auto& [id, w] : restoring_)
            list.push_back(wire::CreateSessionSummary(fbb, id, fbb.CreateString(w->client),
                                                      static_cast<uint32_t>(w->pid()), 0,
                                                      fbb.CreateString("restoring")));
        auto body = wire::CreateSessionList(fbb, fbb.CreateVector(list));
        reply = wire::CreateReply(fbb, seq, CL_SUCCESS, wire::ReplyBody::SessionList, body.Union());
    }
    send_reply(routing, fbb, reply);
}

void Supervisor::refuse(const std::string& routing, uint64_t seq, int32_t status,
                        const std::string& why) {
    flatbuffers::FlatBufferBuilder fbb;
    auto reply =
        wire::CreateReply(fbb, seq, status, wire::ReplyBody::NONE, 0, 0, fbb.CreateString(why));
    send_reply(routing, fbb, reply);
}

void Supervisor::reject(const std::string& routing, uint64_t seq, const std::string& why,
                        const zmq::message_t& envelope) {
    ++rejected_;
    uint64_t suppressed = 0;
    if (reject_log_.allow(&suppressed))
        spdlog::warn("rejected message: {} (sample {}){}", why,
                     proto::printable_sample(envelope.data(), envelope.size()),
                     suppressed ? fmt::format(" [{} similar lines suppressed]", suppressed) : "");
    refuse(routing, seq, proto::kStatusProtocolError, why);
}

void Supervisor::send_reply(const std::string& routing, flatbuffers::FlatBufferBuilder& fbb,
                            flatbuffers::Offset<wire::Reply> reply, uint64_t session,
                            uint64_t acked_seq) {
    auto replies = fbb.CreateVector(&reply, 1);
    fbb.Finish(wire::CreateDaemonMessage(fbb, proto::kProtocolVersion, session, acked_seq, replies),
               proto::kFileIdentifier);
    std::vector<zmq::message_t> frames;
    frames.emplace_back(fbb.GetBufferPointer(), fbb.GetSize());
    send(routing, frames);
}

void Supervisor::send(const std::string& routing, std::vector<zmq::message_t>& frames) {
    try {
        if (!router_.send(zmq::buffer(routing),
                          zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            spdlog::debug("send dropped: the peer's queue is full");
            return;
        }
        for (size_t i = 0; i < frames.size(); ++i)
            router_.send(frames[i], i + 1 < frames.size()
                                        ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                        : zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
        spdlog::debug("send to a departed peer dropped: {}", e.what());
    }
}

} // namespace rgpu::daemon
