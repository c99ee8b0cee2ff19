// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the enqueue entry points.
#pragma once

#include "objects.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace rgpu::icd {

/// The buffer `handle` names; null for anything else (an image, a released or foreign handle).
inline Mem* checked_buffer(cl_mem handle) {
    Mem* m = checked<Mem>(handle);
    return m && !m->image ? m : nullptr;
}

/// A new event for a command on `queue`, already registered for its completion notice.
Event* new_command_event(Queue* queue, cl_command_type type);

/// Validates (num, list) as the specification requires and collects the ids under which the
/// events can sit in a wait list on q's daemon.
cl_int check_wait_list(Queue* q, cl_uint count, const cl_event* list, std::vector<uint64_t>& ids);

/// What a blocking transfer returns once its command ended with `status`: success, the
/// specification's code for a failed dependency, or the command's own error.
cl_int blocking_result(cl_int status, cl_uint num_events, const cl_event* wait_list);

/// How the bytes of a write travel: copied now, borrowed from the application (which may not
/// touch them until the command completes), or borrowed from memory `owner` keeps alive.
struct WriteSource {
    const void* data;
    enum class Kind { Copy, Borrow, Shared } kind;
    std::shared_ptr<void> owner = nullptr;
};

/// Sends [offset, offset + size) of the source to the buffer, one chunk per message.
/// queue_id 0 writes through the context's internal queue (buffer initialisation). With `svm`
/// the target is SVM memory: mem_id is 0 and offset the address.
void send_write(Connection* conn, uint64_t queue_id, uint64_t mem_id, size_t offset, size_t size,
                const WriteSource& src, uint64_t event_id, const std::vector<uint64_t>& wait,
                bool svm = false);

/// Queues a read of [offset, offset + size) of buffer `mem_id` into `ptr` (with `svm`: of SVM
/// memory, mem_id 0 and offset the address); waits if `blocking` and returns the read's status.
cl_int send_read(Queue* q, uint64_t mem_id, bool blocking, size_t offset, size_t size, void* ptr,
                 const std::vector<uint64_t>& wait, Event* e, bool svm = false);

} // namespace rgpu::icd
