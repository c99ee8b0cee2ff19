// SPDX-License-Identifier: Apache-2.0
// rgpu-exactly-once-bench: what exactly-once delivery costs per message, beside what a command
// and a round trip cost. There is no switch to turn the bookkeeping off, so it is measured on
// its own, on the real structures, as the difference between two loops that do a message's
// other work alike (build it, let it go as a send would) and differ only in the bookkeeping:
//   worker  the real ReplayLog: keep() each message the real MessageWriter finishes (a read's
//           reply with its 4 data bytes), trim() as the client's receipts come;
//   client  the ICD's per-message work (icd/connection.cpp send_ready / apply_ack, reproduced:
//           the ICD is a shared library exporting only the ICD entry points): a ClientMessage
//           built as seal_locked does, its frames copied into an Outgoing kept in a deque,
//           popped when the worker acks;
//   receipt a receipt-only ClientMessage built, sent over loopback TCP (DEALER to ROUTER, as the
//           ICD and the worker), received, decoded and applied to a ReplayLog: process CPU time
//           per receipt, of which a client owes one per 64 messages at most.
// Then rgpu-bench (small_read_rtt, empty_kernel_enqueue) runs against a daemon in the same run,
// and the bookkeeping is set against its per-command enqueue time and its read round trip.
#include "process.h"

#include <decode.h>
#include <message_writer.h>
#include <protocol.h>
#include <replay_log.h>

#include <CL/cl.h>
#include <CLI/CLI.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace rgpu;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

template <class F> double ns_per(int n, F&& loop) {
    const auto start = Clock::now();
    loop(n);
    return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / n;
}

/// Median ns per message of `base` and `kept`, alternated `reps` times; their difference is
/// the bookkeeping.
struct Pair {
    double base = 0, kept = 0;
    double cost() const { return kept - base; }
};
template <class Base, class Kept> Pair measure(int n, int reps, Base&& base, Kept&& kept) {
    std::vector<double> b, k;
    base(n / 10); // warm-up: allocator pools, caches
    kept(n / 10);
    for (int r = 0; r < reps; ++r) {
        b.push_back(ns_per(n, base));
        k.push_back(ns_per(n, kept));
    }
    return {median(b), median(k)};
}

/// The worker's side: a read's reply as WorkerServer::complete writes it, then let go (base) or
/// kept and trimmed every `trim_every` messages (the client's receipts).
Pair worker_side(int n, int reps, int trim_every) {
    daemon::MessageWriter writer;
    uint64_t reply_seq = 0;
    auto message = [&] {
        zmq::message_t data(4);
        std::memset(data.data(), 7, 4);
        auto body = wire::CreateReadData(writer.builder(), 0, 4);
        writer.add_reply(++reply_seq, CL_COMPLETE, wire::ReplyBody::ReadData, body.Union(), {},
                         &data);
        return writer.finish(1, reply_seq);
    };
    auto base = [&](int count) {
        for (int i = 0; i < count; ++i) {
            auto frames = message();
            frames.clear(); // what the send does with them
        }
    };
    daemon::ReplayLog log;
    auto kept = [&](int count) {
        for (int i = 0; i < count; ++i) {
            auto frames = message();
            log.keep(frames);
            frames.clear();
            if ((i + 1) % trim_every == 0) log.trim(log.last_seq());
        }
        log.trim(log.last_seq());
    };
    return measure(n, reps, base, kept);
}

/// The client's side, as icd/connection.cpp does it per message.
struct Outgoing {
    std::vector<zmq::message_t> frames;
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    uint64_t received_seq = 0;
};

void free_detached(void*, void* hint) {
    delete static_cast<flatbuffers::DetachedBuffer*>(hint);
}

