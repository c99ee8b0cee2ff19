// SPDX-License-Identifier: Apache-2.0
// Buffers moving straight between daemons: exports kept for their fetchers, imports fetched.
#include "peer_transfers.h"

#include "message_writer.h"

#include <decode.h>
#include <protocol.h>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace rgpu::daemon {

namespace {

using clock = std::chrono::steady_clock;

constexpr auto kSilence = std::chrono::milliseconds(proto::kPeerSilenceMs);
constexpr auto kExportPatience = std::chrono::milliseconds(proto::kExportPatienceMs);
/// An export no fetch has named yet is given up sooner: its importer asks at once and gives up
/// after kPeerSilenceMs itself, and meanwhile the export's unfetched pieces fill the staging
/// budget, holding up the session's executor.
constexpr auto kUnaskedPatience = std::chrono::milliseconds(3 * proto::kPeerSilenceMs);
/// How often a parked fetch is told that its export is still being read.
constexpr auto kKeepAlive = std::chrono::milliseconds(1000);

long long ms_since(clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
}

} // namespace

PeerTransfers::PeerTransfers(zmq::context_t& context, std::optional<curve::KeyPair> keys,
                             Hooks hooks)
    : context_(context), keys_(std::move(keys)), hooks_(std::move(hooks)) {}

PeerTransfers::~PeerTransfers() = default;

// --- the exporting side ---

namespace {
/// The piece of an export at `offset`, and its size; false if no piece starts there.
bool piece_at(uint64_t total, uint64_t offset, size_t* index, uint64_t* size) {
    if (offset >= total || offset % proto::kPeerPieceBytes != 0) return false;
    *index = static_cast<size_t>(offset / proto::kPeerPieceBytes);
    *size = std::min<uint64_t>(proto::kPeerPieceBytes, total - offset);
    return true;
}
} // namespace

void PeerTransfers::exported(uint64_t session, uint64_t token, uint64_t event, uint64_t offset,
                             uint64_t total, zmq::message_t data, cl_int status) {
    if (ended(token)) return; // a piece of an export that failed or was given up
    auto found = exports_.find(token);
    if (found == exports_.end() && status >= 0 && exports_.size() >= proto::kMaxPeerTransfers)
        status = CL_OUT_OF_RESOURCES;
    size_t index = 0;
    uint64_t size = 0;
    if (status >= 0 && (!piece_at(total, offset, &index, &size) || data.size() != size ||
                        (found != exports_.end() && found->second.total != total)))
        status = CL_OUT_OF_RESOURCES; // cannot happen: the executor reads whole pieces
    if (status < 0) {
        if (found != exports_.end()) exports_.erase(found);
        hooks_.notify(event, status);
        note_ended(token);
        for (auto it = parked_.begin(); it != parked_.end();)
            if (it->token == token) {
                answer(it->session, it->routing, token, it->offset, 0, nullptr,
                       proto::kStatusProtocolError, "the export failed");
                it = parked_.erase(it);
            } else {
                ++it;
            }
        return;
    }
    Export& e = exports_[token];
    if (e.pieces.empty()) {
        const size_t count =
            static_cast<size_t>((total + proto::kPeerPieceBytes - 1) / proto::kPeerPieceBytes);
        e.session = session;
        e.event = event;
        e.total = total;
        e.pieces.resize(count);
        e.fetched.assign(count, false);
        e.asked_for = std::any_of(parked_.begin(), parked_.end(),
                                  [&](const Parked& p) { return p.token == token; });
    }
    e.pieces[index] = std::move(data);
    e.last_activity = clock::now();
    answer_parked(token);
}

void PeerTransfers::answer_parked(uint64_t token) {
    // In the order the fetches came; each answered once its piece is read.
    for (auto it = parked_.begin(); it != parked_.end();) {
        auto found = exports_.find(token);
        if (found == exports_.end()) return; // fetched whole already
        Export& e = found->second;
        size_t index = 0;
        uint64_t size = 0;
        if (it->token != token || (piece_at(e.total, it->offset, &index, &size) &&
                                   !e.pieces[index] && !e.fetched[index])) {
            ++it;
            continue;
        }
        Parked p = std::move(*it);
        it = parked_.erase(it);
        answer(p.session, p.routing, token, p.offset, p.size, &e);
    }
}

