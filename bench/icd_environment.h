// SPDX-License-Identifier: Apache-2.0
// The bench's scratch directory and the ICD vendor directories its OpenCL workers load from.
#pragma once

#include <filesystem>
#include <string>

namespace rgpu::bench {

// A private directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class ScratchDir {
  public:
    ScratchDir(); // throws std::runtime_error
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

struct VendorDirs {
    std::filesystem::path combined;  // rgpu.icd + pocl.icd: what OCL_ICD_VENDORS points to
    std::filesystem::path pocl_only; // fallback for native if the rgpu ICD breaks the loader
    std::string rgpu_icd_error;      // non-empty: rgpu.icd could not be provided
    std::string pocl_icd_error;      // non-empty: pocl.icd could not be provided
};

inline constexpr const char* system_pocl_icd = "/etc/OpenCL/vendors/pocl.icd";

// Copies `<rgpu_vendors>/rgpu.icd` and `pocl_icd` into fresh directories under `scratch`.
// Missing files are reported in the result, not thrown.
VendorDirs prepare_vendor_dirs(const std::filesystem::path& scratch,
                               const std::filesystem::path& rgpu_vendors,
                               const std::filesystem::path& pocl_icd = system_pocl_icd);

} // namespace rgpu::bench
