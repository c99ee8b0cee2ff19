// SPDX-License-Identifier: Apache-2.0
// Shared steps of every enqueue handler: bounds, resolving wait lists and publishing the
// command's event.
#pragma once

#include "../exec_context.h"

#include <cstdint>
#include <vector>

namespace rgpu::daemon {

/// Maps client event ids to native events. Returns CL_SUCCESS, kProtocolError for an unknown
/// id, or CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST when a listed event already failed.
/// Events of commands a pool member's thread enqueues go to `deferred` when given (for a
/// command handed to a member thread too); otherwise their native events are waited for.
/// Whether `size` bytes (or pixels) at `offset` lie within `limit` (no overflow).
inline bool in_range(uint64_t offset, uint64_t size, uint64_t limit) {
    return offset <= limit && size <= limit - offset;
}

/// Keeps `a` and `b` alive together (what a command reads or writes, kept until it completes).
inline std::shared_ptr<void> both(std::shared_ptr<void> a, std::shared_ptr<void> b) {
    if (!b) return a;
    return std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<void>>>(std::move(a),
                                                                                     std::move(b));
}

cl_int resolve_wait_list(ExecContext& ctx, const flatbuffers::Vector<uint64_t>* wait,
                         std::vector<cl_event>& out,
                         std::vector<std::shared_ptr<DeferredEvent>>* deferred = nullptr);

/// After a successful native enqueue that produced `native`: stores it as client event
/// `client_event` (if non-zero) and arranges the completion notice; `keep_alive` is held until
/// the command completes. `native` is adopted (released by us).
cl_int publish_event(ExecContext& ctx, uint64_t queue_id, QueueObject& queue, uint64_t client_event,
                     cl_event native, std::shared_ptr<void> keep_alive = nullptr);

/// Hands a record whose native event is set to the outbox, so that it (and the memory it keeps
/// alive) lives until the command completes, whatever else fails; registers `client_event`
/// (0 = none). Returns an error when the event id is taken.
cl_int watch_command(ExecContext& ctx, const std::shared_ptr<CompletionRecord>& record,
                     uint64_t client_event);

/// A command with client event `client_event` failed before reaching the device: the client
/// learns it through a notice with `status`, and later wait lists naming it fail.
void fail_event(ExecContext& ctx, uint64_t client_event, cl_int status);

} // namespace rgpu::daemon
