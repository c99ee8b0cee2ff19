// SPDX-License-Identifier: Apache-2.0
// The raw ZeroMQ ceiling on the transport rgpu uses: round trip, pipelined messages, bulk.
#pragma once

#include "config.h"
#include "results.h"

#include <filesystem>
#include <string>

namespace rgpu::bench {

// Forks a ROUTER echo server (bound like the daemon: tcp://127.0.0.1:* or an ipc socket under
// `scratch`) and measures with a DEALER client, filling side.measurements:
//   zmq_small_rtt        median_us, mean_us: 4-byte message, wait for its echo
//   zmq_pipelined_small  per_s: N 4-byte messages back to back, one ack at the end
//   zmq_bulk_64mib       gbps: 16 x 4 MiB messages, each a zmq::message_t copied from a touched
//                        64 MiB buffer (what a sender that cannot lend its memory does), one
//                        ack at the end; gbps_zero_copy: the same with messages that borrow it
// Must be called while this process has no other threads (it forks). Errors go to side.error.
void run_zmq_ceiling(const std::string& transport, const std::filesystem::path& scratch,
                     const BenchConfig& config, SideResults& side);

} // namespace rgpu::bench
