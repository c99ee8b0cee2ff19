// SPDX-License-Identifier: Apache-2.0
// rgpu-e2e-client's release/reconnect modes (see client_reconnect.cpp).
#pragma once

#include <CL/cl.h>

namespace rgpu::e2e {

/// How the session's connection is taken away in the middle of its work.
enum class Outage {
    Cut,     ///< this process's TCP connections are shut down under the ICD
    Release, ///< the daemon's operator releases the session (rgpu::release_session)
    Pause,   ///< the session's worker is stopped (SIGSTOP) for three peer timeouts
};

/// Runs `rounds` rounds of counted kernels, writes and reads with an outage in each, including
/// one during a large blocking read; every command must run exactly once and every byte read
/// back must be right. A rgpu::e2e::ClientExit code.
int survive_outages(cl_platform_id platform, Outage outage, int rounds);

/// The cl_rgpu_session extension: listed, its functions reachable; work flushed before a
/// detach runs while detached (the daemon lists the session as released), work enqueued while
/// detached waits, clFinish blocks until clAttachRGPU, and every command runs once.
int detach_and_attach(cl_platform_id platform);

/// Work queued, a non-blocking read in flight, prints "ready" and calls `wait` (the test stops
/// the daemon, which saves the session, and starts it again with the same checkpoint
/// directory); then the read's data, more launches, the counter and a buffer's contents must
/// all be right. With `idle`, everything has finished before "ready" (the test kills the
/// daemon outright once a periodic save has it all).
int survive_restart(cl_platform_id platform, void (*wait)(), bool idle = false);

} // namespace rgpu::e2e
