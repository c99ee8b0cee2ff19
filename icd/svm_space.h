// SPDX-License-Identifier: Apache-2.0
// The client's side of shared virtual memory: every SVM allocation lives on a daemon at the
// address the device's runtime chose, and the client reserves the same addresses in its own
// address space as the host copy. Pointer values are then the same on both sides, so pointers
// stored inside SVM memory (linked structures) mean the same thing to the host and to kernels.
#pragma once

#include "objects.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace rgpu::icd {

/// A clEnqueueSVMMap not yet unmapped.
struct SvmMapping {
    uintptr_t address = 0;
    size_t size = 0;
    cl_map_flags flags = 0;
};

struct SvmAllocation {
    uintptr_t address = 0;
    size_t size = 0;
    Context* context = nullptr; ///< Held while the allocation lives.
    uint64_t id = 0;            ///< The daemon's object id (Release frees it).
    std::vector<SvmMapping> mappings;
};

/// The process's SVM allocations and the host memory reserved for them. Thread-safe.
class SvmSpace {
  public:
    static SvmSpace& instance();

    /// Maps [address, address + size) as host memory at exactly those addresses; false when a
    /// byte is taken (by another allocation, or by anything else mapped in this process).
    /// Pages shared with neighbouring allocations are reference-counted.
    bool reserve(uintptr_t address, size_t size);
    /// Gives back what reserve() mapped (pages still used by a neighbour stay).
    void unreserve(uintptr_t address, size_t size);

    void add(SvmAllocation allocation);
    /// Removes the allocation that starts at `address`; false when there is none.
    bool remove(uintptr_t address, SvmAllocation* removed);
    /// The allocation of `context` holding all of [address, address + size); false if none.
    bool find(const Context* context, uintptr_t address, size_t size, SvmAllocation* out);
    /// Records a mapping of the allocation holding it / takes back the latest mapping at
    /// `address` (false if there is none).
    bool push_mapping(const Context* context, const SvmMapping& mapping);
    bool pop_mapping(const Context* context, uintptr_t address, SvmMapping* out);

  private:
    SvmAllocation* holding(uintptr_t address, size_t size); // mutex_ held
    bool overlaps(uintptr_t address, size_t size) const;    // mutex_ held

    std::mutex mutex_;
    std::map<uintptr_t, SvmAllocation> allocations_; // by address; guarded by mutex_
    /// Reference counts of the first and last page of every allocation: the only pages two
    /// allocations can share (guarded by mutex_).
    std::map<uintptr_t, unsigned> edge_pages_;
};

} // namespace rgpu::icd
