// SPDX-License-Identifier: Apache-2.0
// Contexts spanning daemons: what crosses from one daemon to another. An event of one daemon in
// a wait list on another is stood for by a user event there, set when the original completes;
// a buffer's newest contents move (straight between the daemons, else through the client) to
// the daemon whose command needs them.
// With a context on one daemon, nothing here does anything.
#pragma once

#include "objects.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rgpu::icd {

/// The most daemons one context may span.
inline constexpr size_t kMaxParts = 64;

/// The id under which `e` can sit in a wait list on `target`: its own, or that of a user event
/// on `target` that completes with `e` (made on first use, kept while `e` lives).
uint64_t event_id_on(Event* e, Connection* target);

/// How a command uses a buffer: reads it, changes part of it, or replaces all of it.
enum class Access { Read, Write, Overwrite };

/// Before a command on `q` uses `m`: where the newest contents are on another daemon, moves
/// them to q's daemon (after the command's own wait list, `wait_list`) and adds what the command
/// must wait for to `wait`; then records where the newest contents are.
void bring(Queue* q, Mem* m, Access access, std::vector<uint64_t>& wait, cl_uint num_events,
           const cl_event* wait_list);

/// Frees what a spanning object left on the daemons (proxies, arrivals, transfer queues).
void release_proxies(Event* e);
void release_arrivals(Mem* m);
void release_transfer_queues(Context* c);

} // namespace rgpu::icd
