// SPDX-License-Identifier: Apache-2.0
// Operator requests over a one-shot DEALER socket.
#include "operator_client.h"

#include "curve.h"
#include "decode.h"
#include "protocol.h"

#include <functional>
#include <zmq.hpp>

namespace rgpu {

RequestChannel::RequestChannel(const std::string& endpoint, std::chrono::milliseconds timeout)
    : endpoint_(endpoint), timeout_(timeout), context_(1),
      socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    std::string error; // a malformed environment: ask() refuses to connect
    if (auto curve = curve::client_settings(&error)) curve::make_client(socket_, *curve);
    curve_error_ = error;
}

bool RequestChannel::ask(const Build& build, const std::function<bool(const wire::Reply&)>& read,
                         std::string* error, const void* data, size_t size) {
    auto fail = [&](std::string why) {
        if (error) *error = std::move(why);
        return false;
    };
    if (!curve_error_.empty()) return fail(curve_error_);
    try {
        if (!connected_) {
            socket_.connect(endpoint_);
            connected_ = true;
        }
        flatbuffers::FlatBufferBuilder fbb;
        auto [type, body] = build(fbb);
        std::vector<flatbuffers::Offset<wire::Command>> commands{
            wire::CreateCommand(fbb, type, body, true)};
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, 0, 0,
                                             fbb.CreateVector(commands)),
                   proto::kFileIdentifier);
        socket_.send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()),
                     data ? zmq::send_flags::sndmore : zmq::send_flags::none);
        if (data) socket_.send(zmq::buffer(data, size), zmq::send_flags::none);
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, timeout_) == 0) return fail("no answer from " + endpoint_);
        zmq::message_t frame;
        if (!socket_.recv(frame)) return fail("no answer from " + endpoint_);
        // Replies are one frame: skip anything more, so the next answer starts clean.
        for (bool more = frame.more(); more;) {
            zmq::message_t extra;
            (void)socket_.recv(extra);
            more = extra.more();
        }
        proto::align_frame(frame);
        auto decoded = proto::decode_daemon_message(frame.data(), frame.size());
        if (!decoded) return fail("invalid answer: " + decoded.error);
        const auto* replies = decoded.message->replies();
        if (!replies || replies->size() != 1) return fail("the answer holds no reply");
        const wire::Reply* reply = replies->Get(0);
        if (reply->status() != 0)
            return fail(reply->message()
                            ? reply->message()->str()
                            : "refused with status " + std::to_string(reply->status()));
        if (!read(*reply)) return fail("the answer is not of the expected kind");
        return true;
    } catch (const zmq::error_t& e) {
        return fail(e.what());
    }
}

namespace {

/// Sends one sessionless request and hands the single reply to `read`; false with `error` set
/// on timeout, a malformed answer, or a refusal.
bool ask(const std::string& endpoint, std::chrono::milliseconds timeout, std::string* error,
         const RequestChannel::Build& build, const std::function<bool(const wire::Reply&)>& read) {
    return RequestChannel(endpoint, timeout).ask(build, read, error);
}

} // namespace

std::optional<DaemonStatus> query_status(const std::string& endpoint,
                                         std::chrono::milliseconds timeout, std::string* error) {
    DaemonStatus out;
    bool ok = ask(
        endpoint, timeout, error,
        [](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::StatusRequest,
                                  wire::CreateStatusRequest(fbb).Union());
        },
        [&](const wire::Reply& reply) {
            const auto* s = reply.body_as_StatusReply();
            if (!s) return false;
            out = DaemonStatus{s->sessions(), s->devices(), s->rejected_messages(),
                               s->warm_workers()};
            return true;
        });
    if (!ok) return std::nullopt;
    return out;
}

std::optional<std::vector<SessionInfo>>
list_sessions(const std::string& endpoint, std::chrono::milliseconds timeout, std::string* error) {
    std::vector<SessionInfo> out;
    bool ok = ask(
        endpoint, timeout, error,
        [](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::ListSessions,
                                  wire::CreateListSessions(fbb).Union());
        },
        [&](const wire::Reply& reply) {
            const auto* list = reply.body_as_SessionList();
            if (!list) return false;
            if (list->sessions())
                for (const auto* s : *list->sessions())
                    out.push_back(SessionInfo{
                        s->session(), s->client() ? s->client()->str() : "", s->worker_pid(),
                        s->age_ms(), s->state() ? s->state()->str() : "", s->objects(),
                        s->device_bytes(), s->commands_in_flight(), s->bytes_in_flight()});
            return true;
        });
    if (!ok) return std::nullopt;
    return out;
}

std::optional<std::vector<DeviceInfo>>
list_devices(const std::string& endpoint, std::chrono::milliseconds timeout, std::string* error) {
    std::vector<DeviceInfo> out;
    auto str = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
    bool ok = ask(
        endpoint, timeout, error,
        [](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::ListDevices, wire::CreateListDevices(fbb).Union());
        },
        [&](const wire::Reply& reply) {
            const auto* list = reply.body_as_DeviceList();
            if (!list) return false;
            if (list->devices())
                for (const auto* d : *list->devices()) {
                    DeviceInfo info{
                        d->index(), str(d->name()), str(d->placement()), str(d->policy()), {}};
                    if (d->members())
                        for (const auto* m : *d->members())
                            info.members.push_back(DeviceInfo::Member{
                                str(m->name()), m->queued(), m->running(), m->placements(),
                                m->queues(), m->migrations(), m->migrated_bytes(), m->busy_ns(),
                                m->resident_bytes()});
                    out.push_back(std::move(info));
                }
            return true;
        });
    if (!ok) return std::nullopt;
    return out;
}

bool kill_session(const std::string& endpoint, uint64_t id, std::chrono::milliseconds timeout,
                  std::string* error) {
    return ask(
        endpoint, timeout, error,
        [id](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::KillSession,
                                  wire::CreateKillSession(fbb, id).Union());
        },
        [](const wire::Reply&) { return true; });
}

bool release_session(const std::string& endpoint, uint64_t id, std::chrono::milliseconds timeout,
                     std::string* error) {
    return ask(
        endpoint, timeout, error,
        [id](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::ReleaseSession,
                                  wire::CreateReleaseSession(fbb, id).Union());
        },
        [](const wire::Reply&) { return true; });
}

bool move_session(const std::string& endpoint, uint64_t id, const std::string& to,
                  std::chrono::milliseconds timeout, std::string* error) {
    return ask(
        endpoint, timeout, error,
        [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::MoveSession,
                                  wire::CreateMoveSession(fbb, id, fbb.CreateString(to)).Union());
        },
        [](const wire::Reply&) { return true; });
}

} // namespace rgpu
