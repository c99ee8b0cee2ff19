// SPDX-License-Identifier: Apache-2.0
// The file I/O of checkpoints: whole files written from and read into memory the caller owns
// (a buffer mapped by the device runtime), with as few copies and page faults as the kernel
// allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rgpu::daemon {

/// Writes `size` bytes at `data` to a new (or truncated) file; false with `error` set.
bool write_file(const std::string& path, const void* data, size_t size, std::string* error);
/// Reads a whole file into `bytes`; false with `error` set.
bool read_file(const std::string& path, std::vector<uint8_t>& bytes, std::string* error);
/// Reads exactly `size` bytes of `fd` into `data`; false at an error or an early end.
bool read_fully(int fd, void* data, size_t size);
/// Faults in, with one call, the pages of `data` that a read is about to fill. Only a hint.
void prefault_for_write(void* data, size_t size);

/// A file descriptor closed once.
struct FileRef {
    explicit FileRef(int f) : fd(f) {}
    ~FileRef();
    FileRef(const FileRef&) = delete;
    FileRef& operator=(const FileRef&) = delete;
    int fd;
};

} // namespace rgpu::daemon