/// `exact`: the finished message copied into a frame of its own size (what the ICD does not do:
/// its frame keeps the builder's whole 64 KiB block, so each unacked message pins one).
Pair client_side(int n, int reps, int ack_every, bool exact = false) {
    flatbuffers::FlatBufferBuilder fbb(64 * 1024);
    std::vector<flatbuffers::Offset<wire::Command>> commands;
    uint64_t seq = 0;
    // seal_locked: one command (its size does not matter: no bytes are copied, only references).
    auto message = [&] {
        commands.push_back(wire::CreateCommand(fbb, wire::Request::Goodbye,
                                               wire::CreateGoodbye(fbb).Union(), false));
        auto vector = fbb.CreateVector(commands);
        ++seq;
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, 1, seq, vector, seq),
                   proto::kFileIdentifier);
        Outgoing out;
        out.frames.reserve(1);
        if (exact) {
            out.frames.emplace_back(fbb.GetBufferPointer(), fbb.GetSize());
            fbb.Clear();
        } else {
            auto* detached = new flatbuffers::DetachedBuffer(fbb.Release());
            out.frames.emplace_back(detached->data(), detached->size(), free_detached, detached);
        }
        out.first_seq = out.last_seq = seq;
        out.received_seq = seq;
        commands.clear();
        return out;
    };
    auto base = [&](int count) {
        for (int i = 0; i < count; ++i) {
            Outgoing out = message();
            out.frames.clear(); // what the send does with them
        }
    };
    std::deque<Outgoing> unacked;
    size_t unacked_bytes = 0;
    uint64_t acked_seq = 0;
    auto apply_ack = [&](uint64_t acked) {
        if (acked <= acked_seq) return;
        acked_seq = acked;
        while (!unacked.empty() && unacked.front().last_seq <= acked_seq) {
            for (auto& f : unacked.front().frames)
                unacked_bytes -= f.size();
            unacked.pop_front();
        }
    };
    auto kept = [&](int count) {
        for (int i = 0; i < count; ++i) {
            Outgoing out = message();
            Outgoing keep;
            keep.first_seq = out.first_seq;
            keep.last_seq = out.last_seq;
            keep.received_seq = out.received_seq;
            keep.frames.resize(out.frames.size());
            for (size_t f = 0; f < out.frames.size(); ++f)
                keep.frames[f].copy(out.frames[f]);
            out.frames.clear();
            for (auto& f : keep.frames)
                unacked_bytes += f.size();
            unacked.push_back(std::move(keep));
            if ((i + 1) % ack_every == 0) apply_ack(seq);
        }
        apply_ack(seq);
    };
    return measure(n, reps, base, kept);
}

double process_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/// Process CPU ns per receipt message, both ends and ZeroMQ's I/O threads together.
double receipt_cost(int n) {
    zmq::context_t context(1);
    zmq::socket_t router(context, zmq::socket_type::router);
    router.set(zmq::sockopt::rcvhwm, 0);
    router.bind("tcp://127.0.0.1:*");
    const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::sndhwm, 0);
    dealer.connect(endpoint);
    daemon::ReplayLog log;
    std::thread receiver([&] {
        for (int i = 0; i < n; ++i) {
            zmq::message_t identity, frame;
            (void)router.recv(identity);
            (void)router.recv(frame);
            proto::align_frame(frame);
            auto decoded = proto::decode_client_message(frame.data(), frame.size());
            if (decoded) log.trim(decoded.message->received_seq());
        }
    });
    const double start = process_cpu_ns();
    for (int i = 0; i < n; ++i) {
        // Connection::send_empty(true)
        flatbuffers::FlatBufferBuilder fbb(128);
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, 1, 0, 0, i + 1, true),
                   proto::kFileIdentifier);
        dealer.send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()), zmq::send_flags::none);
    }
    receiver.join();
    return (process_cpu_ns() - start) / n;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// A number in rgpu-bench's JSON: the first `"key": value` after `"section"` after `"rgpu"`.
