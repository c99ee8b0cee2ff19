// SPDX-License-Identifier: Apache-2.0
// rgpu-e2e-client's pooled-device mode.
#pragma once

#include <CL/cl.h>

namespace rgpu::e2e {

/// Against a daemon serving a pool of two devices: the one device is the pool; a buffer written
/// on one queue is used by kernels on two others and read on a fourth, with wait lists between
/// them, and independent kernels on an out-of-order queue meet at a barrier. Every result is
/// checked on the host. Returns a ClientExit code.
int pool_flow(cl_platform_id platform);

} // namespace rgpu::e2e
