// SPDX-License-Identifier: Apache-2.0
// Host memory reserved at the addresses of the daemon's SVM allocations.
#include "svm_space.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace rgpu::icd {
namespace {

uintptr_t page_size() {
    static const uintptr_t size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    return size;
}

uintptr_t page_of(uintptr_t address) {
    return address & ~(page_size() - 1);
}

/// Maps [first, last] pages; false when any of them is taken.
bool map_pages(uintptr_t first, uintptr_t last) {
    if (last < first) return true;
    size_t bytes = last - first + page_size();
    void* want = reinterpret_cast<void*>(first);
    // MAP_FIXED_NOREPLACE never replaces a mapping; older kernels take it as a hint, so the
    // address is checked as well.
    void* got = mmap(want, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
    if (got == want) return true;
    if (got != MAP_FAILED) munmap(got, bytes);
    return false;
}

void unmap_pages(uintptr_t first, uintptr_t last) {
    if (last >= first) munmap(reinterpret_cast<void*>(first), last - first + page_size());
}

} // namespace

SvmSpace& SvmSpace::instance() {
    static SvmSpace space;
    return space;
}

bool SvmSpace::overlaps(uintptr_t address, size_t size) const {
    auto next = allocations_.lower_bound(address);
    if (next != allocations_.end() && next->first < address + size) return true;
    if (next == allocations_.begin()) return false;
    const SvmAllocation& before = std::prev(next)->second;
    return before.address + before.size > address;
}

bool SvmSpace::reserve(uintptr_t address, size_t size) {
    if (size == 0 || address + size < address) return false;
    std::lock_guard lock(mutex_);
    if (overlaps(address, size)) return false;
    // Pages inside the range are this allocation's alone (another allocation there would
    // overlap it); only the edge pages may already be mapped, for a neighbour.
    uintptr_t first = page_of(address), last = page_of(address + size - 1);
    uintptr_t from = edge_pages_.count(first) ? first + page_size() : first;
    uintptr_t to = edge_pages_.count(last) ? last - page_size() : last;
    if (!map_pages(from, to)) return false;
    ++edge_pages_[first];
    if (last != first) ++edge_pages_[last];
    return true;
}

void SvmSpace::unreserve(uintptr_t address, size_t size) {
    std::lock_guard lock(mutex_);
    uintptr_t first = page_of(address), last = page_of(address + size - 1);
    auto let_go = [&](uintptr_t page) {
        auto it = edge_pages_.find(page);
        if (it != edge_pages_.end() && --it->second == 0) {
            edge_pages_.erase(it);
            return true;
        }
        return false;
    };
    bool first_free = let_go(first);
    bool last_free = last != first ? let_go(last) : first_free;
    uintptr_t from = first_free ? first : first + page_size();
    uintptr_t to = last_free ? last : last - page_size();
    if (first == last && !first_free) return;
    unmap_pages(from, to);
}

void SvmSpace::add(SvmAllocation allocation) {
    std::lock_guard lock(mutex_);
    allocations_.emplace(allocation.address, std::move(allocation));
}

bool SvmSpace::remove(uintptr_t address, SvmAllocation* removed) {
    std::lock_guard lock(mutex_);
    auto it = allocations_.find(address);
    if (it == allocations_.end()) return false;
    *removed = std::move(it->second);
    allocations_.erase(it);
    return true;
}

SvmAllocation* SvmSpace::holding(uintptr_t address, size_t size) {
    auto it = allocations_.upper_bound(address);
    if (it == allocations_.begin()) return nullptr;
    SvmAllocation& a = std::prev(it)->second;
    uintptr_t offset = address - a.address;
    return offset <= a.size && size <= a.size - offset ? &a : nullptr;
}

bool SvmSpace::find(const Context* context, uintptr_t address, size_t size, SvmAllocation* out) {
    std::lock_guard lock(mutex_);
    SvmAllocation* a = holding(address, size);
    if (!a || a->context != context) return false;
    if (out) *out = *a;
    return true;
}

bool SvmSpace::push_mapping(const Context* context, const SvmMapping& mapping) {
    std::lock_guard lock(mutex_);
    SvmAllocation* a = holding(mapping.address, mapping.size);
    if (!a || a->context != context) return false;
    a->mappings.push_back(mapping);
    return true;
}

bool SvmSpace::pop_mapping(const Context* context, uintptr_t address, SvmMapping* out) {
    std::lock_guard lock(mutex_);
    SvmAllocation* a = holding(address, 0);
    if (!a || a->context != context) return false;
    for (auto it = a->mappings.rbegin(); it != a->mappings.rend(); ++it)
        if (it->address == address) {
            *out = *it;
            a->mappings.erase(std::next(it).base());
            return true;
        }
    return false;
}

} // namespace rgpu::icd
