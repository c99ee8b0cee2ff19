// SPDX-License-Identifier: Apache-2.0
// End-to-end harness: child processes, the daemon under test, vendors directory, watchdog.
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace rgpu::e2e {

namespace fs = std::filesystem;

const char* cl_error_name(cl_int code) {
    switch (code) {
#define RGPU_E2E_CASE(name)                                                                        \
    case name:                                                                                     \
        return #name
        RGPU_E2E_CASE(CL_SUCCESS);
        RGPU_E2E_CASE(CL_DEVICE_NOT_FOUND);
        RGPU_E2E_CASE(CL_DEVICE_NOT_AVAILABLE);
        RGPU_E2E_CASE(CL_COMPILER_NOT_AVAILABLE);
        RGPU_E2E_CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE);
        RGPU_E2E_CASE(CL_OUT_OF_RESOURCES);
        RGPU_E2E_CASE(CL_OUT_OF_HOST_MEMORY);
        RGPU_E2E_CASE(CL_PROFILING_INFO_NOT_AVAILABLE);
        RGPU_E2E_CASE(CL_MEM_COPY_OVERLAP);
        RGPU_E2E_CASE(CL_IMAGE_FORMAT_MISMATCH);
        RGPU_E2E_CASE(CL_IMAGE_FORMAT_NOT_SUPPORTED);
        RGPU_E2E_CASE(CL_BUILD_PROGRAM_FAILURE);
        RGPU_E2E_CASE(CL_MAP_FAILURE);
        RGPU_E2E_CASE(CL_MISALIGNED_SUB_BUFFER_OFFSET);
        RGPU_E2E_CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
        RGPU_E2E_CASE(CL_COMPILE_PROGRAM_FAILURE);
        RGPU_E2E_CASE(CL_LINKER_NOT_AVAILABLE);
        RGPU_E2E_CASE(CL_LINK_PROGRAM_FAILURE);
        RGPU_E2E_CASE(CL_DEVICE_PARTITION_FAILED);
        RGPU_E2E_CASE(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
        RGPU_E2E_CASE(CL_INVALID_VALUE);
        RGPU_E2E_CASE(CL_INVALID_DEVICE_TYPE);
        RGPU_E2E_CASE(CL_INVALID_PLATFORM);
        RGPU_E2E_CASE(CL_INVALID_DEVICE);
        RGPU_E2E_CASE(CL_INVALID_CONTEXT);
        RGPU_E2E_CASE(CL_INVALID_QUEUE_PROPERTIES);
        RGPU_E2E_CASE(CL_INVALID_COMMAND_QUEUE);
        RGPU_E2E_CASE(CL_INVALID_HOST_PTR);
        RGPU_E2E_CASE(CL_INVALID_MEM_OBJECT);
        RGPU_E2E_CASE(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR);
        RGPU_E2E_CASE(CL_INVALID_IMAGE_SIZE);
        RGPU_E2E_CASE(CL_INVALID_SAMPLER);
        RGPU_E2E_CASE(CL_INVALID_BINARY);
        RGPU_E2E_CASE(CL_INVALID_BUILD_OPTIONS);
        RGPU_E2E_CASE(CL_INVALID_PROGRAM);
        RGPU_E2E_CASE(CL_INVALID_PROGRAM_EXECUTABLE);
        RGPU_E2E_CASE(CL_INVALID_KERNEL_NAME);
        RGPU_E2E_CASE(CL_INVALID_KERNEL_DEFINITION);
        RGPU_E2E_CASE(CL_INVALID_KERNEL);
        RGPU_E2E_CASE(CL_INVALID_ARG_INDEX);
        RGPU_E2E_CASE(CL_INVALID_ARG_VALUE);
        RGPU_E2E_CASE(CL_INVALID_ARG_SIZE);
        RGPU_E2E_CASE(CL_INVALID_KERNEL_ARGS);
        RGPU_E2E_CASE(CL_INVALID_WORK_DIMENSION);
        RGPU_E2E_CASE(CL_INVALID_WORK_GROUP_SIZE);
        RGPU_E2E_CASE(CL_INVALID_WORK_ITEM_SIZE);
        RGPU_E2E_CASE(CL_INVALID_GLOBAL_OFFSET);
        RGPU_E2E_CASE(CL_INVALID_EVENT_WAIT_LIST);
        RGPU_E2E_CASE(CL_INVALID_EVENT);
        RGPU_E2E_CASE(CL_INVALID_OPERATION);
        RGPU_E2E_CASE(CL_INVALID_GL_OBJECT);
        RGPU_E2E_CASE(CL_INVALID_BUFFER_SIZE);
        RGPU_E2E_CASE(CL_INVALID_MIP_LEVEL);
        RGPU_E2E_CASE(CL_INVALID_GLOBAL_WORK_SIZE);
        RGPU_E2E_CASE(CL_INVALID_PROPERTY);
        RGPU_E2E_CASE(CL_INVALID_IMAGE_DESCRIPTOR);
        RGPU_E2E_CASE(CL_INVALID_COMPILER_OPTIONS);
        RGPU_E2E_CASE(CL_INVALID_LINKER_OPTIONS);
        RGPU_E2E_CASE(CL_INVALID_DEVICE_PARTITION_COUNT);
        RGPU_E2E_CASE(CL_INVALID_PIPE_SIZE);
        RGPU_E2E_CASE(CL_INVALID_DEVICE_QUEUE);
        RGPU_E2E_CASE(CL_INVALID_SPEC_ID);
        RGPU_E2E_CASE(CL_MAX_SIZE_RESTRICTION_EXCEEDED);
#undef RGPU_E2E_CASE
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "CL_<unknown>";
    }
}

std::string describe(cl_int code) {
    return std::string(cl_error_name(code)) + " (" + std::to_string(code) + ")";
}

std::string daemon_path() {
#ifdef RGPU_DAEMON_PATH
    return RGPU_DAEMON_PATH;
#else
    return {};
#endif
}

std::string icd_path() {
#ifdef RGPU_ICD_PATH
    return RGPU_ICD_PATH;
#else
    return {};
#endif
}

std::string describe_status(int status) {
    if (status > 128 && status < 128 + 65)
        return "killed by signal " + std::to_string(status - 128) + " (" + strsignal(status - 128) +
               ")";
    return "exit status " + std::to_string(status);
}

std::vector<std::string> environment_without(const std::vector<std::string>& drop,
                                             const std::vector<std::string>& add) {
    std::vector<std::string> out;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        const std::string_view name = entry.substr(0, entry.find('='));
        if (std::find(drop.begin(), drop.end(), name) == drop.end()) out.emplace_back(entry);
    }
    out.insert(out.end(), add.begin(), add.end());
    return out;
}