void PeerTransfers::fetch(uint64_t session, const std::string& routing,
                          const wire::FetchBuffer& request) {
    const uint64_t token = request.token();
    auto found = exports_.find(token);
    if (request.abandon()) {
        parked_.erase(std::remove_if(parked_.begin(), parked_.end(),
                                     [&](const Parked& p) { return p.token == token; }),
                      parked_.end());
        if (found != exports_.end()) {
            finish_export(token, CL_OUT_OF_RESOURCES);
            note_ended(token);
        }
        return;
    }
    if (ended(token)) {
        answer(session, routing, token, request.offset(), 0, nullptr, proto::kStatusProtocolError,
               "the export was given up");
        return;
    }
    if (found != exports_.end()) {
        size_t index = 0;
        uint64_t size = 0;
        Export& e = found->second;
        e.asked_for = true;
        bool waits = piece_at(e.total, request.offset(), &index, &size) && !e.pieces[index] &&
                     !e.fetched[index];
        if (!waits) {
            answer(session, routing, token, request.offset(), request.size(), &e);
            return;
        }
    }
    if (token == 0 || parked_.size() >= proto::kMaxPeerTransfers) {
        answer(session, routing, token, request.offset(), 0, nullptr, proto::kStatusProtocolError,
               "no such export");
        return;
    }
    // The client asks both daemons at once: the export's piece may not be read yet.
    auto now = clock::now();
    parked_.push_back({session, routing, token, request.offset(), request.size(), now, now});
    answer(session, routing, token, request.offset(), 0, nullptr);
}

void PeerTransfers::answer(uint64_t session, const std::string& routing, uint64_t token,
                           uint64_t offset, uint64_t size, Export* ready, int32_t status,
                           const std::string& why) {
    MessageWriter writer;
    auto& fbb = writer.builder();
    bool complete = false;
    size_t index = 0;
    uint64_t piece_size = 0;
    if (status != CL_SUCCESS || !ready) {
        auto body = wire::CreateBufferPiece(fbb, token, offset, 0, 0, false);
        writer.add_reply(0, status, wire::ReplyBody::BufferPiece, body.Union(), why);
    } else if (!piece_at(ready->total, offset, &index, &piece_size) || size != piece_size) {
        auto body = wire::CreateBufferPiece(fbb, token, offset, 0, ready->total, false);
        writer.add_reply(0, proto::kStatusProtocolError, wire::ReplyBody::BufferPiece, body.Union(),
                         "not a piece of the export");
    } else if (ready->fetched[index]) {
        auto body = wire::CreateBufferPiece(fbb, token, offset, 0, ready->total, false);
        writer.add_reply(0, proto::kStatusProtocolError, wire::ReplyBody::BufferPiece, body.Union(),
                         "that piece was fetched already");
    } else if (!ready->pieces[index]) {
        // Not read yet (callers park such fetches; answered "not ready" all the same).
        auto body = wire::CreateBufferPiece(fbb, token, offset, 0, ready->total, false);
        writer.add_reply(0, CL_SUCCESS, wire::ReplyBody::BufferPiece, body.Union());
    } else {
        // The piece goes out as it is (no copy) and is freed once sent.
        zmq::message_t piece = std::move(*ready->pieces[index]);
        ready->pieces[index].reset();
        ready->fetched[index] = true;
        complete = ++ready->fetched_count == ready->pieces.size();
        ready->last_activity = clock::now();
        auto body = wire::CreateBufferPiece(fbb, token, offset, size, ready->total, true);
        writer.add_reply(0, CL_SUCCESS, wire::ReplyBody::BufferPiece, body.Union(), {}, &piece);
    }
    auto frames = writer.finish(session, 0);
    hooks_.send(routing, frames);
    if (complete) finish_export(token, CL_COMPLETE);
}

void PeerTransfers::note_ended(uint64_t token) {
    ended_exports_.push_back(token);
    while (ended_exports_.size() > proto::kMaxPeerTransfers)
        ended_exports_.pop_front();
}

bool PeerTransfers::ended(uint64_t token) const {
    return std::find(ended_exports_.begin(), ended_exports_.end(), token) != ended_exports_.end();
}

void PeerTransfers::finish_export(uint64_t token, cl_int status) {
    auto found = exports_.find(token);
    if (found == exports_.end()) return;
    hooks_.notify(found->second.event, status);
    exports_.erase(found);
}

// --- the importing side ---

