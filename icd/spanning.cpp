// SPDX-License-Identifier: Apache-2.0
// Contexts spanning daemons. A completion noticed from one daemon sets a user event on another;
// a buffer's newest contents move straight from the daemon holding them to the one that needs
// them (that daemon's worker fetches them), or, where the daemons cannot reach each other and
// for images, by a read to this client and a write from it. Moves are chained by completion
// hooks, so no application thread ever waits for one.
#include "spanning.h"

#include "connection.h"
#include "enqueue.h"
#include "image_transfer.h"
#include "lifetime.h"
#include "log.h"

#include <secure_random.h>

#include <bit>
#include <cstdlib>
#include <string>

namespace rgpu::icd {

/// A user event on one daemon that completes once a buffer's moved contents have landed there.
/// Released once both its setter has set it and nobody will name it again.
struct Arrival {
    Connection* connection = nullptr;
    uint64_t id = 0;
    std::mutex mutex;
    bool set = false;                                      // guarded by mutex
    bool dropped = false;                                  // guarded by mutex
    cl_int status = CL_COMPLETE;                           // guarded by mutex, once set
    std::vector<std::function<void(cl_int)>> when_arrived; // guarded by mutex

    /// Sets the event (once): the buffer arrived, or failed to with `result`.
    void finish(cl_int result) {
        std::vector<std::function<void(cl_int)>> waiting;
        {
            std::lock_guard lock(mutex);
            post_status(connection, id, result);
            set = true;
            status = result;
            if (dropped) connection->post_release(id);
            waiting.swap(when_arrived);
        }
        for (auto& fn : waiting)
            fn(result);
    }
    /// Runs `fn` with the arrival's status once it is set.
    void then(std::function<void(cl_int)> fn) {
        {
            std::lock_guard lock(mutex);
            if (!set) {
                when_arrived.push_back(std::move(fn));
                return;
            }
        }
        fn(status);
    }
    /// Nobody will name it in a wait list any more.
    void drop() {
        std::lock_guard lock(mutex);
        dropped = true;
        if (set) connection->post_release(id);
    }
    static void post_status(Connection* conn, uint64_t id, cl_int status) {
        cl_int value = status < 0 ? status : CL_COMPLETE;
        conn->post([id, value](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
            return body(wire::CreateSetUserEventStatus(fbb, id, value));
        });
        conn->flush();
    }
};

namespace {

uint64_t new_user_event(Connection* conn, Context* c) {
    uint64_t id = Connection::new_id();
    uint64_t context = c->id;
    conn->post([id, context](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateCreateUserEvent(fbb, id, context));
    });
    return id;
}

/// Runs `hook` with e's final status once e completes (at once if it has).
void when_complete(Event* e, std::function<void(cl_int)> hook) {
    {
        std::lock_guard lock(e->mutex);
        if (!e->complete()) {
            e->hooks.push_back(std::move(hook));
            return;
        }
    }
    hook(e->status.load());
}

/// An event of the ICD's own (a move's read or write), completed by its daemon's notice.
Event* internal_event(Context* c, Connection* conn, cl_command_type type) {
    auto* e = new Event();
    e->context = c;
    e->connection = conn;
    e->id = Connection::new_id();
    e->command_type = type;
    hold(c);
    conn->track_event(e);
    return e;
}

/// The queue this client moves buffers with on part `part` of `c` (made on first use, on the
/// part's first device).
uint64_t transfer_queue(Context* c, size_t part) {
    std::lock_guard lock(c->mutex);
    if (c->transfer_queues.size() < c->parts.size()) c->transfer_queues.resize(c->parts.size());
    uint64_t& id = c->transfer_queues[part];
    if (id) return id;
    Connection* conn = c->parts[part];
    const Device* device = nullptr;
    for (const Device* d : c->devices)
        if (d->connection == conn && !device) device = d;
    id = Connection::new_id();
    uint64_t queue = id, context = c->id;
    uint32_t index = device->index;
    conn->post([=](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateCreateQueue(fbb, queue, context, index, 0));
    });
    return id;
}

/// Runs `fn` once every event of `events` and every arrival of `after` have completed, with
/// the first failure's status or CL_COMPLETE.
void after_all(const std::vector<Event*>& events,
               const std::vector<std::shared_ptr<Arrival>>& after, std::function<void(cl_int)> fn) {
    struct Join {
        std::atomic<size_t> left;
        std::atomic<cl_int> status{CL_COMPLETE};
        std::function<void(cl_int)> fn;
    };
    auto join = std::make_shared<Join>();
    join->left = events.size() + after.size() + 1;
    join->fn = std::move(fn);
    auto one_done = [join](cl_int status) {
        cl_int ok = CL_COMPLETE;
        if (status < 0) join->status.compare_exchange_strong(ok, status);
        if (join->left.fetch_sub(1) == 1) join->fn(join->status.load());
    };
    for (Event* e : events)
        when_complete(e, one_done);
    for (const auto& a : after)
        a->then(one_done);
    one_done(CL_COMPLETE); // the count's own share: nothing runs before every hook is set
}

