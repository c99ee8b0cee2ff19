// SPDX-License-Identifier: Apache-2.0
// rgpu-e2e-client's mode for a context spanning two daemons.
#pragma once

#include <CL/cl.h>

namespace rgpu::e2e {

/// With RGPU_SERVERS naming two daemons of one device each: one context over both devices; a
/// buffer written on one daemon is used by kernels on the other and read back on the first,
/// with wait lists crossing daemons; a user event gates a kernel on the second daemon; a copy
/// and a map move contents across; a failed user event fails a dependent command on the other
/// daemon; independent kernels alternate between the daemons. Every result is checked on the
/// host. Returns a ClientExit code.
int span_flow(cl_platform_id platform);

} // namespace rgpu::e2e
