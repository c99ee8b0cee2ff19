// SPDX-License-Identifier: Apache-2.0
// End-to-end harness: child processes, the rgpu daemon under test, the per-process OpenCL setup.
//
// Everything here is bounded in time: no wait blocks for longer than its stated limit, and every
// process spawned through ChildProcess is reaped (by its destructor at the latest, or by the
// watchdog before it ends a hung test process).
#ifndef RGPU_TESTS_E2E_HARNESS_H
#define RGPU_TESTS_E2E_HARNESS_H

#include <CL/cl.h>

#include <sys/types.h>

#include <csignal>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rgpu::e2e {

/// Whether this process runs under AddressSanitizer. Its allocator reserves the same fixed
/// address range in every process, so SVM memory a sanitized daemon allocates always lies where
/// a sanitized client cannot reserve it: SVM through rgpu cannot work between two of them (the
/// ICD's clSVMAlloc returns NULL, as designed), and the SVM tests skip in that build.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

using namespace std::chrono_literals;

inline constexpr std::string_view kNativePlatformName = "Portable Computing Language";
inline constexpr std::string_view kRgpuPlatformName = "rgpu";

// "CL_INVALID_VALUE" for -30; "CL_<unknown>" for codes that have no name.
const char* cl_error_name(cl_int code);
// "CL_INVALID_VALUE (-30)".
std::string describe(cl_int code);

// Paths of the programs under test, baked in by CMake; empty when the tree does not build them.
std::string daemon_path();
std::string icd_path();

// A process status the way a shell reports it: the exit code, or 128 + signal number.
std::string describe_status(int status);

// `environ` without the variables named in `drop`, followed by `add` ("NAME=value" entries).
std::vector<std::string> environment_without(const std::vector<std::string>& drop,
                                             const std::vector<std::string>& add = {});

struct SpawnOptions {
    // stdout and stderr are appended to this file; empty: both are inherited.
    std::string output_path;
    // stdout goes to a pipe read with ChildProcess::read_line (stderr as set above).
    bool capture_stdout = false;
    // Sent to the child when the spawning thread ends, so a killed test leaves no orphan.
    int death_signal = SIGKILL;
};

// One child process started with fork + execve. Only async-signal-safe calls run between the two,
// so it is safe to use after OpenCL has started threads in this process. Not thread-safe.
class ChildProcess {
  public:
    // Throws std::runtime_error when the program cannot be executed.
    ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 const SpawnOptions& options = {});
    ~ChildProcess(); // terminate() if still running
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    // False once the process has ended (and then it is reaped).
    bool alive();
    // The status once it has ended; waits at most `timeout`.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    // `signal`, then SIGKILL after `grace`; returns the status. No-op when already reaped.
    int terminate(int signal = SIGTERM, std::chrono::milliseconds grace = 5s);
    // One line (without '\n') from the captured stdout; nullopt on timeout or end of file.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    std::optional<int> status() const { return status_; }

  private:
    bool reap(int flags);

    pid_t pid_ = -1;
    int stdout_fd_ = -1;
    std::string pending_;
    std::optional<int> status_;
};

// rgpu-daemon listening on a free loopback port, in its own temporary directory (ready file, log).
class DaemonProcess {
  public:
    struct Options {
        std::string log_level = "warn";
        int session_timeout_s = 10;
        // Where to listen: a free loopback port unless a test needs a given endpoint again.
        std::string listen = "tcp://127.0.0.1:*";
        std::chrono::milliseconds ready_timeout = 20s;
        // "NAME=value" entries added to the daemon's environment; each replaces an inherited
        // variable of the same name.
        std::vector<std::string> extra_env;
        // Further command-line arguments (e.g. "--grace", "1").
        std::vector<std::string> extra_args;
    };
    // Throws std::runtime_error (with the daemon's log tail) when the daemon is not built, exits,
    // or has not written its ready file within ready_timeout.
    DaemonProcess();
    explicit DaemonProcess(const Options& options);
    ~DaemonProcess(); // stop()
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    pid_t pid() const { return child_->pid(); }
    const std::string& endpoint() const { return endpoint_; }
    bool alive() { return child_->alive(); }
    // Sends `signal`, then SIGKILL after 5 s; the exit status (0 is a clean exit).
    /// Signals the daemon and waits `patience` for it to exit (then SIGKILL); its status.
    int stop(int signal = SIGTERM, std::chrono::milliseconds patience = 5s);
    // The last lines the daemon wrote to its log.
    std::string log_tail(size_t max_bytes = 2000) const;

  private:
    std::string dir_;
    std::unique_ptr<ChildProcess> child_;
    std::string endpoint_;
};

// A fresh directory under $TMPDIR (or /tmp); removed by remove_temp_dir, and by the watchdog
// if the test hangs.
std::string make_temp_dir(const char* prefix);
void remove_temp_dir(const std::string& path);