void PeerTransfers::start(const Outbox::Import& order) {
    if (imports_.size() >= proto::kMaxPeerTransfers || imports_.count(order.token)) {
        hooks_.notify(order.event, CL_OUT_OF_RESOURCES);
        return;
    }
    Import& import = imports_[order.token];
    import.order = order;
    import.started = import.last_heard = clock::now();
    try {
        import.socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
        import.socket->set(zmq::sockopt::linger, 0);
        import.socket->set(
            zmq::sockopt::maxmsgsize,
            static_cast<int64_t>(std::max(proto::kMaxEnvelopeBytes, proto::kPeerPieceBytes)));
        if (!order.from_key.empty()) {
            curve::ClientSettings settings{order.from_key, keys_ ? *keys_ : curve::generate()};
            curve::make_client(*import.socket, settings);
        }
        import.socket->connect(order.from);
    } catch (const std::exception& e) {
        fail_import(order.token, CL_OUT_OF_RESOURCES,
                    std::string("cannot connect to the exporter: ") + e.what());
        return;
    }
    ask_ahead(order.token, import);
}

void PeerTransfers::ask_ahead(uint64_t, Import& import) {
    while (import.asked + import.writing < proto::kPeerPiecesAhead &&
           import.next_offset < import.order.size) {
        uint64_t n =
            std::min<uint64_t>(proto::kPeerPieceBytes, import.order.size - import.next_offset);
        if (import.asked == 0) import.last_heard = clock::now(); // silence counts from here
        send_fetch(import, import.next_offset, n, false);
        import.next_offset += n;
        ++import.asked;
    }
}