/// Copies m's contents from part `from` to part `to` through this client: a read from `from`,
/// then a write to `to`; `arrival` is set when they have landed (or the move failed). Drops
/// the caller's hold on m once the write is sent.
void move_through_client(Context* c, Mem* m, size_t from, size_t to,
                         std::shared_ptr<Arrival> arrival) {
    Connection* src = c->parts[from];
    Connection* dst = c->parts[to];
    uint64_t read_queue = transfer_queue(c, from);
    uint64_t write_queue = transfer_queue(c, to);
    std::shared_ptr<uint8_t[]> staging(new uint8_t[m->size]);
    // Each internal event's hook is set after its command is posted: the hook drops the
    // event, and runs at once if the event is already over (a broken connection).
    // An image moves packed, as a whole-image read and write.
    const size_t origin[3] = {0, 0, 0};
    Event* read = internal_event(c, src, m->image ? CL_COMMAND_READ_IMAGE : CL_COMMAND_READ_BUFFER);
    uint64_t mem = m->id, size = m->size, event = read->id;
    if (m->image)
        send_image_read(src, read_queue, m, origin, m->image->whole, staging.get(), {}, read, {});
    else
        src->read(
            [&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
                return body(wire::CreateReadBuffer(fbb, read_queue, mem, 0, size, event,
                                                   fbb.CreateVector(std::vector<uint64_t>{}),
                                                   proto::kTransferChunkBytes));
            },
            staging.get(), size, read);
    src->flush();
    when_complete(read, [=](cl_int status) {
        if (status < 0) {
            arrival->finish(status);
        } else {
            Event* write =
                internal_event(c, dst, m->image ? CL_COMMAND_WRITE_IMAGE : CL_COMMAND_WRITE_BUFFER);
            WriteSource packed{staging.get(), WriteSource::Kind::Shared, staging};
            if (m->image)
                send_image_write(dst, write_queue, m, origin, m->image->whole, packed, write->id,
                                 {});
            else
                send_write(dst, write_queue, mem, 0, size, packed, write->id, {});
            dst->flush();
            when_complete(write, [arrival, write](cl_int written) {
                arrival->finish(written);
                drop(write);
            });
        }
        drop(m);
        drop(read);
    });
}

/// Whether m's contents may move straight from part `from` to part `to`: a plain buffer
/// (images keep their packed path) of a daemon reached over TCP, unless the user said no or
/// that pair failed twice running.
bool direct_move_allowed(Context* c, const Mem* m, size_t from, size_t to) {
    static const bool enabled = [] {
        const char* value = std::getenv("RGPU_DIRECT_MOVES");
        return !value || std::string(value) != "0";
    }();
    if (!enabled || m->image || m->uses_svm) return false;
    // Workers fetch only from TCP endpoints (a local socket is the daemon host's own business).
    if (c->parts[from]->peer_address().endpoint.rfind("tcp://", 0) != 0) return false;
    std::lock_guard lock(c->mutex);
    auto it = c->direct_failures.find(from * kMaxParts + to);
    return it == c->direct_failures.end() || it->second < 2;
}

void note_direct_result(Context* c, size_t from, size_t to, bool ok) {
    std::lock_guard lock(c->mutex);
    int& failures = c->direct_failures[from * kMaxParts + to];
    failures = ok ? 0 : failures + 1;
}

/// Copies m's contents from part `from` to part `to` straight between the daemons: `to`'s
/// worker fetches them from `from`'s (schema/peer.fbs), so they cross the network once and
/// never pass through this client. If that fails (the daemons cannot reach each other, a
/// daemon saved the session meanwhile), the contents move through the client after all.
void move_directly(Context* c, Mem* m, size_t from, size_t to, std::shared_ptr<Arrival> arrival) {
    Connection* src = c->parts[from];
    Connection* dst = c->parts[to];
    uint64_t read_queue = transfer_queue(c, from);
    uint64_t write_queue = transfer_queue(c, to);
    const Connection::PeerAddress exporter = src->peer_address();
    uint64_t token = 0;
    while (token == 0)
        token = secure_random_u64(); // admits the fetch: only the two workers learn it
    // The export's own outcome tells nothing the import's does not, and it may come long after
    // (an export nobody fetches is given up by its daemon): no event for it.
    Event* imported = internal_event(c, dst, CL_COMMAND_WRITE_BUFFER);
    imported->notice_only = true;
    uint64_t mem = m->id, import_event = imported->id;
    src->post([=](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateExportBuffer(fbb, read_queue, mem, token, 0));
    });
    dst->post([&](flatbuffers::FlatBufferBuilder& fbb, uint32_t) {
        return body(wire::CreateImportBuffer(fbb, write_queue, mem, token, import_event,
                                             fbb.CreateString(exporter.endpoint), exporter.session,
                                             fbb.CreateString(exporter.server_key)));
    });
    src->flush();
    dst->flush();
    log()->debug("buffer {} moves from part {} to part {} directly (arrival {})", m->id, from, to,
                 arrival->id);
    when_complete(imported, [=](cl_int status) {
        note_direct_result(c, from, to, status >= 0);
        if (status >= 0) {
            arrival->finish(CL_COMPLETE);
            drop(m);
        } else {
            log()->info("buffer {} could not move directly between daemons {} and {} ({}); it "
                        "moves through this client",
                        mem, c->parts[from]->peer_address().endpoint,
                        c->parts[to]->peer_address().endpoint, status);
            move_through_client(c, m, from, to, arrival);
        }
        drop(imported);
    });
}

