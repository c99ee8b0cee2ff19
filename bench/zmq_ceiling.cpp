// SPDX-License-Identifier: Apache-2.0
// The raw ZeroMQ ceiling on the transport rgpu uses: round trip, pipelined messages, bulk.
#include "zmq_ceiling.h"

#include "process.h"
#include "stats.h"

#include <zmq.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <unistd.h>

namespace rgpu::bench {

namespace {

// Small messages carry an opcode in their first byte; anything larger than this is bulk data
// (its content is the sender's buffer, so it cannot carry one) and gets no reply.
constexpr std::size_t max_small = 64;
constexpr char op_ping = 'P';   // echo the message
constexpr char op_sink = 'S';   // no reply
constexpr char op_finish = 'F'; // reply with a 1-byte ack
constexpr char op_quit = 'Q';   // ack, then exit

void write_all(int fd, const std::string& s) {
    for (std::size_t done = 0; done < s.size();) {
        const ssize_t n = write(fd, s.data() + done, s.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

// The forked child: bind, report the endpoint on `report_fd`, serve until 'Q' or parent death.
[[noreturn]] void echo_server(const std::string& bind, int report_fd, pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int code = 0;
    try {
        zmq::context_t ctx(1);
        zmq::socket_t sock(ctx, zmq::socket_type::router);
        sock.set(zmq::sockopt::linger, 0);
        sock.set(zmq::sockopt::rcvtimeo, 500);
        sock.bind(bind);
        write_all(report_fd, "ok " + sock.get(zmq::sockopt::last_endpoint) + "\n");
        close(report_fd);
        report_fd = -1;
        for (;;) {
            zmq::message_t id, payload;
            if (!sock.recv(id)) {
                if (getppid() != parent) break;
                continue;
            }
            if (!id.more() || !sock.recv(payload)) continue;
            while (payload.more()) { // not expected from our client; drain to stay in step
                zmq::message_t extra;
                if (!sock.recv(extra)) break;
                payload.swap(extra);
            }
            if (payload.size() > max_small || payload.size() == 0) continue; // bulk data
            const char op = *payload.data<char>();
            if (op == op_ping) {
                sock.send(id, zmq::send_flags::sndmore);
                sock.send(payload, zmq::send_flags::none);
            } else if (op == op_finish || op == op_quit) {
                sock.send(id, zmq::send_flags::sndmore);
                sock.send(zmq::str_buffer("A"), zmq::send_flags::none);
                if (op == op_quit) break;
            }
        }
    } catch (const std::exception& e) {
        if (report_fd >= 0) write_all(report_fd, std::string("error ") + e.what() + "\n");
        code = 1;
    }
    _exit(code);
}

// Reads the child's one-line report, waiting at most 10 s.
std::string read_report(int fd) {
    std::string line;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) throw std::runtime_error("echo server did not report its endpoint");
        pollfd p{fd, POLLIN, 0};
        const int r = poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char buf[512];
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error("echo server exited before reporting its endpoint");
        line.append(buf, static_cast<std::size_t>(n));
    }
    line.resize(line.find('\n'));
    if (line.rfind("ok ", 0) != 0) throw std::runtime_error("echo server: " + line.substr(6));
    return line.substr(3);
}

class Client {
  public:
    explicit Client(const std::string& endpoint) : sock_(ctx_, zmq::socket_type::dealer) {
        sock_.set(zmq::sockopt::linger, 0);
        sock_.set(zmq::sockopt::rcvtimeo, 10000); // every wait bounded
        sock_.set(zmq::sockopt::sndtimeo, 10000);
        sock_.connect(endpoint);
    }
    void send(zmq::message_t& msg) {
        if (!sock_.send(msg, zmq::send_flags::none))
            throw std::runtime_error("zmq send timed out after 10 s");
    }
    void send_small(char op) {
        const char bytes[4] = {op, 1, 2, 3};
        zmq::message_t msg(bytes, sizeof bytes);
        send(msg);
    }
    zmq::message_t receive() {
        zmq::message_t msg;
        if (!sock_.recv(msg)) throw std::runtime_error("zmq receive timed out after 10 s");
        return msg;
    }
    void finish() { // ack: everything sent before has been received by the server
        send_small(op_finish);
        receive();
    }

  private:
    zmq::context_t ctx_{1};
    zmq::socket_t sock_;
};

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

void measure(Client& client, const BenchConfig& c, SideResults& side) {
    // (a) round trip of a 4-byte message
    std::vector<double> us;
    for (int i = 0; i < c.small_rtt_warmup + c.small_rtt_iters; ++i) {
        const auto start = Clock::now();
        client.send_small(op_ping);
        if (client.receive().size() != 4) throw std::runtime_error("echo of wrong size");
        if (i >= c.small_rtt_warmup) us.push_back(seconds_since(start) * 1e6);
    }
    side.measurements["zmq_small_rtt"].values = {{"median_us", median(us)}, {"mean_us", mean(us)}};

    // (b) one message per command, pipelined
    std::vector<double> per_s;
    for (int r = 0; r < c.pipelined_reps + 1; ++r) {
        const auto start = Clock::now();
        for (int i = 0; i < c.pipelined_msgs; ++i)
            client.send_small(op_sink);
        client.finish();
        if (r > 0) per_s.push_back(c.pipelined_msgs / seconds_since(start));
    }
    side.measurements["zmq_pipelined_small"].values = {{"per_s", median(per_s)}};

    // (c) one-way bulk: 64 MiB as 16 x 4 MiB messages, one ack at the end
    std::unique_ptr<unsigned char[], FreeDeleter> data(
        static_cast<unsigned char*>(std::aligned_alloc(4096, bulk_bytes)));
    if (!data) throw std::runtime_error("aligned_alloc failed");
    std::memset(data.get(), 0x5a, bulk_bytes);
    auto bulk = [&](bool copy) {
        const auto start = Clock::now();
        for (std::size_t off = 0; off < bulk_bytes; off += bulk_frame_bytes) {
            // Copy: the message owns a copy of the slice. Zero copy: it borrows the slice
            // (no free function); safe because we wait for the ack before touching `data`.
            zmq::message_t msg =
                copy ? zmq::message_t(data.get() + off, bulk_frame_bytes)
                     : zmq::message_t(data.get() + off, bulk_frame_bytes, nullptr, nullptr);
            client.send(msg);
        }
        client.finish();
        return gb_per_s(bulk_bytes, seconds_since(start));
    };
    for (bool copy : {true, false}) {
        bulk(copy); // warm-up
        std::vector<double> gbps;
        for (int r = 0; r < c.bulk_reps; ++r)
            gbps.push_back(bulk(copy));
        side.measurements["zmq_bulk_64mib"].values[copy ? "gbps" : "gbps_zero_copy"] = median(gbps);
    }
}

} // namespace

void run_zmq_ceiling(const std::string& transport, const std::filesystem::path& scratch,
                     const BenchConfig& config, SideResults& side) {
    const std::string bind =
        transport == "ipc" ? "ipc://" + (scratch / "zmq-echo.sock").string() : "tcp://127.0.0.1:*";
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        side.error = std::string("pipe2: ") + std::strerror(errno);
        return;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        side.error = std::string("fork: ") + std::strerror(errno);
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        echo_server(bind, fds[1], parent);
    }
    close(fds[1]);
    ChildProcess server = ChildProcess::adopt(pid); // killed on every way out of here
    try {
        const std::string endpoint = read_report(fds[0]);
        close(fds[0]);
        fds[0] = -1;
        side.info = endpoint;
        {
            Client client(endpoint);
            measure(client, config, side);
            client.send_small(op_quit);
            client.receive();
        }
        server.terminate(std::chrono::seconds(5));
    } catch (const std::exception& e) {
        if (fds[0] >= 0) close(fds[0]);
        side.error = e.what();
        server.kill_now();
    }
}

} // namespace rgpu::bench