// A temporary OCL_ICD_VENDORS directory: a copy of the system's pocl.icd and, when the ICD is
// built, rgpu.icd naming librgpu-icd.so. Removed by the destructor.
class VendorsDir {
  public:
    VendorsDir();
    ~VendorsDir();
    VendorsDir(const VendorsDir&) = delete;
    VendorsDir& operator=(const VendorsDir&) = delete;
    const std::string& path() const { return path_; }
    bool has_rgpu() const { return has_rgpu_; }

  private:
    std::string path_;
    bool has_rgpu_ = false;
};

// The per-process setup every e2e test shares: one daemon, a vendors directory, and the
// variables RGPU_SERVERS and OCL_ICD_VENDORS set in this process's environment.
// get() must run before the process's first OpenCL call (the ICD loader reads its platform list
// once). A failure to start the daemon is not fatal: native scenarios still run, and
// rgpu_unavailable() says why rgpu ones cannot.
class TestEnvironment {
  public:
    static TestEnvironment& get();
    // Stops the daemon (reaped; a warning on stderr unless it exits 0) and removes the temporary
    // files. The instance is a static created before any OpenCL call, so at process exit this
    // runs after the ICD's own teardown: the ICD leaves while its daemon is still there, as in
    // any normal client exit.
    ~TestEnvironment();

    const VendorsDir& vendors() const { return *vendors_; }
    DaemonProcess* daemon() { return daemon_.get(); }
    // Empty when the rgpu platform is expected to work; otherwise the reason it cannot.
    const std::string& rgpu_unavailable() const { return rgpu_unavailable_; }

  private:
    TestEnvironment();
    std::unique_ptr<VendorsDir> vendors_;
    std::unique_ptr<DaemonProcess> daemon_;
    std::string rgpu_unavailable_;
};

// Ends a hung test process cleanly: when a watched section runs past its limit, it prints what
// hung, kills and reaps every child process still running, removes the temporary directories
// of DaemonProcess and VendorsDir, and exits with kWatchdogExit. One section at a time: arming
// again replaces the previous one.
inline constexpr int kWatchdogExit = 86;
void watchdog_arm(const std::string& what, std::chrono::seconds limit);
void watchdog_disarm();

// Platforms by name (CL_PLATFORM_NAME); nullptr when not listed.
cl_platform_id find_platform(std::string_view name);
std::vector<std::string> platform_names(); // for failure messages
std::string platform_name(cl_platform_id platform);
// The platform's first device of any type; nullptr with *err set when there is none.
cl_device_id first_device(cl_platform_id platform, cl_int* err = nullptr);

// A loopback TCP port nobody listens on (bound to port 0, read back, closed).
int unused_loopback_port();

// Exit codes of rgpu-e2e-client, asserted exactly by the multi-process tests.
enum ClientExit : int {
    kClientOk = 0,
    kClientUsage = 2,
    kClientNoPlatform = 3,      // the rgpu platform is not listed
    kClientNoDevice = 4,        // the rgpu platform has no device
    kClientClError = 5,         // an OpenCL call failed
    kClientWrongData = 6,       // results differ from the host's
    kClientDeviceCode = 7,      // no-daemon: clGetDeviceIDs did not return CL_DEVICE_NOT_FOUND
    kClientDeviceCount = 8,     // no-daemon: clGetDeviceIDs reported devices
    kClientPlatformsFailed = 9, // clGetPlatformIDs failed
    kClientNoFailure = 10,      // a call that had to fail (its session was ended) succeeded
};
const char* client_exit_name(int status);

} // namespace rgpu::e2e

// doctest checks of an OpenCL status that name the call and the code (use in test files only).
#define E2E_REQUIRE_CL(call)                                                                       \
    do {                                                                                           \
        const cl_int e2e_status_ = (call);                                                         \
        REQUIRE_MESSAGE(e2e_status_ == CL_SUCCESS,                                                 \
                        #call " returned " << ::rgpu::e2e::describe(e2e_status_));                 \
    } while (0)
#define E2E_CHECK_CL(call)                                                                         \
    do {                                                                                           \
        const cl_int e2e_status_ = (call);                                                         \
        CHECK_MESSAGE(e2e_status_ == CL_SUCCESS,                                                   \
                      #call " returned " << ::rgpu::e2e::describe(e2e_status_));                   \
    } while (0)
// Exact expected code, both printed by name on failure.
#define E2E_CHECK_CODE(actual, expected)                                                           \
    do {                                                                                           \
        const cl_int e2e_actual_ = (actual);                                                       \
        const cl_int e2e_expected_ = (expected);                                                   \
        CHECK_MESSAGE(e2e_actual_ == e2e_expected_,                                                \
                      #actual ": got " << ::rgpu::e2e::describe(e2e_actual_) << ", want "          \
                                       << ::rgpu::e2e::describe(e2e_expected_));                   \
    } while (0)

#endif // RGPU_TESTS_E2E_HARNESS_H
