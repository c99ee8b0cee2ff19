// SPDX-License-Identifier: Apache-2.0
// Buffers moving straight between daemons (schema/peer.fbs): the executor's part. An export
// reads the buffer into staging memory; an import is handed to the I/O thread, which fetches
// the pieces (daemon/worker/peer_transfers.h) and hands each back here to be written in order
// with the session's commands.
#include "enqueue.h"
#include "handlers.h"
#include "staging.h"

#include <algorithm>

namespace rgpu::daemon {

namespace {

/// The whole buffer a transfer moves: a buffer of its own (a sub-buffer moves with its
/// parent, an image through the client), or null with the reason in ctx.
MemObject* movable_buffer(ExecContext& ctx, uint64_t id, cl_int& err) {
    auto* mem = ctx.session.objects.find<MemObject>(id);
    if (!mem) {
        err = ctx.fail("unknown buffer " + std::to_string(id));
        return nullptr;
    }
    if (mem->parent != 0 || mem->image || mem->svm) {
        err = ctx.fail("only a buffer of its own moves between daemons");
        return nullptr;
    }
    return mem;
}

/// A daemon started with --no-direct-moves, or an exporter that is not a TCP endpoint: the
/// client's event fails at once, quietly (no error for the application), and the client moves
/// the contents through itself. (A client chooses where an import connects: only to TCP
/// endpoints, never to a local socket of the daemon's host.)
bool refused(ExecContext& ctx, uint64_t event, const flatbuffers::String* from = nullptr) {
    if (ctx.session.direct_moves && (!from || from->string_view().rfind("tcp://", 0) == 0))
        return false;
    ctx.session.outbox.push(Outbox::FailedEvent{ctx.session.id(), event, CL_OUT_OF_RESOURCES});
    return true;
}

} // namespace

cl_int handle_export_buffer(ExecContext& ctx, const wire::ExportBuffer& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    if (req.token() == 0) return fail(ctx.fail("an export needs a token"));
    if (refused(ctx, req.event())) return CL_SUCCESS;
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return fail(ctx.fail("unknown queue " + std::to_string(req.queue())));
    cl_int err = CL_SUCCESS;
    MemObject* mem = movable_buffer(ctx, req.mem(), err);
    if (!mem) return fail(err);
    if (queue->pooled) ctx.session.pool->read_on(*mem, queue->member);
    // Read in pieces, each staged on its own and freed once fetched: a buffer larger than the
    // staging budget exports at the pace its importer fetches.
    const uint64_t total = mem->size;
    cl_command_queue native = ctx.session.native(*queue);
    for (uint64_t offset = 0; offset < total; offset += proto::kPeerPieceBytes) {
        const uint64_t n = std::min<uint64_t>(proto::kPeerPieceBytes, total - offset);
        auto record = staged_read(ctx, req.queue(), *queue, offset, n);
        record->kind = CompletionRecord::Kind::Export;
        record->token = req.token();
        record->transfer_event = req.event(); // noticed once fetched, not when read
        record->transfer_bytes = total;
        cl_event event = nullptr;
        err = clEnqueueReadBuffer(native, mem->mem.get(), CL_FALSE, offset, n, record->data.data(),
                                  0, nullptr, &event);
        if (err != CL_SUCCESS) {
            if (offset == 0) return fail(err);
            // Pieces are on their way: the export fails through its I/O-thread state.
            ctx.session.outbox.push(Outbox::Completion{record, err});
            break;
        }
        record->native = EventRef(event);
        (void)watch_command(ctx, record, 0);
    }
    ctx.session.mark_dirty(req.queue(), *queue);
    return CL_SUCCESS;
}

cl_int handle_import_buffer(ExecContext& ctx, const wire::ImportBuffer& req) {
    auto fail = [&](cl_int err) {
        fail_event(ctx, req.event(), err);
        return err;
    };
    if (req.token() == 0 || req.event() == 0 || req.from_session() == 0 || !req.from() ||
        req.from()->size() == 0)
        return fail(ctx.fail("an import needs a token, an event and the exporter's address"));
    if (refused(ctx, req.event(), req.from())) return CL_SUCCESS;
    auto* queue = ctx.session.objects.find<QueueObject>(req.queue());
    if (!queue) return fail(ctx.fail("unknown queue " + std::to_string(req.queue())));
    cl_int err = CL_SUCCESS;
    MemObject* mem = movable_buffer(ctx, req.mem(), err);
    if (!mem) return fail(err);
    ctx.session.outbox.push(Outbox::Import{
        ctx.session.id(), req.token(), req.queue(), req.mem(), mem->size, req.event(),
        req.from()->str(), req.from_session(), req.from_key() ? req.from_key()->str() : ""});
    return CL_SUCCESS;
}

void write_import_piece(Session& session, ImportPiece& piece) {
    std::vector<zmq::message_t> no_frames;
    ExecContext ctx{session, 0, no_frames, false, {}};
    auto record = std::make_shared<CompletionRecord>();
    record->kind = CompletionRecord::Kind::ImportPiece;
    record->session = session.id();
    record->token = piece.token;
    record->transfer_bytes = piece.data.size();
    auto failed = [&](cl_int status) { session.outbox.push(Outbox::Completion{record, status}); };
    // The client holds the buffer and the queue until the import is over; a session whose
    // client released them anyway (a protocol error of its own) only fails the import.
    auto* queue = session.objects.find<QueueObject>(piece.queue);
    auto* mem = session.objects.find<MemObject>(piece.mem);
    if (!queue || !mem || !in_range(piece.offset, piece.data.size(), mem->size))
        return failed(CL_INVALID_MEM_OBJECT);
    record->queue = piece.queue;
    const uint64_t size = piece.data.size();
    auto source = hold_write(ctx, std::move(piece.data));
    cl_event event = nullptr;
    cl_int err = clEnqueueWriteBuffer(session.native(*queue), mem->mem.get(), CL_FALSE,
                                      piece.offset, size, source->data.data(), 0, nullptr, &event);
    if (err != CL_SUCCESS) return failed(err);
    session.written_by(*queue, *mem);
    session.mark_dirty(piece.queue, *queue);
    record->native = EventRef(event);
    record->source = std::move(source);
    (void)watch_command(ctx, record, 0);
    session.flush_dirty_queues();
}

} // namespace rgpu::daemon
