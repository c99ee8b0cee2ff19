// SPDX-License-Identifier: Apache-2.0
// Client command queues on the pooled device: one native queue per member the queue's work is
// placed on, kept in the client queue's order.
#pragma once

#include "session.h"

#include <vector>

namespace rgpu::daemon {

/// Creates the native queue of a new client queue on served device `device` of `context` (on
/// the pooled device: on the member the pool places it, profiling on so the pool can measure
/// kernel times). Returns the native error.
cl_int make_queue(Session& session, const ContextObject& context, uint64_t context_id,
                  uint32_t device, uint64_t properties, QueueObject& out);

/// Makes member `m` the pooled queue's current one, creating its native queue on first use.
/// Keeps the client queue's order: on an in-order queue the next command waits for everything
/// enqueued before (a marker on the previous member, added to `wait`); on an out-of-order one,
/// commands on the new member wait for the queue's last barrier.
cl_int switch_member(Session& session, const ContextObject& context, QueueObject& queue, uint32_t m,
                     std::vector<cl_event>& wait, std::vector<EventRef>& keep);

/// For a command that must follow everything enqueued on the client queue before it (a marker
/// or barrier without wait list, clFinish) when that work is spread over several members and
/// one native queue's order does not cover it: adds a marker of each member queue to `wait`
/// (kept alive in `keep`) and returns true. False when the current native queue suffices.
bool fence_members(Session& session, QueueObject& queue, std::vector<cl_event>& wait,
                   std::vector<EventRef>& keep, cl_int& err);

} // namespace rgpu::daemon
