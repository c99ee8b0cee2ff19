// SPDX-License-Identifier: Apache-2.0
// rgpu-checkpoint-bench: how fast a daemon saves a session at SIGTERM and restores it at its next
// start. One session (this process, through the ICD) holds --mib MiB of buffers of known
// pseudo-random contents; each round stops the daemon with SIGTERM (it saves the session to
// --checkpoint-dir), starts it again on the same endpoint and directory (it restores the
// session), and reads every buffer back: a byte that differs fails the bench. The worker's own
// save and restore times come from its log lines; the daemon's exit and the first read after
// the restart are timed here. Nothing is fsync'ed and the page cache is left alone: the save
// lands in the page cache and the restore reads it from there (syncfs is timed apart). Each
// round also writes and reads the same bytes the worker's way without rgpu: the machine's
// ceiling, against which the save and restore are reported as ratios.
#include "icd_environment.h"
#include "process.h"

#include "rgpu_platform.h"

#include <CL/cl.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/magic.h>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace rgpu::bench;

namespace {

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void check_cl(cl_int err, const char* what) {
    if (err != CL_SUCCESS)
        throw std::runtime_error(std::string(what) + " failed: " + std::to_string(err));
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The contents of buffer `index`: 8-byte words of splitmix64, different in every buffer.
void fill(uint64_t index, std::vector<uint64_t>& words) {
    uint64_t state = index << 40;
    for (auto& w : words) {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        w = z ^ (z >> 31);
    }
}

/// One rgpu-daemon run: --checkpoint-dir, info log (the worker's save and restore lines),
/// listening on `listen` (tcp://127.0.0.1:* the first time, the port it picked afterwards).
/// bench/daemon_process.h starts its daemons at warn level on a fresh port each time, which
/// this bench cannot use.
class Daemon {
  public:
    Daemon(const fs::path& executable, const std::string& listen, const fs::path& checkpoints,
           const fs::path& log)
        : log_(log) {
        const fs::path ready = log.parent_path() / "ep";
        std::error_code ec;
        fs::remove(ready, ec);
        const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error("open " + log.string() + ": " + std::strerror(errno));
        SpawnOptions spawn;
        // A long grace: a slow save must not be cut short by the supervisor's SIGKILL.
        spawn.argv = {executable.string(),  "--listen",    listen, "--ready-file",
                      ready.string(),       "--log-level", "info", "--checkpoint-dir",
                      checkpoints.string(), "--grace",     "600"};
        spawn.env["OCL_ICD_VENDORS"] = std::nullopt; // the daemon sees only the system ICDs
        spawn.env["RGPU_SERVERS"] = std::nullopt;
        spawn.stdout_fd = fd;
        spawn.stderr_fd = fd;
        try {
            process_ = ChildProcess::spawn(spawn);
        } catch (...) {
            close(fd);
            throw;
        }
        close(fd);
        const auto deadline = Clock::now() + std::chrono::seconds(60);
        for (;;) {
            if (process_.poll_exit())
                throw std::runtime_error("rgpu-daemon exited before it was ready:\n" +
                                         read_text(log));
            const std::string content = fs::exists(ready, ec) ? read_text(ready) : "";
            if (content.find('\n') != std::string::npos) {
                endpoint_ = content.substr(0, content.find('\n'));
                break;
            }
            if (Clock::now() > deadline) throw std::runtime_error("rgpu-daemon not ready in 60 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    ~Daemon() { process_.terminate(std::chrono::seconds(120)); }
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    const std::string& endpoint() const { return endpoint_; }
    std::string log() const { return read_text(log_); }
    /// SIGTERM and the milliseconds until the daemon (supervisor and workers) exited.
    double stop() {
        const auto start = Clock::now();
        kill(process_.pid(), SIGTERM);
        if (!process_.wait_for(std::chrono::seconds(600))) {
            process_.kill_now();
            throw std::runtime_error("rgpu-daemon did not exit within 600 s of SIGTERM");
        }
        const double ms = ms_since(start);
        if (!process_.status() || !WIFEXITED(*process_.status()) || WEXITSTATUS(*process_.status()))
            throw std::runtime_error("rgpu-daemon " +
                                     describe_wait_status(process_.status().value_or(-1)) +
                                     " after SIGTERM:\n" + log());
        return ms;
    }

  private:
    fs::path log_;
    ChildProcess process_;
    std::string endpoint_;
};

/// The first match of `pattern` in `log`, its groups as numbers; throws when none.
std::vector<double> log_figures(const std::string& log, const std::string& pattern) {
    std::smatch match;
    if (!std::regex_search(log, match, std::regex(pattern)))
        throw std::runtime_error("no line matching '" + pattern + "' in the daemon's log:\n" + log);
    std::vector<double> out;
    for (size_t i = 1; i < match.size(); ++i)
        out.push_back(std::stod(match[i].str()));
    return out;
}

uint64_t bytes_under(const fs::path& dir) {
    uint64_t total = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir))
        if (entry.is_regular_file()) total += entry.file_size();
    return total;
}

struct Round {
    double exit_ms = 0;             ///< SIGTERM to the daemon's exit
    double save_contents_ms = 0;    ///< the worker's contents writes
    double save_state_ms = 0;       ///< ... and its state file
    double syncfs_ms = 0;           ///< then syncfs of the checkpoint directory's file system
    double restore_ms = 0;          ///< the worker's restore
    double first_read_ms = 0;       ///< new daemon spawned to the first blocking read's return
    double first_read_ready_ms = 0; ///< ... from its ready file
    double verify_ms = 0;           ///< reading every buffer back through the ICD
    double ceiling_write_ms = 0;    ///< the same bytes written as the save writes (no OpenCL)
    double ceiling_read_ms = 0;     ///< ... and read back as the restore reads
    uint64_t saved_bytes = 0, restored_bytes = 0, files_bytes = 0;
};

/// What this machine's file system and memory allow, measured the way the worker saves and
/// restores but without OpenCL or rgpu: `count` files of `bytes` each written with write(2)
/// from memory already touched, then read with read(2) into fresh memory faulted in by one
/// madvise (as a restore reads into a new buffer). Milliseconds for each; files removed.
std::pair<double, double> page_cache_ceiling(const fs::path& dir, int count, size_t bytes,
                                             const std::vector<uint64_t>& touched) {
    auto write_all = [](int fd, const char* p, size_t n) {
        while (n > 0) {
            ssize_t w = ::write(fd, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) throw std::runtime_error("ceiling: write failed");
            p += w;
            n -= static_cast<size_t>(w);
        }
    };
    auto start = Clock::now();
    for (int i = 0; i < count; ++i) {
        const fs::path file = dir / ("ceiling-" + std::to_string(i));
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) throw std::runtime_error("ceiling: cannot create " + file.string());
        write_all(fd, reinterpret_cast<const char*>(touched.data()), bytes);
        ::close(fd);
    }
    const double write_ms = ms_since(start);
    start = Clock::now();
    for (int i = 0; i < count; ++i) {
        const fs::path file = dir / ("ceiling-" + std::to_string(i));
        void* fresh =
            mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (fresh == MAP_FAILED) throw std::runtime_error("ceiling: mmap failed");
#ifdef MADV_POPULATE_WRITE
        (void)madvise(fresh, bytes, MADV_POPULATE_WRITE);
#endif
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
        auto* p = static_cast<char*>(fresh);
        for (size_t n = bytes; fd >= 0 && n > 0;) {
            ssize_t r = ::read(fd, p, n);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            p += r;
            n -= static_cast<size_t>(r);
        }
        if (fd >= 0) ::close(fd);
        munmap(fresh, bytes);
        fs::remove(file);
    }
    return {write_ms, ms_since(start)};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

double gbps(uint64_t bytes, double ms) {
    return ms > 0 ? bytes / ms / 1e6 : 0;
}

int run(int mib, int buffer_mib, int rounds, const std::string& daemon_path,
        const std::string& vendors_dir, const std::string& dir_option) {
    ScratchDir scratch;
    // The checkpoint directory: in the scratch directory, or a fresh one under --dir.
    std::optional<ScratchDir> elsewhere;
    fs::path parent = scratch.path();
    if (!dir_option.empty()) {
        setenv("TMPDIR", dir_option.c_str(), 1);
        elsewhere.emplace();
        parent = elsewhere->path();
    }
    const fs::path checkpoints = parent / "checkpoints";
    fs::create_directories(checkpoints);
    struct statfs sfs {};
    if (statfs(checkpoints.c_str(), &sfs) == 0 &&
        (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC)) {
        std::fprintf(stderr,
                     "rgpu-checkpoint-bench: %s is in memory (tmpfs); give --dir on a disk\n",
                     checkpoints.c_str());
        return 1;
    }
    VendorDirs vendors = prepare_vendor_dirs(scratch.path(), vendors_dir);
    if (!vendors.rgpu_icd_error.empty() || !vendors.pocl_icd_error.empty()) {
        std::fprintf(stderr, "rgpu-checkpoint-bench: %s %s\n", vendors.rgpu_icd_error.c_str(),
                     vendors.pocl_icd_error.c_str());
        return 1;
    }

    const fs::path logs = scratch.path() / "daemon";
    fs::create_directories(logs);
    auto daemon = std::make_unique<Daemon>(daemon_path, "tcp://127.0.0.1:*", checkpoints,
                                           logs / "daemon.log");
    const std::string endpoint = daemon->endpoint();
    // Before the first OpenCL call: the loader and the ICD read them once. The daemon is away
    // while it saves and restores; the client must not give up on it meanwhile.
    setenv("OCL_ICD_VENDORS", vendors.combined.c_str(), 1);
    setenv("RGPU_SERVERS", endpoint.c_str(), 1);
    setenv("RGPU_RECONNECT_TIMEOUT_MS", "600000", 1);

    cl_platform_id platform = rgpu_platform();
    if (!platform) throw std::runtime_error("no rgpu platform (is the ICD built?)");
    cl_device_id device = nullptr;
    check_cl(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr), "clGetDeviceIDs");
    cl_int err = CL_SUCCESS;
    cl_context context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &err);
    check_cl(err, "clCreateContext");
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    check_cl(err, "clCreateCommandQueue");

    const size_t buffer_bytes = size_t(buffer_mib) << 20;
    const int count = mib / buffer_mib;
    const uint64_t total = uint64_t(count) * buffer_bytes;
    std::vector<uint64_t> words(buffer_bytes / 8), back(buffer_bytes / 8);
    std::vector<cl_mem> buffers;
    const auto created = Clock::now();
    for (int i = 0; i < count; ++i) {
        fill(i, words);
        buffers.push_back(clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                         buffer_bytes, words.data(), &err));
        check_cl(err, "clCreateBuffer");
    }
    check_cl(clFinish(queue), "clFinish");
    std::printf("rgpu-checkpoint-bench: %d buffers of %d MiB (%.3f GB) created in %.0f ms; "
                "checkpoints in %s (not fsync'ed, page cache not dropped)\n",
                count, buffer_mib, total / 1e9, ms_since(created), checkpoints.c_str());
    std::printf("%5s %10s %10s %10s %10s %9s | %10s %10s %12s %12s %9s | %11s %11s\n", "round",
                "exit ms", "exit GB/s", "save ms", "save GB/s", "syncfs ms", "restore ms",
                "rest. GB/s", "1st read ms", "(from ready)", "verify ms", "write GB/s",
                "read GB/s");