// ---------------------------------------------------------------------------------------------
// Children still running and temporary directories, so that the watchdog can kill and reap the
// former and remove the latter before it ends the process.
namespace {
std::mutex g_children_mutex;
std::vector<pid_t> g_children;        // guarded by g_children_mutex
std::vector<std::string> g_temp_dirs; // guarded by g_children_mutex; removed by the watchdog too

void register_child(pid_t pid) {
    std::lock_guard lock(g_children_mutex);
    g_children.push_back(pid);
}

void unregister_child(pid_t pid) {
    std::lock_guard lock(g_children_mutex);
    g_children.erase(std::remove(g_children.begin(), g_children.end(), pid), g_children.end());
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void close_from(int first_fd) { // async-signal-safe
#ifdef SYS_close_range
    if (syscall(SYS_close_range, first_fd, ~0U, 0) == 0) return;
#endif
    for (int fd = first_fd; fd < 4096; ++fd)
        close(fd);
}
} // namespace

std::string make_temp_dir(const char* prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!mkdtemp(buffer.data()))
        throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    std::lock_guard lock(g_children_mutex);
    g_temp_dirs.emplace_back(buffer.data());
    return buffer.data();
}

void remove_temp_dir(const std::string& path) {
    std::error_code ignored;
    fs::remove_all(path, ignored);
    std::lock_guard lock(g_children_mutex);
    g_temp_dirs.erase(std::remove(g_temp_dirs.begin(), g_temp_dirs.end(), path), g_temp_dirs.end());
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env, const SpawnOptions& options) {
    if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    std::vector<char*> c_argv, c_env;
    for (const auto& a : argv)
        c_argv.push_back(const_cast<char*>(a.c_str()));
    c_argv.push_back(nullptr);
    for (const auto& e : env)
        c_env.push_back(const_cast<char*>(e.c_str()));
    c_env.push_back(nullptr);

    int out_fd = -1;
    if (!options.output_path.empty()) {
        out_fd = open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out_fd < 0)
            throw std::runtime_error("open " + options.output_path + ": " + std::strerror(errno));
    }
    int capture[2] = {-1, -1};
    int exec_error[2] = {-1, -1};
    if ((options.capture_stdout && pipe2(capture, O_CLOEXEC) != 0) ||
        pipe2(exec_error, O_CLOEXEC) != 0) {
        const int saved = errno;
        for (int fd : {out_fd, capture[0], capture[1]})
            if (fd >= 0) close(fd);
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(saved));
    }

    const pid_t parent = getpid();
    const int death_signal = options.death_signal;
    pid_ = fork();
    if (pid_ == 0) {
        if (death_signal != 0) prctl(PR_SET_PDEATHSIG, death_signal);
        if (getppid() != parent) _exit(127);
        if (out_fd >= 0) {
            dup2(out_fd, STDOUT_FILENO);
            dup2(out_fd, STDERR_FILENO);
        }
        if (capture[1] >= 0) dup2(capture[1], STDOUT_FILENO);
        // fd 3 reports an exec failure; it closes by itself (FD_CLOEXEC) when exec succeeds.
        if (exec_error[1] != 3) dup2(exec_error[1], 3);
        fcntl(3, F_SETFD, FD_CLOEXEC);
        close_from(4);
        execve(c_argv[0], c_argv.data(), c_env.data());
        const int error = errno;
        [[maybe_unused]] ssize_t n = write(3, &error, sizeof error);
        _exit(127);
    }
    const int fork_errno = errno;
    for (int fd : {out_fd, capture[1], exec_error[1]})
        if (fd >= 0) close(fd);
    if (pid_ < 0) {
        for (int fd : {capture[0], exec_error[0]})
            if (fd >= 0) close(fd);
        throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
    }
    register_child(pid_);
    stdout_fd_ = capture[0];

    int exec_errno = 0;
    ssize_t n;
    do {
        n = read(exec_error[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    close(exec_error[0]);
    if (n == static_cast<ssize_t>(sizeof exec_errno)) {
        reap(0);
        if (stdout_fd_ >= 0) close(stdout_fd_);
        stdout_fd_ = -1;
        throw std::runtime_error("cannot execute " + argv[0] + ": " + std::strerror(exec_errno));
    }
}

ChildProcess::~ChildProcess() {
    terminate();
    if (stdout_fd_ >= 0) close(stdout_fd_);
}

bool ChildProcess::reap(int flags) {
    if (status_) return true;
    int raw = 0;
    pid_t r;
    do {
        r = waitpid(pid_, &raw, flags);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    if (r < 0) {
        status_ = -1; // not our child any more (cannot happen unless someone else reaped it)
    } else if (WIFEXITED(raw)) {
        status_ = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        status_ = 128 + WTERMSIG(raw);
    } else {
        return false;
    }
    unregister_child(pid_);
    return true;
}

bool ChildProcess::alive() {
    return !reap(WNOHANG);
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(2ms);
    }
    return status_;
}

int ChildProcess::terminate(int signal, std::chrono::milliseconds grace) {
    if (reap(WNOHANG)) return *status_;
    kill(pid_, signal);
    if (auto status = wait_for(grace)) return *status;
    kill(pid_, SIGKILL);
    reap(0);
    return *status_;
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
    if (stdout_fd_ < 0) return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto nl = pending_.find('\n'); nl != std::string::npos) {
            std::string line = pending_.substr(0, nl);
            pending_.erase(0, nl + 1);
            return line;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{stdout_fd_, POLLIN, 0};
        const int r = poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return std::nullopt;
        char buffer[4096];
        const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;
        pending_.append(buffer, static_cast<size_t>(n));
    }
}

// ---------------------------------------------------------------------------------------------
DaemonProcess::DaemonProcess() : DaemonProcess(Options{}) {}

DaemonProcess::DaemonProcess(const Options& options) {
    const std::string path = daemon_path();
    if (path.empty())
        throw std::runtime_error("rgpu-daemon is not built (no rgpu-daemon target in this tree)");
    dir_ = make_temp_dir("rgpu-e2e-daemon-");
    const std::string ready = dir_ + "/ready";
    try {
        // The daemon serves the system's platforms: no OCL_ICD_VENDORS (it would list rgpu).
        std::vector<std::string> argv{path,
                                      "--listen",
                                      options.listen,
                                      "--ready-file",
                                      ready,
                                      "--log-level",
                                      options.log_level,
                                      "--session-timeout",
                                      std::to_string(options.session_timeout_s)};
        argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
        // extra_env replaces inherited variables of the same name.
        std::vector<std::string> dropped{"OCL_ICD_VENDORS", "RGPU_SERVERS",
                                         "RGPU_CONNECT_TIMEOUT_MS"};
        for (const auto& entry : options.extra_env)
            dropped.push_back(entry.substr(0, entry.find('=')));
        child_ =
            std::make_unique<ChildProcess>(argv, environment_without(dropped, options.extra_env),
                                           SpawnOptions{dir_ + "/daemon.log", false, SIGTERM});
        const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
        std::string previous;
        for (;;) {
            // A line ending in '\n', or content that stayed the same over one poll interval.
            const std::string content = read_file(ready);
            const auto nl = content.find('\n');
            if (nl != std::string::npos || (!content.empty() && content == previous)) {
                endpoint_ = content.substr(0, nl);
                while (!endpoint_.empty() &&
                       std::isspace(static_cast<unsigned char>(endpoint_.back())))
                    endpoint_.pop_back();
                if (!endpoint_.empty()) break;
            }
            previous = content;
            if (!child_->alive())
                throw std::runtime_error("rgpu-daemon ended before it was ready (" +
                                         describe_status(*child_->status()) + ")");
            if (std::chrono::steady_clock::now() >= deadline)
                throw std::runtime_error("rgpu-daemon wrote no ready file within " +
                                         std::to_string(options.ready_timeout.count()) + " ms");
            std::this_thread::sleep_for(10ms);
        }
    } catch (const std::exception& e) {
        if (child_) child_->terminate(SIGKILL, 1s);
        const std::string tail = log_tail();
        child_.reset();
        remove_temp_dir(dir_);
        throw std::runtime_error(std::string(e.what()) +
                                 "; daemon log: " + (tail.empty() ? "(empty)" : tail));
    }
}

DaemonProcess::~DaemonProcess() {
    stop();
    remove_temp_dir(dir_);
}

int DaemonProcess::stop(int signal, std::chrono::milliseconds patience) {
    int status = child_->terminate(signal, patience);
    // RGPU_TEST_DAEMON_LOG=PATH keeps the daemon's log (its directory goes with the test).
    if (const char* keep = std::getenv("RGPU_TEST_DAEMON_LOG")) {
        std::error_code ec;
        fs::copy_file(dir_ + "/daemon.log", keep, fs::copy_options::overwrite_existing, ec);
    }
    return status;
}

std::string DaemonProcess::log_tail(size_t max_bytes) const {
    std::string log = read_file(dir_ + "/daemon.log");
    if (log.size() > max_bytes) log = "..." + log.substr(log.size() - max_bytes);
    return log;
}

// ---------------------------------------------------------------------------------------------
VendorsDir::VendorsDir() : path_(make_temp_dir("rgpu-e2e-vendors-")) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/etc/OpenCL/vendors", ec)) {
        const auto name = entry.path().filename().string();
        if (entry.path().extension() == ".icd" && name != "rgpu.icd")
            fs::copy_file(entry.path(), path_ + "/" + name, ec);
    }
    const std::string icd = icd_path();
    if (!icd.empty() && fs::exists(icd)) {
        std::ofstream(path_ + "/rgpu.icd") << fs::absolute(icd).string() << "\n";
        has_rgpu_ = true;
    }
}