/// Copies m's contents from part `from` to part `to` once the events of `wait` and the
/// arrivals of `after` have completed; `arrival` is set when they have landed (or the move
/// failed). The move only starts once what it waits for is done, so nothing on a transfer
/// queue ever waits: an in-order queue cannot tie a move into a cycle with the commands
/// waiting for it.
void move_contents(Context* c, Mem* m, size_t from, size_t to, std::vector<Event*> wait,
                   std::vector<std::shared_ptr<Arrival>> after, std::shared_ptr<Arrival> arrival) {
    hold(m); // until the contents are sent: the application may release it meanwhile
    log()->debug("buffer {} moves from part {} to part {} (arrival {})", m->id, from, to,
                 arrival->id);
    after_all(wait, after, [=](cl_int ready) {
        if (ready < 0) {
            arrival->finish(ready);
            drop(m);
        } else if (direct_move_allowed(c, m, from, to)) {
            move_directly(c, m, from, to, arrival);
        } else {
            move_through_client(c, m, from, to, arrival);
        }
    });
}

} // namespace

uint64_t event_id_on(Event* e, Connection* target) {
    if (e->connection == target || e->command_type == CL_COMMAND_USER) return e->id;
    uint64_t id;
    {
        std::lock_guard lock(e->mutex);
        for (auto& [conn, proxy] : e->proxies)
            if (conn == target) return proxy;
        id = new_user_event(target, e->context);
        e->proxies.emplace_back(target, id);
        if (!e->complete()) {
            e->hooks.push_back(
                [target, id](cl_int status) { Arrival::post_status(target, id, status); });
            return id;
        }
    }
    Arrival::post_status(target, id, e->status.load());
    return id;
}

void bring(Queue* q, Mem* m, Access access, std::vector<uint64_t>& wait, cl_uint num_events,
           const cl_event* wait_list) {
    Context* c = q->context;
    if (!c->spans()) return;
    // A sub-buffer's contents are its parent's: the whole parent moves, and all of a sub-buffer
    // is only part of it.
    if (m->parent) {
        m = m->parent;
        if (access == Access::Overwrite) access = Access::Write;
    }
    size_t to = c->part_of(q->connection);
    const uint64_t bit = uint64_t{1} << to;
    std::unique_lock lock(m->mutex);
    if (m->arrivals.size() < c->parts.size()) m->arrivals.resize(c->parts.size());
    auto& here = m->arrivals[to];
    if ((m->holders & bit) || access == Access::Overwrite) {
        // Contents still on their way here land before this command runs (and so cannot
        // overwrite what it writes).
        if (here) wait.push_back(here->id);
        m->holders = access == Access::Read ? (m->holders | bit) : bit;
        return;
    }
    // The move starts once the contents have landed where they come from. An older move still
    // landing here is not waited for: that would tie the command to another command's wait
    // list (a deadlock native OpenCL does not have). A program that writes a buffer in one
    // place while a command elsewhere still reads it orders the writer after the reader, and
    // so after that reader's move.
    size_t from = static_cast<size_t>(std::countr_zero(m->holders));
    std::vector<std::shared_ptr<Arrival>> after;
    if (m->arrivals[from]) after.push_back(m->arrivals[from]);
    auto arrival = std::make_shared<Arrival>();
    arrival->connection = q->connection;
    arrival->id = new_user_event(q->connection, c);
    if (here) here->drop();
    here = arrival;
    m->holders = access == Access::Read ? (m->holders | bit) : bit;
    lock.unlock();
    wait.push_back(arrival->id);
    // The read waits for what the command waits for: the writer of the contents is among it.
    std::vector<Event*> events;
    for (cl_uint i = 0; i < num_events; ++i)
        events.push_back(static_cast<Event*>(wait_list[i]));
    move_contents(c, m, from, to, std::move(events), std::move(after), std::move(arrival));
}

void release_proxies(Event* e) {
    std::lock_guard lock(e->mutex);
    for (auto& [conn, id] : e->proxies)
        conn->post_release(id);
    e->proxies.clear();
}

void release_arrivals(Mem* m) {
    std::lock_guard lock(m->mutex);
    for (auto& arrival : m->arrivals)
        if (arrival) arrival->drop();
    m->arrivals.clear();
}

void release_transfer_queues(Context* c) {
    std::lock_guard lock(c->mutex);
    for (size_t i = 0; i < c->transfer_queues.size(); ++i)
        if (c->transfer_queues[i]) c->parts[i]->post_release(c->transfer_queues[i]);
    c->transfer_queues.clear();
}

} // namespace rgpu::icd