    std::vector<Round> results;
    for (int r = 0; r < rounds; ++r) {
        Round round;
        check_cl(clFinish(queue), "clFinish");
        round.exit_ms = daemon->stop();
        const std::string saved_log = daemon->log();
        const auto save = log_figures(
            saved_log, R"(saved to \S+: (\d+) bytes of buffer and image contents in ([\d.]+) ms)"
                       R"( \([\d.]+ GB/s\), the state in ([\d.]+) ms)");
        round.saved_bytes = static_cast<uint64_t>(save[0]);
        round.save_contents_ms = save[1];
        round.save_state_ms = save[2];
        round.files_bytes = bytes_under(checkpoints);
        {
            const int fd = open(checkpoints.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            const auto start = Clock::now();
            if (fd >= 0) syncfs(fd);
            round.syncfs_ms = ms_since(start);
            if (fd >= 0) close(fd);
        }
        daemon.reset();

        const auto restart = Clock::now();
        daemon = std::make_unique<Daemon>(daemon_path, endpoint, checkpoints, logs / "daemon.log");
        const auto ready = Clock::now();
        uint64_t first = 0;
        check_cl(clEnqueueReadBuffer(queue, buffers[0], CL_TRUE, 0, sizeof first, &first, 0,
                                     nullptr, nullptr),
                 "the first read after the restart");
        round.first_read_ms = ms_since(restart);
        round.first_read_ready_ms = ms_since(ready);
        fill(0, words);
        if (first != words[0])
            throw std::runtime_error("the first read after the restart: wrong word");
        const auto restore = log_figures(
            daemon->log(), R"(restored in ([\d.]+) ms: \d+ objects, (\d+) bytes of buffer)");
        round.restore_ms = restore[0];
        round.restored_bytes = static_cast<uint64_t>(restore[1]);
        if (round.saved_bytes != total || round.restored_bytes != total)
            throw std::runtime_error("saved " + std::to_string(round.saved_bytes) +
                                     " and restored " + std::to_string(round.restored_bytes) +
                                     " bytes, want " + std::to_string(total));

        const auto verify = Clock::now();
        for (int i = 0; i < count; ++i) {
            check_cl(clEnqueueReadBuffer(queue, buffers[i], CL_TRUE, 0, buffer_bytes, back.data(),
                                         0, nullptr, nullptr),
                     "clEnqueueReadBuffer");
            fill(i, words);
            if (back != words) {
                size_t at =
                    std::mismatch(back.begin(), back.end(), words.begin()).first - back.begin();
                throw std::runtime_error("round " + std::to_string(r + 1) + ": buffer " +
                                         std::to_string(i) + " differs after the restore at byte " +
                                         std::to_string(at * 8));
            }
        }
        round.verify_ms = ms_since(verify);
        std::tie(round.ceiling_write_ms, round.ceiling_read_ms) =
            page_cache_ceiling(parent, count, buffer_bytes, words);
        const double save_ms = round.save_contents_ms + round.save_state_ms;
        std::printf("%5d %10.0f %10.2f %10.0f %10.2f %9.0f | %10.0f %10.2f %12.0f %12.0f %9.0f | "
                    "%11.2f %11.2f\n",
                    r + 1, round.exit_ms, gbps(total, round.exit_ms), save_ms, gbps(total, save_ms),
                    round.syncfs_ms, round.restore_ms, gbps(total, round.restore_ms),
                    round.first_read_ms, round.first_read_ready_ms, round.verify_ms,
                    gbps(total, round.ceiling_write_ms), gbps(total, round.ceiling_read_ms));
        std::fflush(stdout);
        results.push_back(round);
    }
    auto med = [&](double Round::*field) {
        std::vector<double> v;
        for (const auto& r : results)
            v.push_back(r.*field);
        return median(v);
    };
    std::vector<double> save_ms;
    for (const auto& r : results)
        save_ms.push_back(r.save_contents_ms + r.save_state_ms);
    std::printf("median over %d rounds, %.3f GB (%" PRIu64 " bytes in checkpoint files): "
                "save %.2f GB/s in the worker (%.0f ms), %.2f GB/s SIGTERM to exit; "
                "syncfs after it %.0f ms; restore %.2f GB/s in the worker (%.0f ms), first read "
                "%.0f ms after the restart; every byte verified\n",
                rounds, total / 1e9, results.empty() ? 0 : results.back().files_bytes,
                gbps(total, median(save_ms)), median(save_ms), gbps(total, med(&Round::exit_ms)),
                med(&Round::syncfs_ms), gbps(total, med(&Round::restore_ms)),
                med(&Round::restore_ms), med(&Round::first_read_ms));
    // The same bytes written and read the worker's way without rgpu, in the same rounds: the
    // file system's and memory's ceiling on this machine, to read the figures above against.
    std::vector<double> save_ratio, restore_ratio;
    for (const auto& r : results) {
        save_ratio.push_back(r.ceiling_write_ms / (r.save_contents_ms + r.save_state_ms));
        restore_ratio.push_back(r.ceiling_read_ms / r.restore_ms);
    }
    std::printf("the same bytes without rgpu (write(2) from touched memory, read(2) into fresh): "
                "write %.2f GB/s, read %.2f GB/s; rgpu's save %.2f x and restore %.2f x that "
                "(medians)\n",
                gbps(total, med(&Round::ceiling_write_ms)),
                gbps(total, med(&Round::ceiling_read_ms)), median(save_ratio),
                median(restore_ratio));

    for (cl_mem m : buffers)
        clReleaseMemObject(m);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
    daemon.reset();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rgpu-checkpoint-bench: save (SIGTERM) and restore (restart) of a session "
                 "holding --mib MiB of buffers, every byte verified"};
    int mib = 1024, buffer_mib = 64, rounds = 3;
    std::string daemon = RGPU_DAEMON_PATH;
    std::string vendors = RGPU_VENDORS_DIR;
    std::string dir;
    app.add_option("--mib", mib, "MiB of buffers the session holds")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    app.add_option("--buffer-mib", buffer_mib, "MiB of one buffer")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 14));
    app.add_option("--rounds", rounds, "saves and restores")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app.add_option("--dir", dir,
                   "directory on the disk to measure (a fresh directory is made in it and "
                   "removed); default: $TMPDIR or /tmp, which must not be tmpfs");
    app.add_option("--daemon", daemon, "rgpu-daemon to run")->capture_default_str();
    app.add_option("--vendors", vendors, "directory holding rgpu.icd")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (buffer_mib > mib) buffer_mib = mib;
    try {
        return run(mib, buffer_mib, rounds, daemon, vendors, dir);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rgpu-checkpoint-bench: FAILED: %s\n", e.what());
        return 1;
    }
}