VendorsDir::~VendorsDir() {
    remove_temp_dir(path_);
}

// ---------------------------------------------------------------------------------------------
namespace {
// Constant-initialised, so its destructor is registered before main: it runs after those of
// everything loaded later (the ICD).
std::unique_ptr<TestEnvironment> g_environment;
} // namespace

TestEnvironment& TestEnvironment::get() {
    if (!g_environment) g_environment.reset(new TestEnvironment());
    return *g_environment;
}

TestEnvironment::~TestEnvironment() {
    if (!daemon_) return;
    if (const int status = daemon_->stop(); status != 0)
        std::fprintf(stderr, "warning: rgpu-daemon did not exit cleanly on SIGTERM (%s); log: %s\n",
                     describe_status(status).c_str(), daemon_->log_tail().c_str());
}

TestEnvironment::TestEnvironment() : vendors_(std::make_unique<VendorsDir>()) {
    setenv("OCL_ICD_VENDORS", vendors_->path().c_str(), 1);
    if (!vendors_->has_rgpu())
        rgpu_unavailable_ = "librgpu-icd.so is not built (no rgpu-icd target in this tree)";
    try {
        // RGPU_TEST_DAEMON_ARGS: extra daemon flags (whitespace-separated), to run the same
        // scenarios under other limits.
        DaemonProcess::Options options;
        if (const char* args = std::getenv("RGPU_TEST_DAEMON_ARGS")) {
            std::istringstream words(args);
            for (std::string word; words >> word;)
                options.extra_args.push_back(word);
        }
        // RGPU_TEST_DAEMON_ENV: NAME=value entries (';'-separated) for the daemon only, e.g.
        // the POCL devices a pool is made of, while the native oracle keeps its own.
        if (const char* env = std::getenv("RGPU_TEST_DAEMON_ENV")) {
            std::istringstream entries(env);
            for (std::string entry; std::getline(entries, entry, ';');)
                if (!entry.empty()) options.extra_env.push_back(entry);
        }
        daemon_ = std::make_unique<DaemonProcess>(options);
        setenv("RGPU_SERVERS", daemon_->endpoint().c_str(), 1);
    } catch (const std::exception& e) {
        // Point a loaded ICD at a port nobody serves, so that it answers "no devices" quickly.
        const std::string nobody = "tcp://127.0.0.1:" + std::to_string(unused_loopback_port());
        setenv("RGPU_SERVERS", nobody.c_str(), 1);
        setenv("RGPU_CONNECT_TIMEOUT_MS", "300", 1);
        if (!rgpu_unavailable_.empty()) rgpu_unavailable_ += "; ";
        rgpu_unavailable_ += e.what();
    }
}

