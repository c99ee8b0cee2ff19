// SPDX-License-Identifier: Apache-2.0
// Fault injection for tests and benchmarks: a real connection loss, as ZeroMQ sees it.
#pragma once

namespace rgpu {

/// Shuts down every TCP connection of this process if one goes to a port other than
/// `supervisor_port` (the session's worker): the ICD's sockets see the loss and reconnect.
/// False, touching nothing, when there is no worker connection (the ICD is still reconnecting).
bool cut_tcp_connections(int supervisor_port);

/// The port of an endpoint "tcp://HOST:PORT"; -1 if it has none.
int endpoint_port(const char* endpoint);

} // namespace rgpu
