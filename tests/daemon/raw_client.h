// SPDX-License-Identifier: Apache-2.0
// A raw protocol client for daemon tests: builds ClientMessages by hand, reads DaemonMessages
// back. Talks to the supervisor for Hello and operator requests and, once a session is open,
// to the session's worker, exactly as the ICD does (but can be made to misbehave).
#pragma once

#include <decode.h>
#include <protocol.h>

#include <CL/cl.h>
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace rgpu::test {

using namespace std::chrono_literals;

/// Builders of common requests, for RawClient::send: each returns (type, body).
namespace req {
using Built = std::pair<wire::Request, flatbuffers::Offset<void>>;
/// A context on device 0.
inline auto context(uint64_t id) {
    return [id](flatbuffers::FlatBufferBuilder& fbb) -> Built {
        std::vector<uint32_t> devices{0};
        return {wire::Request::CreateContext,
                wire::CreateCreateContext(fbb, id, fbb.CreateVector(devices)).Union()};
    };
}
inline auto queue(uint64_t id, uint64_t context) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) -> Built {
        return {wire::Request::CreateQueue,
                wire::CreateCreateQueue(fbb, id, context, 0, 0).Union()};
    };
}
/// A read-write buffer; `data_frame` names a bulk frame with its initial contents (0: none).
inline auto buffer(uint64_t id, uint64_t context, uint64_t size, uint32_t data_frame = 0) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) -> Built {
        return {wire::Request::CreateBuffer,
                wire::CreateCreateBuffer(fbb, id, context, CL_MEM_READ_WRITE, size, data_frame)
                    .Union()};
    };
}
inline auto program(uint64_t id, uint64_t context, std::string source) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) -> Built {
        return {wire::Request::CreateProgramWithSource,
                wire::CreateCreateProgramWithSource(fbb, id, context, fbb.CreateString(source))
                    .Union()};
    };
}
inline auto build(uint64_t program) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) -> Built {
        return {wire::Request::BuildProgram, wire::CreateBuildProgram(fbb, program).Union()};
    };
}
inline auto kernel(uint64_t id, uint64_t program, std::string name) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) -> Built {
        return {wire::Request::CreateKernel,
                wire::CreateCreateKernel(fbb, id, program, fbb.CreateString(name)).Union()};
    };
}
inline auto release(uint64_t id) {
    return [id](flatbuffers::FlatBufferBuilder& fbb) -> Built {
        return {wire::Request::Release, wire::CreateRelease(fbb, id).Union()};
    };
}
} // namespace req

class RawClient {
  public:
    explicit RawClient(const std::string& endpoint)
        : endpoint_(endpoint), supervisor_(context_, zmq::socket_type::dealer),
          worker_(context_, zmq::socket_type::dealer) {
        supervisor_.set(zmq::sockopt::linger, 0);
        worker_.set(zmq::sockopt::linger, 0);
        supervisor_.connect(endpoint);
    }

    /// The socket commands of `session` go to: the worker once attached, else the supervisor.
    zmq::socket_t& socket_for(uint64_t session) {
        return session != 0 && attached_ ? worker_ : supervisor_;
    }

