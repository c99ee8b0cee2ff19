// SPDX-License-Identifier: Apache-2.0
// What buffers and images share on the client (defined in calls/buffer.cpp).
#pragma once

#include "objects.h"

#include <cstddef>

namespace rgpu::icd {

/// Counts `size` bytes against the device memory quota of every daemon of the context; false,
/// counting nothing, when one of them would exceed it (the daemon would refuse the object).
bool reserve_on_every_part(Context* c, size_t size);

/// A new live buffer or image object of the context (its application reference counted, the
/// context held); the caller fills in the rest and tells the daemons.
Mem* new_mem(Context* c, cl_mem_flags flags, size_t size, void* host_ptr);

/// A buffer or image object is live: kernel arguments are recognised by it.
void register_live_mem(Mem* m);

} // namespace rgpu::icd
