// SPDX-License-Identifier: Apache-2.0
// Buffers moving straight between daemons' workers (schema/peer.fbs), driven by hand: an
// export is fetched only with its token and only within the buffer; an import fetches another
// session's export and writes it; an import whose exporter never answers (or is not a TCP
// endpoint) fails its event; only buffers of their own move.
#include "raw_client.h"
#include "shared_daemon.h"

#include <harness.h>

#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

using namespace rgpu;
using rgpu::test::ask;
using rgpu::test::daemon;
using rgpu::test::RawClient;
namespace req = rgpu::test::req;
using namespace std::chrono_literals;

namespace {

/// Two pieces: a whole one and a shorter last one.
constexpr uint64_t kPiece = proto::kPeerPieceBytes;
constexpr uint64_t kBytes = kPiece + kPiece / 2;

auto export_buffer(uint64_t queue, uint64_t mem, uint64_t token, uint64_t event) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::ExportBuffer,
                              wire::CreateExportBuffer(fbb, queue, mem, token, event).Union());
    };
}

auto import_buffer(uint64_t queue, uint64_t mem, uint64_t token, uint64_t event,
                   const std::string& from, uint64_t from_session) {
    return [=](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(wire::Request::ImportBuffer,
                              wire::CreateImportBuffer(fbb, queue, mem, token, event,
                                                       fbb.CreateString(from), from_session)
                                  .Union());
    };
}

/// A buffer (id 3, on context 1 with queue 2) holding kBytes of a known pattern.
std::vector<uint8_t> make_pattern_buffer(RawClient& client, uint64_t session, uint64_t& seq) {
    std::vector<uint8_t> pattern(kBytes);
    std::iota(pattern.begin(), pattern.end(), uint8_t{7});
    std::vector<zmq::message_t> bulk;
    bulk.emplace_back(pattern.data(), pattern.size());
    client.send_batch(session, seq,
                      {{req::context(1)}, {req::queue(2, 1)}, {req::buffer(3, 1, kBytes, 1), true}},
                      std::move(bulk));
    seq += 3;
    auto reply = client.receive_reply();
    REQUIRE(reply);
    REQUIRE(RawClient::first_reply(*reply).status() == CL_SUCCESS);
    return pattern;
}

struct Piece {
    int32_t status = 0;
    std::string message;
    bool ready = false;
    uint64_t offset = 0, size = 0, total = 0;
    std::vector<uint8_t> data;
};

/// Another daemon's worker, played by hand: fetches pieces of exports from a worker.
class Fetcher {
  public:
    explicit Fetcher(const std::string& worker_endpoint) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.connect(worker_endpoint);
    }
    void send(uint64_t session, uint64_t token, uint64_t offset, uint64_t size,
              bool abandon = false) {
        flatbuffers::FlatBufferBuilder fbb;
        auto body = wire::CreateFetchBuffer(fbb, token, offset, size, abandon);
        std::vector<flatbuffers::Offset<wire::Command>> commands{
            wire::CreateCommand(fbb, wire::Request::FetchBuffer, body.Union(), false)};
        fbb.Finish(wire::CreateClientMessage(fbb, proto::kProtocolVersion, session, 0,
                                             fbb.CreateVector(commands)),
                   proto::kFileIdentifier);
        socket_.send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()));
    }
    /// The next answer (fails the test if none comes within 5 s).
    Piece answer() {
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, 5000ms);
        REQUIRE((item.revents & ZMQ_POLLIN) != 0);
        std::vector<zmq::message_t> frames;
        (void)zmq::recv_multipart(socket_, std::back_inserter(frames));
        proto::align_frame(frames[0]);
        auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
        REQUIRE(decoded);
        REQUIRE(decoded.message->replies());
        const auto* reply = decoded.message->replies()->Get(0);
        Piece p;
        p.status = reply->status();
        p.message = reply->message() ? reply->message()->str() : "";
        if (const auto* piece = reply->body_as_BufferPiece()) {
            p.ready = piece->ready();
            p.offset = piece->offset();
            p.size = piece->size();
            p.total = piece->total();
        }
        if (reply->data_frame() != 0 && reply->data_frame() < frames.size()) {
            const auto& data = frames[reply->data_frame()];
            p.data.assign(data.data<uint8_t>(), data.data<uint8_t>() + data.size());
        }
        return p;
    }
    /// Fetches a piece, waiting while the export is still being read (a fetch that comes first
    /// is answered "not ready" at once and every second, then with the piece).
    Piece fetch_ready(uint64_t session, uint64_t token, uint64_t offset, uint64_t size) {
        send(session, token, offset, size);
        for (int answers = 0;; ++answers) {
            Piece p = answer();
            if (p.ready || p.status != CL_SUCCESS || answers == 10) return p;
        }
    }

  private:
    zmq::context_t context_;
    zmq::socket_t socket_{context_, zmq::socket_type::dealer};
};

} // namespace