double json_figure(const std::string& json, const std::string& section, const std::string& key) {
    size_t at = json.find("\"rgpu\"");
    if (at != std::string::npos) at = json.find("\"" + section + "\"", at);
    if (at == std::string::npos) return 0;
    std::smatch m;
    std::string rest = json.substr(at);
    if (!std::regex_search(rest, m, std::regex("\"" + key + "\": *([0-9.eE+-]+)"))) return 0;
    return std::stod(m[1].str());
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rgpu-exactly-once-bench: the exactly-once bookkeeping per message against the "
                 "per-command enqueue time and the read round trip"};
    int messages = 1 << 20, reps = 9, receipts = 200000;
    std::string rgpu_bench = RGPU_BENCH_PATH;
    bool quick = false;
    double commands_per_message = 1;
    app.add_option("--messages", messages, "messages per timed loop")->capture_default_str();
    app.add_option("--reps", reps, "timed loops of each kind (medians)")->capture_default_str();
    app.add_option("--receipts", receipts, "receipt messages sent")->capture_default_str();
    app.add_option("--rgpu-bench", rgpu_bench,
                   "rgpu-bench to run for the enqueue and round-trip figures (empty: skip)")
        ->capture_default_str();
    app.add_flag("--quick", quick, "rgpu-bench --quick");
    app.add_option("--commands-per-message", commands_per_message,
                   "commands the ICD puts in one message in the enqueue stream (1: the bound; "
                   "LD_PRELOAD=librgpu-zmq-send-count.so rgpu-bench --only empty_kernel_enqueue "
                   "counts them)")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 1e9));
    CLI11_PARSE(app, argc, argv);

    double enqueue_ns = 0, rtt_us = 0;
    if (!rgpu_bench.empty()) {
        char json_path[] = "/tmp/rgpu-exactly-once.XXXXXX";
        const int fd = mkstemp(json_path);
        if (fd < 0) {
            std::perror("mkstemp");
            return 1;
        }
        close(fd);
        bench::SpawnOptions spawn;
        spawn.argv = {rgpu_bench, "--only", "small_read_rtt,empty_kernel_enqueue", "--json",
                      json_path};
        if (quick) spawn.argv.push_back("--quick");
        spawn.stdout_fd = STDERR_FILENO; // its table, beside ours
        std::fprintf(stderr, "rgpu-exactly-once-bench: running %s\n", rgpu_bench.c_str());
        auto child = bench::ChildProcess::spawn(spawn);
        if (!child.wait_for(std::chrono::minutes(10))) child.terminate();
        const std::string json = read_text(json_path);
        unlink(json_path);
        const double per_s = json_figure(json, "empty_kernel_enqueue", "per_s");
        enqueue_ns = per_s > 0 ? 1e9 / per_s : 0;
        rtt_us = json_figure(json, "small_read_rtt", "median_us");
        if (enqueue_ns == 0 || rtt_us == 0) {
            std::fprintf(stderr, "rgpu-exactly-once-bench: no figures from rgpu-bench\n");
            return 1;
        }
    }

    // Trim and ack cadences as they happen: a stream of commands is acked every quarter credit
    // (16384 / 4), a stream of replies trimmed at the receipts (every 64); a round trip's
    // message is acked, and its reply trimmed, by the next one.
    const Pair worker_stream = worker_side(messages, reps, 64);
    const Pair worker_rtt = worker_side(messages, reps, 1);
    const Pair client_stream = client_side(messages, reps, 4096);
    const Pair client_rtt = client_side(messages, reps, 1);
    const Pair client_exact = client_side(messages, reps, 4096, true);
    const double receipt = receipt_cost(receipts);

    std::printf("exactly-once bookkeeping, ns per message (median of %d loops of %d messages; "
                "with minus without)\n",
                reps, messages);
    auto row = [](const char* what, const Pair& p) {
        std::printf("  %-52s %7.1f   (%.1f without, %.1f with)\n", what, p.cost(), p.base, p.kept);
    };
    row("worker: ReplayLog keep+trim, read reply, trim every 64", worker_stream);
    row("worker: ReplayLog keep+trim, read reply, trim every 1", worker_rtt);
    row("client: unacked_ copy+push+pop, ack every 4096", client_stream);
    row("client: unacked_ copy+push+pop, ack every 1", client_rtt);
    row("(client, ack every 4096, frames of the message's size)", client_exact);
    std::printf("  %-52s %7.1f   (CPU per receipt, both ends: %.0f)\n",
                "receipt-only messages, one per 64 messages", receipt / 64, receipt);
    if (enqueue_ns > 0) {
        // A command costs a client message's bookkeeping over the commands batched in it; an
        // enqueue without an event gets no reply of its own; receipts ride on the client's
        // messages as long as it sends any, which a stream of enqueues does: counted anyway.
        const double per_command =
            (std::max(0.0, client_stream.cost()) + receipt / 64) / commands_per_message;
        // A blocking read: its message (client) and its reply (worker), each acked or trimmed by
        // the next read's; again a receipt counted though the next read carries it.
        const double per_read =
            std::max(0.0, client_rtt.cost()) + std::max(0.0, worker_rtt.cost()) + receipt / 64;
        std::printf("against rgpu-bench in this run:\n");
        std::printf("  enqueue (empty kernel, first enqueue to clFinish): %8.0f ns/command; "
                    "bookkeeping <= %.1f ns = %.2f %% (%g commands per message)\n",
                    enqueue_ns, per_command, 100 * per_command / enqueue_ns, commands_per_message);
        std::printf("  blocking 4-byte read round trip (median):          %8.1f us;         "
                    "bookkeeping <= %.1f ns = %.3f %%\n",
                    rtt_us, per_read, 100 * per_read / (rtt_us * 1000));
    }
    return 0;
}
