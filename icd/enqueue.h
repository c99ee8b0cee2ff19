// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the enqueue entry points.
#pragma once

#include "objects.h"

#include <cstdint>
#include <vector>

namespace rgpu::icd {

/// A new event for a command on `queue`, already registered for its completion notice.
Event* new_command_event(Queue* queue, cl_command_type type);

/// Validates (num, list) as the specification requires and collects the event ids.
cl_int check_wait_list(Context* context, cl_uint count, const cl_event* list,
                       std::vector<uint64_t>& ids);

} // namespace rgpu::icd