TEST_CASE("an export is fetched only with its token and within its buffer" *
          doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    const auto pattern = make_pattern_buffer(client, session, seq);
    const uint64_t token = 0x5eed0001;
    client.send(session, seq++, export_buffer(2, 3, token, 10), false);

    Fetcher fetcher(client.worker_endpoint());
    Piece first = fetcher.fetch_ready(session, token, 0, kPiece);
    REQUIRE(first.status == CL_SUCCESS);
    REQUIRE(first.ready);
    CHECK(first.total == kBytes);
    CHECK(first.data == std::vector<uint8_t>(pattern.begin(), pattern.begin() + kPiece));
    // Each piece goes once; only whole pieces; only to a fetch naming the exporter's session.
    fetcher.send(session, token, 0, kPiece);
    Piece twice = fetcher.answer();
    CHECK(twice.status == proto::kStatusProtocolError);
    CHECK(twice.message == "that piece was fetched already");
    fetcher.send(session, token, kPiece, kPiece);
    Piece outside = fetcher.answer();
    CHECK(outside.status == proto::kStatusProtocolError);
    CHECK(outside.message == "not a piece of the export");
    fetcher.send(session + 1, token, kPiece, kBytes - kPiece);
    Piece stranger = fetcher.answer();
    CHECK(stranger.status == proto::kStatusUnknownSession);
    // The rest: the export is over, and its client's event says so.
    Piece second = fetcher.fetch_ready(session, token, kPiece, kBytes - kPiece);
    REQUIRE(second.ready);
    CHECK(second.data == std::vector<uint8_t>(pattern.begin() + kPiece, pattern.end()));
    CHECK(client.wait_event(10) == CL_COMPLETE);
    // Fetched whole, it is gone: a fetch of it now waits (as for one not read yet), and one
    // that gives up is not answered.
    fetcher.send(session, token, 0, kPiece);
    Piece again = fetcher.answer();
    CHECK(again.status == CL_SUCCESS);
    CHECK_FALSE(again.ready);
    fetcher.send(session, token, 0, 0, true);

    // An importer that gives up drops the export, and its client learns it.
    client.send(session, seq++, export_buffer(2, 3, token + 1, 11), false);
    Piece read = fetcher.fetch_ready(session, token + 1, 0, kPiece);
    REQUIRE(read.ready);
    fetcher.send(session, token + 1, 0, 0, true);
    CHECK(client.wait_event(11) == CL_OUT_OF_RESOURCES);
    // ... and a fetch of it is refused at once (not parked while its importer waits).
    fetcher.send(session, token + 1, kPiece, kBytes - kPiece);
    Piece given_up = fetcher.answer();
    CHECK(given_up.status == proto::kStatusProtocolError);
    CHECK(given_up.message == "the export was given up");
}