    void send_frames(std::vector<zmq::message_t> frames, bool to_worker = false) {
        zmq::socket_t& s = to_worker ? worker_ : supervisor_;
        for (size_t i = 0; i < frames.size(); ++i)
            s.send(frames[i],
                   i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }

    /// One command of a batch: its body, and whether a reply is wanted even on success.
    struct BatchCommand {
        std::function<std::pair<wire::Request, flatbuffers::Offset<void>>(
            flatbuffers::FlatBufferBuilder&)>
            build;
        bool want_reply = false;
    };
    /// Sends several commands in one message, numbered from `first_seq`.
    void send_batch(uint64_t session, uint64_t first_seq, const std::vector<BatchCommand>& batch,
                    std::vector<zmq::message_t> bulk = {}) {
        flatbuffers::FlatBufferBuilder fbb;
        std::vector<flatbuffers::Offset<wire::Command>> commands;
        for (const auto& c : batch) {
            auto [type, body] = c.build(fbb);
            commands.push_back(wire::CreateCommand(fbb, type, body, c.want_reply));
        }
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, session, first_seq,
                                             fbb.CreateVector(commands)),
                   proto::kFileIdentifier);
        std::vector<zmq::message_t> frames;
        frames.emplace_back(fbb.GetBufferPointer(), fbb.GetSize());
        for (auto& b : bulk)
            frames.push_back(std::move(b));
        send_frames(std::move(frames), &socket_for(session) == &worker_);
    }

    /// Sends one command; `build` returns the body.
    template <class Build>
    void send(uint64_t session, uint64_t seq, Build&& build, bool want_reply = true,
              std::vector<zmq::message_t> bulk = {}) {
        send_batch(session, seq, {{std::forward<Build>(build), want_reply}}, std::move(bulk));
    }

    /// The next message holding a reply (or a SessionEnded notice) on either connection, within
    /// `timeout`; heartbeat answers and ack-only messages are skipped.
    std::optional<std::vector<zmq::message_t>>
    receive_reply(std::chrono::milliseconds timeout = 5s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            zmq::pollitem_t items[] = {{supervisor_.handle(), 0, ZMQ_POLLIN, 0},
                                       {worker_.handle(), 0, ZMQ_POLLIN, 0}};
            zmq::poll(items, 2, 100ms);
            for (int i = 0; i < 2; ++i) {
                if (!(items[i].revents & ZMQ_POLLIN)) continue;
                std::vector<zmq::message_t> frames;
                (void)zmq::recv_multipart(i == 0 ? supervisor_ : worker_,
                                          std::back_inserter(frames));
                proto::align_frame(frames[0]);
                auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
                REQUIRE_MESSAGE(decoded, decoded.error);
                if (decoded.message->session_ended()) {
                    last_ended_status_ = decoded.message->session_ended()->status();
                    last_ended_reason_ = decoded.message->session_ended()->reason()
                                             ? decoded.message->session_ended()->reason()->str()
                                             : "";
                    continue;
                }
                if (decoded.message->replies() && decoded.message->replies()->size() > 0)
                    return frames;
            }
        }
        return std::nullopt;
    }

    /// Waits for the notice of client event `event` on the worker connection; its status, or
    /// nullopt on timeout. Replies that come meanwhile are dropped.
    std::optional<int32_t> wait_event(uint64_t event, std::chrono::milliseconds timeout = 10s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            zmq::pollitem_t item{worker_.handle(), 0, ZMQ_POLLIN, 0};
            zmq::poll(&item, 1, 100ms);
            if (!(item.revents & ZMQ_POLLIN)) continue;
            std::vector<zmq::message_t> frames;
            (void)zmq::recv_multipart(worker_, std::back_inserter(frames));
            proto::align_frame(frames[0]);
            auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
            REQUIRE_MESSAGE(decoded, decoded.error);
            if (const auto* events = decoded.message->events())
                for (const auto* notice : *events)
                    if (notice->event() == event) return notice->status();
        }
        return std::nullopt;
    }

    /// Waits for the supervisor's SessionEnded notice; its reason, or nullopt on timeout.
    std::optional<std::string> wait_session_ended(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!last_ended_reason_ && std::chrono::steady_clock::now() < deadline)
            (void)receive_reply(100ms);
        return last_ended_reason_;
    }
    std::optional<int32_t> ended_status() const { return last_ended_status_; }

    static const wire::Reply& first_reply(const std::vector<zmq::message_t>& frames) {
        return *proto::decode_daemon_message(frames[0].data(), frames[0].size())
                    .message->replies()
                    ->Get(0);
    }

    /// Opens a session (Hello to the supervisor, Attach to its worker); returns its id.
    uint64_t hello(const std::string& name = "raw-protocol-test") {
        send(0, 0, [&](flatbuffers::FlatBufferBuilder& fbb) {
            auto h = wire::CreateHello(fbb, fbb.CreateString(name), 1);
            return std::make_pair(wire::Request::Hello, h.Union());
        });
        auto frames = receive_reply(20s);
        REQUIRE(frames);
        const auto& reply = first_reply(*frames);
        REQUIRE(reply.status() == CL_SUCCESS);
        const auto* welcome = reply.body_as_Welcome();
        REQUIRE(welcome != nullptr);
        REQUIRE(welcome->devices() != nullptr);
        CHECK(welcome->devices()->size() >= 1);
        REQUIRE(welcome->worker_endpoint() != nullptr);
        session_ = welcome->session();
        token_ = welcome->resume_token();
        std::string announced = welcome->worker_endpoint()->str();
        worker_endpoint_ = announced.rfind("tcp://*:", 0) == 0
                               ? endpoint_.substr(0, endpoint_.rfind(':') + 1) + announced.substr(8)
                               : announced;
        worker_.connect(worker_endpoint_);
        attached_ = true;
        REQUIRE(attach(token_) == CL_SUCCESS);
        return session_;
    }

    /// Sends Attach with `token` to the worker; the reply's status.
    int32_t attach(uint64_t token) {
        send(session_, 0, [&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::Attach, wire::CreateAttach(fbb, token).Union());
        });
        auto frames = receive_reply(10s);
        REQUIRE(frames);
        return first_reply(*frames).status();
    }

    /// Uses another client's session from this connection (without its token): for tests of
    /// what a stranger who learnt a session id and worker endpoint can do.
    void impersonate(uint64_t session, const std::string& worker_endpoint) {
        session_ = session;
        worker_endpoint_ = worker_endpoint;
        worker_.connect(worker_endpoint);
        attached_ = true;
    }

    uint64_t session() const { return session_; }
    uint64_t token() const { return token_; }
    const std::string& worker_endpoint() const { return worker_endpoint_; }

    /// Sends a sessionless request to the supervisor and returns the reply message.
    template <class Build> std::vector<zmq::message_t> ask_supervisor(Build&& build) {
        flatbuffers::FlatBufferBuilder fbb;
        auto [type, body] = build(fbb);
        std::vector<flatbuffers::Offset<wire::Command>> commands{
            wire::CreateCommand(fbb, type, body, true)};
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, 0, 0,
                                             fbb.CreateVector(commands)),
                   proto::kFileIdentifier);
        std::vector<zmq::message_t> frames;
        frames.emplace_back(fbb.GetBufferPointer(), fbb.GetSize());
        send_frames(std::move(frames));
        auto reply = receive_reply();
        REQUIRE(reply);
        return std::move(*reply);
    }

    uint32_t sessions() { return status().first; }
    /// Messages the daemon refused so far (supervisor and workers).
    uint64_t rejected() { return status().second; }
    /// Sessions and refused messages, from a StatusRequest.
    std::pair<uint32_t, uint64_t> status() {
        auto frames = ask_supervisor([](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::StatusRequest,
                                  wire::CreateStatusRequest(fbb).Union());
        });
        const auto* status = first_reply(frames).body_as_StatusReply();
        REQUIRE(status != nullptr);
        return {status->sessions(), status->rejected_messages()};
    }

    /// Operator kill; the reply's status.
    int32_t kill(uint64_t session) {
        auto frames = ask_supervisor([&](flatbuffers::FlatBufferBuilder& fbb) {
            return std::make_pair(wire::Request::KillSession,
                                  wire::CreateKillSession(fbb, session).Union());
        });
        return first_reply(frames).status();
    }

  private:
    std::string endpoint_;
    zmq::context_t context_{1};
    zmq::socket_t supervisor_;
    zmq::socket_t worker_;
    bool attached_ = false;
    uint64_t session_ = 0;
    uint64_t token_ = 0;
    std::string worker_endpoint_;
    std::optional<std::string> last_ended_reason_;
    std::optional<int32_t> last_ended_status_;
};

} // namespace rgpu::test
