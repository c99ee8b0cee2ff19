// SPDX-License-Identifier: Apache-2.0
// The bench's scratch directory and the ICD vendor directories its OpenCL workers load from.
#include "icd_environment.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace fs = std::filesystem;

namespace rgpu::bench {

ScratchDir::ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    // Keep the path short: an ipc:// socket path must fit in sockaddr_un (108 bytes).
    std::string pattern =
        std::string(tmp && *tmp && std::strlen(tmp) < 60 ? tmp : "/tmp") + "/rgpu-bench.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    path_ = pattern;
}

ScratchDir::~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

namespace {

// Copies `icd` into `dir` under `name`; returns an error message or "".
std::string copy_icd(const fs::path& icd, const fs::path& dir, const std::string& name) {
    std::error_code ec;
    if (!fs::is_regular_file(icd, ec)) return icd.string() + " not found";
    fs::copy_file(icd, dir / name, fs::copy_options::overwrite_existing, ec);
    if (ec) return "copy " + icd.string() + ": " + ec.message();
    return "";
}

} // namespace

VendorDirs prepare_vendor_dirs(const fs::path& scratch, const fs::path& rgpu_vendors,
                               const fs::path& pocl_icd) {
    VendorDirs dirs{scratch / "vendors", scratch / "vendors-pocl", "", ""};
    fs::create_directories(dirs.combined);
    fs::create_directories(dirs.pocl_only);
    dirs.pocl_icd_error = copy_icd(pocl_icd, dirs.combined, "pocl.icd");
    if (dirs.pocl_icd_error.empty()) copy_icd(pocl_icd, dirs.pocl_only, "pocl.icd");
    dirs.rgpu_icd_error = copy_icd(rgpu_vendors / "rgpu.icd", dirs.combined, "rgpu.icd");
    if (!dirs.rgpu_icd_error.empty()) dirs.rgpu_icd_error += " (is the rgpu ICD built?)";
    return dirs;
}

} // namespace rgpu::bench
