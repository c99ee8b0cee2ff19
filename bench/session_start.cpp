// SPDX-License-Identifier: Apache-2.0
// rgpu-session-start: how long a client waits for a session, handshake to first command.
//
// Repeats, against a running daemon: connect, Hello -> Welcome, then (when the Welcome names
// a worker) connect to the worker and Attach -> reply, then Goodbye. Prints the median and the
// 90th percentile. A daemon without workers (one that answers Welcome without a worker
// endpoint) is measured up to its Welcome, which is then where its sessions start.
#include <decode.h>
#include <protocol.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>
#include <zmq.hpp>

using namespace rgpu;
using Clock = std::chrono::steady_clock;

namespace {

bool send_one(
    zmq::socket_t& socket, uint64_t session, uint64_t seq, wire::Request type,
    const std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)>& body) {
    flatbuffers::FlatBufferBuilder fbb;
    auto b = body(fbb);
    std::vector<flatbuffers::Offset<wire::Command>> commands{
        wire::CreateCommand(fbb, type, b, true)};
    fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, session, seq,
                                         fbb.CreateVector(commands)),
               proto::kFileIdentifier);
    return socket.send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()), zmq::send_flags::none)
        .has_value();
}

/// The first reply of the next message with replies, or null after 10 s.
const wire::Reply* next_reply(zmq::socket_t& socket, zmq::message_t& frame) {
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(100));
        if (!(item.revents & ZMQ_POLLIN) || !socket.recv(frame)) continue;
        proto::align_frame(frame);
        auto decoded = proto::decode_daemon_message(frame.data(), frame.size());
        if (decoded && decoded.message->replies() && decoded.message->replies()->size())
            return decoded.message->replies()->Get(0);
    }
    return nullptr;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rgpu-session-start: time from Hello to a session ready for commands"};
    std::string server = proto::kDefaultEndpoint;
    int rounds = 50;
    app.add_option("-s,--server", server, "daemon endpoint")->capture_default_str();
    app.add_option("-n,--rounds", rounds, "sessions to open")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    zmq::context_t context(1);
    std::vector<double> micros;
    for (int i = 0; i < rounds; ++i) {
        zmq::socket_t supervisor(context, zmq::socket_type::dealer);
        supervisor.set(zmq::sockopt::linger, 0);
        supervisor.connect(server);
        std::this_thread::sleep_for(std::chrono::milliseconds(20)); // connected before timing
        auto start = Clock::now();
        send_one(supervisor, 0, 0, wire::Request::Hello, [](flatbuffers::FlatBufferBuilder& fbb) {
            return wire::CreateHello(fbb, fbb.CreateString("rgpu-session-start"), 0).Union();
        });
        zmq::message_t welcome_frame;
        const wire::Reply* reply = next_reply(supervisor, welcome_frame);
        const wire::Welcome* welcome = reply ? reply->body_as_Welcome() : nullptr;
        if (!welcome) {
            std::fprintf(stderr, "rgpu-session-start: no Welcome from %s\n", server.c_str());
            return 1;
        }
        uint64_t session = welcome->session();
        zmq::socket_t worker(context, zmq::socket_type::dealer);
        worker.set(zmq::sockopt::linger, 0);
        zmq::socket_t* commands = &supervisor;
        if (welcome->worker_endpoint()) {
            std::string announced = welcome->worker_endpoint()->str();
            std::string endpoint =
                announced.rfind("tcp://*:", 0) == 0
                    ? server.substr(0, server.rfind(':') + 1) + announced.substr(8)
                    : announced;
            uint64_t token = welcome->resume_token();
            worker.connect(endpoint);
            send_one(worker, session, 0, wire::Request::Attach,
                     [&](flatbuffers::FlatBufferBuilder& fbb) {
                         return wire::CreateAttach(fbb, token).Union();
                     });
            zmq::message_t attached;
            const wire::Reply* r = next_reply(worker, attached);
            if (!r || r->status() != 0) {
                std::fprintf(stderr, "rgpu-session-start: Attach failed\n");
                return 1;
            }
            commands = &worker;
        }
        micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        send_one(
            *commands, session, 1, wire::Request::Goodbye,
            [](flatbuffers::FlatBufferBuilder& fbb) { return wire::CreateGoodbye(fbb).Union(); });
        // A worker ends with its session: give the pool a moment, as between real clients.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::sort(micros.begin(), micros.end());
    std::printf("session start over %d rounds: median %.0f us, p90 %.0f us, max %.0f us\n", rounds,
                micros[micros.size() / 2], micros[micros.size() * 9 / 10], micros.back());
    return 0;
}