TEST_CASE("an import fetches another session's export and writes it into its buffer" *
          doctest::test_suite("daemon")) {
    RawClient exporter(daemon().endpoint());
    uint64_t from = exporter.hello();
    uint64_t from_seq = 1;
    const auto pattern = make_pattern_buffer(exporter, from, from_seq);

    RawClient importer(daemon().endpoint());
    uint64_t to = importer.hello();
    uint64_t seq = 1;
    importer.send_batch(to, seq,
                        {{req::context(1)}, {req::queue(2, 1)}, {req::buffer(3, 1, kBytes), true}});
    seq += 3;
    auto made = importer.receive_reply();
    REQUIRE(made);
    REQUIRE(RawClient::first_reply(*made).status() == CL_SUCCESS);

    // Asked of both at once, as the ICD does: the fetch may come before the read is done.
    const uint64_t token = 0x5eed0002;
    importer.send(to, seq++, import_buffer(2, 3, token, 20, exporter.worker_endpoint(), from),
                  false);
    exporter.send(from, from_seq++, export_buffer(2, 3, token, 21), false);
    CHECK(importer.wait_event(20) == CL_COMPLETE);
    CHECK(exporter.wait_event(21) == CL_COMPLETE);

    const std::vector<uint64_t> no_wait;
    importer.send(to, seq++, [&](flatbuffers::FlatBufferBuilder& fbb) {
        return std::make_pair(
            wire::Request::ReadBuffer,
            wire::CreateReadBuffer(fbb, 2, 3, 0, kBytes, 0, fbb.CreateVector(no_wait), kBytes)
                .Union());
    });
    auto read = importer.receive_reply();
    REQUIRE(read);
    const auto& reply = RawClient::first_reply(*read);
    REQUIRE(reply.status() == CL_SUCCESS);
    REQUIRE(reply.data_frame() == 1);
    const auto& data = (*read)[1];
    CHECK(std::vector<uint8_t>(data.data<uint8_t>(), data.data<uint8_t>() + data.size()) ==
          pattern);
}

TEST_CASE("an import whose exporter never answers fails its event" *
          doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    make_pattern_buffer(client, session, seq);
    const std::string nobody = "tcp://127.0.0.1:" + std::to_string(e2e::unused_loopback_port());
    auto started = std::chrono::steady_clock::now();
    client.send(session, seq++, import_buffer(2, 3, 0x5eed0003, 30, nobody, 1), false);
    CHECK(client.wait_event(30, 15s) == CL_OUT_OF_RESOURCES);
    // Given up after the silence bound, not before (the client then moves the contents).
    CHECK(std::chrono::steady_clock::now() - started >=
          std::chrono::milliseconds(proto::kPeerSilenceMs));
    // A client chooses where an import connects: never to a local socket of the daemon's host.
    started = std::chrono::steady_clock::now();
    client.send(session, seq++,
                import_buffer(2, 3, 0x5eed0004, 31, "ipc:///var/run/docker.sock", 1), false);
    CHECK(client.wait_event(31) == CL_OUT_OF_RESOURCES);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("only a buffer of its own moves between daemons" * doctest::test_suite("daemon")) {
    RawClient client(daemon().endpoint());
    uint64_t session = client.hello();
    uint64_t seq = 1;
    auto answer = [&](auto build) { return ask(client, session, seq, build); };
    make_pattern_buffer(client, session, seq);
    CHECK(answer([](flatbuffers::FlatBufferBuilder& fbb) {
              return std::make_pair(
                  wire::Request::CreateSubBuffer,
                  wire::CreateCreateSubBuffer(fbb, 4, 3, CL_MEM_READ_WRITE, 0, 4096).Union());
          }).first == CL_SUCCESS);
    const std::string only = "only a buffer of its own moves between daemons";
    CHECK(answer(export_buffer(2, 4, 1, 40)) == std::make_pair(proto::kStatusProtocolError, only));
    CHECK(answer(import_buffer(2, 4, 1, 41, client.worker_endpoint(), session)) ==
          std::make_pair(proto::kStatusProtocolError, only));
    CHECK(answer(export_buffer(2, 99, 1, 42)) ==
          std::make_pair(proto::kStatusProtocolError, std::string("unknown buffer 99")));
    CHECK(answer(export_buffer(2, 3, 0, 43)) ==
          std::make_pair(proto::kStatusProtocolError, std::string("an export needs a token")));
    CHECK(answer(import_buffer(2, 3, 1, 44, "", session)) ==
          std::make_pair(proto::kStatusProtocolError,
                         std::string("an import needs a token, an event and the exporter's "
                                     "address")));
}
