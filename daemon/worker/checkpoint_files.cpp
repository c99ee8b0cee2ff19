// SPDX-License-Identifier: Apache-2.0
// The file I/O of checkpoints (see checkpoint_files.h).
#include "checkpoint_files.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/mman.h>
#include <unistd.h>

namespace rgpu::daemon {

namespace {
/// write(2) and read(2) move at most this much per call (Linux: under 2 GiB).
constexpr size_t kPiece = size_t(1) << 30;
} // namespace

bool write_file(const std::string& path, const void* data, size_t size, std::string* error) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int failure = fd < 0 ? errno : 0;
    for (auto* p = static_cast<const char*>(data); failure == 0 && size > 0;) {
        const ssize_t n = ::write(fd, p, std::min(size, kPiece));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            failure = n < 0 ? errno : ENOSPC;
            break;
        }
        p += n;
        size -= static_cast<size_t>(n);
    }
    if (fd >= 0 && ::close(fd) != 0 && failure == 0) failure = errno;
    if (failure != 0) *error = "cannot write " + path + ": " + std::strerror(failure);
    return failure == 0;
}

FileRef::~FileRef() {
    if (fd >= 0) ::close(fd);
}

/// Faults in, with one call, the pages of `data` that a read(2) is about to fill: where a page
/// fault costs more than copying the page (virtual machines), taking them one by one would
/// halve the restore's speed. Only a hint: where the kernel cannot, the read faults them in.
void prefault_for_write(void* data, size_t size) {
#ifdef MADV_POPULATE_WRITE
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
    if (end > begin)
        (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
    (void)data;
    (void)size;
#endif
}

/// Reads exactly `size` bytes of `fd` into `data`; false at an error or an early end.
bool read_fully(int fd, void* data, size_t size) {
    for (auto* p = static_cast<char*>(data); size > 0;) {
        const ssize_t n = ::read(fd, p, std::min(size, kPiece));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

bool read_file(const std::string& path, std::vector<uint8_t>& bytes, std::string* error) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
        *error = "cannot open " + path;
        return false;
    }
    bytes.resize(static_cast<size_t>(in.tellg()));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!in) *error = "cannot read " + path;
    return static_cast<bool>(in);
}

} // namespace rgpu::daemon
