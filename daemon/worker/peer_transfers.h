// SPDX-License-Identifier: Apache-2.0
// Buffers moving straight between daemons (schema/peer.fbs): the I/O thread's part, on both
// sides. The exporting worker keeps a buffer's contents (read by its executor) for the worker
// that presents the export's token; the importing worker fetches them piece by piece over a
// connection of its own to the exporter's socket and hands each piece to its executor to
// write. Bounded everywhere: pieces ahead, transfers under way, how long anything waits. Any
// failure completes the client's notice-only event with an error and the client moves the
// contents itself, through its own connections.
#pragma once

#include "outbox.h"
#include "session.h"

#include <curve.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

namespace rgpu::daemon {

class PeerTransfers {
  public:
    struct Hooks {
        /// Sends a reply to connection `routing` of the worker's own socket (a fetching peer).
        std::function<void(const std::string& routing, std::vector<zmq::message_t>& frames)> send;
        /// Completes the client's notice-only event `event` with `status`.
        std::function<void(uint64_t event, cl_int status)> notify;
        /// Hands a fetched piece to the session's executor.
        std::function<void(std::shared_ptr<ImportPiece>)> write;
    };
    /// `keys`: the daemon's CurveZMQ pair, used when an exporter has a key (else a fresh pair).
    PeerTransfers(zmq::context_t& context, std::optional<curve::KeyPair> keys, Hooks hooks);
    ~PeerTransfers();
    PeerTransfers(const PeerTransfers&) = delete;
    PeerTransfers& operator=(const PeerTransfers&) = delete;

    // --- the exporting side ---
    /// The read of one piece of an export (at `offset` of `total` bytes) completed, or failed
    /// (`status` < 0): the piece waits to be fetched.
    void exported(uint64_t session, uint64_t token, uint64_t event, uint64_t offset, uint64_t total,
                  zmq::message_t data, cl_int status);
    /// A peer's FetchBuffer for session `session` (already checked to be this worker's).
    void fetch(uint64_t session, const std::string& routing, const wire::FetchBuffer& request);

    // --- the importing side ---
    /// The executor accepted an import: connect to the exporter and ask for the first pieces.
    void start(const Outbox::Import& order);
    /// The executor's write of an import's piece completed with `status`.
    void written(uint64_t token, uint64_t bytes, cl_int status);
    /// Appends a poll item for every import's connection.
    void add_poll_items(std::vector<zmq::pollitem_t>& items) const;
    /// Takes every answer waiting on the imports' connections.
    void receive();

    /// Time-outs and keep-alives; call every turn of the loop.
    void tick();
    /// A transfer of the session's is under way (it is not saved in the middle of one). Parked
    /// fetches do not count: anyone who knows the session id can park one.
    bool busy() const { return !imports_.empty() || !exports_.empty(); }
    /// Ends every transfer with an error (the session is being saved or moved: the client
    /// moves those contents itself once it is back).
    void fail_all();

  private:
    using clock = std::chrono::steady_clock;
    /// An export's pieces (kPeerPieceBytes each, the last one shorter), read in queue order
    /// by the executor and each freed once fetched: the staging they take is bounded by the
    /// session's budget as any read's is.
    struct Export {
        uint64_t session = 0;
        uint64_t event = 0;
        uint64_t total = 0;
        std::vector<std::optional<zmq::message_t>> pieces; ///< read, not yet fetched
        std::vector<bool> fetched;
        size_t fetched_count = 0;
        /// A fetch named it: an importer reaches this worker (else it is given up sooner).
        bool asked_for = false;
        clock::time_point last_activity;
    };
    /// A fetch that came before its export's contents were read.
    struct Parked {
        uint64_t session = 0;
        std::string routing;
        uint64_t token = 0, offset = 0, size = 0;
        clock::time_point since, last_told;
    };
    struct Import {
        Outbox::Import order;
        std::unique_ptr<zmq::socket_t> socket;
        uint64_t next_offset = 0;     ///< the next piece to ask for
        uint64_t expected_offset = 0; ///< the next piece to arrive (they come in order)
        uint32_t asked = 0;           ///< pieces asked for, not yet arrived
        uint32_t writing = 0;         ///< pieces arrived, not yet written
        uint64_t written = 0;
        clock::time_point started, last_heard;
    };

    /// Answers a fetch: with the piece if `ready` has it (then freed), "not ready", or the
    /// refusal `status` with `why`.
    void answer(uint64_t session, const std::string& routing, uint64_t token, uint64_t offset,
                uint64_t size, Export* ready, int32_t status = CL_SUCCESS,
                const std::string& why = {});
    /// Answers the parked fetches of `token` that its export can answer now.
    void answer_parked(uint64_t token);
    void finish_export(uint64_t token, cl_int status);
    /// Remembers an export that failed or was given up: its late pieces are dropped and fetches
    /// of it refused.
    void note_ended(uint64_t token);
    bool ended(uint64_t token) const;
    void ask_ahead(uint64_t token, Import& import);
    void handle_answer(uint64_t token, Import& import, std::vector<zmq::message_t>& frames);
    void send_fetch(Import& import, uint64_t offset, uint64_t size, bool abandon);
    void fail_import(uint64_t token, cl_int status, const std::string& why);

    zmq::context_t& context_;
    std::optional<curve::KeyPair> keys_;
    Hooks hooks_;
    std::unordered_map<uint64_t, Export> exports_;
    /// Exports that failed or were given up, most recent last: their late pieces are dropped.
    std::deque<uint64_t> ended_exports_;
    std::vector<Parked> parked_;
    std::unordered_map<uint64_t, Import> imports_;
};

} // namespace rgpu::daemon