void PeerTransfers::send_fetch(Import& import, uint64_t offset, uint64_t size, bool abandon) {
    flatbuffers::FlatBufferBuilder fbb(256);
    auto body = wire::CreateFetchBuffer(fbb, import.order.token, offset, size, abandon);
    std::vector<flatbuffers::Offset<wire::Command>> commands{
        wire::CreateCommand(fbb, wire::Request::FetchBuffer, body.Union(), false)};
    auto message =
        wire::CreateClientMessage(fbb, proto::kProtocolVersion, import.order.from_session, 0,
                                  fbb.CreateVector(commands), 0, false);
    fbb.Finish(message, proto::kFileIdentifier);
    try {
        // Queued while the connection is made; an exporter that never answers is found silent.
        (void)import.socket->send(zmq::buffer(fbb.GetBufferPointer(), fbb.GetSize()),
                                  zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
        spdlog::debug("fetch from {} not sent: {}", import.order.from, e.what());
    }
}

void PeerTransfers::add_poll_items(std::vector<zmq::pollitem_t>& items) const {
    for (const auto& [token, import] : imports_)
        items.push_back({import.socket->handle(), 0, ZMQ_POLLIN, 0});
}

void PeerTransfers::receive() {
    std::vector<uint64_t> tokens;
    for (const auto& [token, import] : imports_)
        tokens.push_back(token);
    for (uint64_t token : tokens) {
        for (int n = 0; n < 64; ++n) {
            auto it = imports_.find(token);
            if (it == imports_.end()) break;
            std::vector<zmq::message_t> frames;
            zmq::message_t frame;
            if (!it->second.socket->recv(frame, zmq::recv_flags::dontwait)) break;
            bool more = frame.more();
            frames.push_back(std::move(frame));
            bool malformed = false;
            while (more) {
                zmq::message_t next;
                (void)it->second.socket->recv(next); // the rest of the message is here
                more = next.more();
                if (frames.size() < 2)
                    frames.push_back(std::move(next));
                else
                    malformed = true;
            }
            if (malformed) {
                fail_import(token, CL_OUT_OF_RESOURCES, "an answer of more than two frames");
                continue;
            }
            handle_answer(token, it->second, frames);
        }
    }
}

void PeerTransfers::handle_answer(uint64_t token, Import& import,
                                  std::vector<zmq::message_t>& frames) {
    proto::align_frame(frames[0]);
    auto decoded = proto::decode_daemon_message(frames[0].data(), frames[0].size());
    if (!decoded)
        return fail_import(token, CL_OUT_OF_RESOURCES, "an invalid answer: " + decoded.error);
    const auto* replies = decoded.message->replies();
    const wire::Reply* reply = replies && replies->size() == 1 ? replies->Get(0) : nullptr;
    const wire::BufferPiece* piece = reply ? reply->body_as_BufferPiece() : nullptr;
    if (!piece || piece->token() != token)
        return fail_import(token, CL_OUT_OF_RESOURCES, "an answer that is not a piece of it");
    if (reply->status() != CL_SUCCESS)
        return fail_import(token, CL_OUT_OF_RESOURCES,
                           "refused: " + (reply->message() ? reply->message()->str() : "?"));
    import.last_heard = clock::now();
    if (!piece->ready()) return; // still being read there
    const uint64_t expected =
        std::min<uint64_t>(proto::kPeerPieceBytes, import.order.size - import.expected_offset);
    if (import.asked == 0 || piece->offset() != import.expected_offset ||
        piece->size() != expected || piece->total() != import.order.size ||
        reply->data_frame() != 1 || frames.size() != 2 || frames[1].size() != expected)
        return fail_import(token, CL_OUT_OF_RESOURCES, "a piece other than the one asked for");
    --import.asked;
    ++import.writing;
    import.expected_offset += expected;
    auto write = std::make_shared<ImportPiece>();
    write->token = token;
    write->queue = import.order.queue;
    write->mem = import.order.mem;
    write->offset = piece->offset();
    write->data = std::move(frames[1]);
    hooks_.write(std::move(write));
    ask_ahead(token, import);
}

void PeerTransfers::written(uint64_t token, uint64_t bytes, cl_int status) {
    auto it = imports_.find(token);
    if (it == imports_.end()) return; // failed meanwhile: the client moves it itself
    Import& import = it->second;
    --import.writing;
    if (status < 0)
        return fail_import(token, status,
                           "writing a piece failed (" + std::to_string(status) + ")");
    import.written += bytes;
    if (import.written < import.order.size) return ask_ahead(token, import);
    spdlog::debug("session {:016x}: buffer {} ({} bytes) fetched from {} in {} ms",
                  import.order.session, import.order.mem, import.order.size, import.order.from,
                  ms_since(import.started));
    hooks_.notify(import.order.event, CL_COMPLETE);
    imports_.erase(it);
}

void PeerTransfers::fail_import(uint64_t token, cl_int status, const std::string& why) {
    auto it = imports_.find(token);
    if (it == imports_.end()) return;
    Import& import = it->second;
    spdlog::info("session {:016x}: buffer {} could not be fetched from {} ({}); its client "
                 "moves it",
                 import.order.session, import.order.mem, import.order.from, why);
    if (import.socket) {
        // Best effort: the exporter drops the export (and stops filling its staging with it).
        // A moment's linger lets the request leave after the socket is closed.
        send_fetch(import, 0, 0, true);
        import.socket->set(zmq::sockopt::linger, 100);
    }
    hooks_.notify(import.order.event, status < 0 ? status : CL_OUT_OF_RESOURCES);
    imports_.erase(it);
}

// --- both ---

void PeerTransfers::tick() {
    auto now = clock::now();
    for (auto it = exports_.begin(); it != exports_.end();) {
        const auto patience = it->second.asked_for ? kExportPatience : kUnaskedPatience;
        if (now - it->second.last_activity > patience) {
            spdlog::info("session {:016x}: an export was not fetched in {} ms; dropped",
                         it->second.session, patience.count());
            hooks_.notify(it->second.event, CL_OUT_OF_RESOURCES);
            note_ended(it->first);
            it = exports_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto it = parked_.begin(); it != parked_.end();) {
        if (now - it->since > kExportPatience) {
            answer(it->session, it->routing, it->token, it->offset, 0, nullptr,
                   proto::kStatusProtocolError, "no such export");
            it = parked_.erase(it);
            continue;
        }
        if (now - it->last_told > kKeepAlive) {
            answer(it->session, it->routing, it->token, it->offset, 0, nullptr);
            it->last_told = now;
        }
        ++it;
    }
    std::vector<uint64_t> silent;
    for (const auto& [token, import] : imports_)
        if (import.asked > 0 && now - import.last_heard > kSilence) silent.push_back(token);
    for (uint64_t token : silent)
        fail_import(token, CL_OUT_OF_RESOURCES,
                    "no answer in " + std::to_string(proto::kPeerSilenceMs) + " ms");
}

void PeerTransfers::fail_all() {
    std::vector<uint64_t> tokens;
    for (const auto& [token, import] : imports_)
        tokens.push_back(token);
    for (uint64_t token : tokens)
        fail_import(token, CL_OUT_OF_RESOURCES, "the session is being saved");
    for (auto& [token, e] : exports_) {
        hooks_.notify(e.event, CL_OUT_OF_RESOURCES);
        note_ended(token);
    }
    exports_.clear();
    for (auto& p : parked_)
        answer(p.session, p.routing, p.token, p.offset, 0, nullptr, proto::kStatusProtocolError,
               "no such export");
    parked_.clear();
}

} // namespace rgpu::daemon