// ---------------------------------------------------------------------------------------------
namespace {
struct WatchdogState {
    std::mutex mutex;
    std::condition_variable wake;
    std::optional<std::chrono::steady_clock::time_point> deadline; // guarded by mutex
    std::string what;                                              // guarded by mutex
    bool started = false;                                          // guarded by mutex
};

// Leaked on purpose: the watchdog thread may still be watching while the process exits.
WatchdogState& watchdog() {
    static auto* state = new WatchdogState();
    return *state;
}

[[noreturn]] void watchdog_fire(const std::string& what) {
    std::fprintf(stderr,
                 "\n[rgpu e2e watchdog] %s ran out of time: an OpenCL call or a child process "
                 "did not return. Killing the children and ending the test process.\n",
                 what.c_str());
    std::vector<pid_t> children;
    std::vector<std::string> dirs;
    {
        std::lock_guard lock(g_children_mutex);
        children = g_children;
        dirs = g_temp_dirs;
    }
    for (pid_t pid : children) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    for (const auto& dir : dirs) {
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
    std::fflush(nullptr);
    _exit(kWatchdogExit);
}

void watchdog_loop() {
    auto& w = watchdog();
    std::unique_lock lock(w.mutex);
    for (;;) {
        if (!w.deadline) {
            w.wake.wait(lock);
            continue;
        }
        const auto deadline = *w.deadline;
        if (w.wake.wait_until(lock, deadline) == std::cv_status::timeout && w.deadline &&
            *w.deadline == deadline)
            watchdog_fire(w.what);
    }
}
} // namespace

void watchdog_arm(const std::string& what, std::chrono::seconds limit) {
    auto& w = watchdog();
    std::lock_guard lock(w.mutex);
    w.deadline = std::chrono::steady_clock::now() + limit;
    w.what = what + " (limit " + std::to_string(limit.count()) + " s)";
    if (!w.started) {
        std::thread(watchdog_loop).detach();
        w.started = true;
    }
    w.wake.notify_all();
}

void watchdog_disarm() {
    auto& w = watchdog();
    std::lock_guard lock(w.mutex);
    w.deadline.reset();
    w.wake.notify_all();
}

// ---------------------------------------------------------------------------------------------
std::string platform_name(cl_platform_id platform) {
    size_t size = 0;
    if (clGetPlatformInfo(platform, CL_PLATFORM_NAME, 0, nullptr, &size) != CL_SUCCESS) return {};
    std::string name(size, '\0');
    if (clGetPlatformInfo(platform, CL_PLATFORM_NAME, size, name.data(), nullptr) != CL_SUCCESS)
        return {};
    name.resize(std::strlen(name.c_str()));
    return name;
}

namespace {
std::vector<cl_platform_id> all_platforms() {
    cl_uint count = 0;
    if (clGetPlatformIDs(0, nullptr, &count) != CL_SUCCESS || count == 0) return {};
    std::vector<cl_platform_id> platforms(count);
    if (clGetPlatformIDs(count, platforms.data(), &count) != CL_SUCCESS) return {};
    platforms.resize(count);
    return platforms;
}
} // namespace

cl_platform_id find_platform(std::string_view name) {
    for (cl_platform_id p : all_platforms())
        if (platform_name(p) == name) return p;
    return nullptr;
}

std::vector<std::string> platform_names() {
    std::vector<std::string> names;
    for (cl_platform_id p : all_platforms())
        names.push_back(platform_name(p));
    return names;
}

cl_device_id first_device(cl_platform_id platform, cl_int* err) {
    cl_device_id device = nullptr;
    const cl_int status = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, nullptr);
    if (err) *err = status;
    return status == CL_SUCCESS ? device : nullptr;
}

int unused_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const int saved = errno;
        close(fd);
        throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(saved));
    }
    close(fd);
    return ntohs(addr.sin_port);
}

const char* client_exit_name(int status) {
    switch (status) {
    case kClientOk:
        return "ok";
    case kClientUsage:
        return "usage error";
    case kClientNoPlatform:
        return "rgpu platform not listed";
    case kClientNoDevice:
        return "rgpu platform has no device";
    case kClientClError:
        return "an OpenCL call failed";
    case kClientWrongData:
        return "results differ from the host's";
    case kClientDeviceCode:
        return "clGetDeviceIDs did not return CL_DEVICE_NOT_FOUND";
    case kClientDeviceCount:
        return "clGetDeviceIDs reported devices";
    case kClientPlatformsFailed:
        return "clGetPlatformIDs failed";
    case kClientNoFailure:
        return "a call that had to fail succeeded";
    case kWatchdogExit:
        return "watchdog: the client hung";
    case 127:
        return "exec failed";
    default:
        return status > 128 ? "killed by a signal (crash?)" : "unexpected exit status";
    }
}

} // namespace rgpu::e2e
