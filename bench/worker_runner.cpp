// SPDX-License-Identifier: Apache-2.0
// The parent's side of the worker protocol: spawn, read with deadlines, kill, respawn.
#include "process.h"
#include "worker.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <unistd.h>

namespace rgpu::bench {

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
        const auto tab = line.find('\t', start);
        fields.push_back(line.substr(start, tab - start));
        if (tab == std::string::npos) return fields;
        start = tab + 1;
    }
}

std::string join(const std::vector<std::string>& items, const char* sep) {
    std::string s;
    for (const auto& i : items)
        s += (s.empty() ? "" : sep) + i;
    return s;
}

// One worker's run: what it reported and how it ended.
struct Attempt {
    bool platform_opened = false;
    std::string fatal;
    std::string current; // measurement begun but not ended
    std::vector<std::string> finished;
    bool timed_out = false;
    std::string exit; // describe_wait_status, or "" if it exited with status 0
};

Attempt run_one(const WorkerOptions& o, const std::vector<std::string>& todo, SideResults& side) {
    Attempt a;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        a.fatal = std::string("pipe2: ") + std::strerror(errno);
        return a;
    }
    SpawnOptions spawn;
    spawn.argv = {o.self_exe.string(), "--worker-platform", o.platform_name, "--only",
                  join(todo, ",")};
    if (o.quick) spawn.argv.push_back("--quick");
    spawn.env = o.env;
    spawn.stdout_fd = fds[1];
    spawn.parent_death_signal = SIGKILL;
    ChildProcess child;
    try {
        child = ChildProcess::spawn(spawn);
    } catch (const std::exception& e) {
        close(fds[0]);
        close(fds[1]);
        a.fatal = e.what();
        return a;
    }
    close(fds[1]);

    std::string buffer;
    auto last_event = std::chrono::steady_clock::now();
    auto handle = [&](const std::string& line) {
        const auto f = split_tabs(line);
        const auto& kind = f[0];
        if (kind == "platform" && f.size() >= 3) {
            a.platform_opened = true;
            side.info = f[1] + " / " + f[2];
        } else if (kind == "begin" && f.size() >= 2) {
            a.current = f[1];
            side.measurements[f[1]] = MeasurementResult{};
            last_event = std::chrono::steady_clock::now();
        } else if (kind == "value" && f.size() >= 4) {
            side.measurements[f[1]].values[f[2]] = std::strtod(f[3].c_str(), nullptr);
        } else if (kind == "error" && f.size() >= 3) {
            side.measurements[f[1]].error = f[2];
        } else if (kind == "end" && f.size() >= 2) {
            a.finished.push_back(f[1]);
            a.current.clear();
            last_event = std::chrono::steady_clock::now();
        } else if (kind == "fatal" && f.size() >= 2) {
            a.fatal = f[1];
        } else {
            std::cerr << "[" << side.label << " worker] " << line << "\n";
        }
    };

    for (;;) {
        const auto limit = a.current.empty() ? o.setup_timeout : o.measurement_timeout;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            last_event + limit - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            a.timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int r = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        char chunk[4096];
        const ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; // EOF: the worker exited (or closed its report pipe)
        buffer.append(chunk, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
            handle(buffer.substr(0, nl));
            buffer.erase(0, nl + 1);
        }
    }
    close(fds[0]);
    if (a.timed_out) {
        child.kill_now();
        return a;
    }
    if (!child.wait_for(std::chrono::seconds(10))) {
        child.kill_now();
        a.exit = "did not exit within 10 s of closing its pipe (killed)";
    } else if (child.status() && *child.status() != 0) {
        a.exit = describe_wait_status(*child.status());
    }
    return a;
}

} // namespace

WorkerOutcome run_in_workers(const WorkerOptions& o, SideResults& side) {
    WorkerOutcome outcome;
    std::vector<std::string> pending = o.measurements;
    auto health = [&]() -> std::string {
        const std::string problem = o.health ? o.health() : "";
        return problem.empty() ? "" : "; " + problem;
    };
    auto give_up_on_rest = [&](const std::string& why) {
        for (const auto& m : pending)
            side.measurements[m].error = "not run: " + why;
        pending.clear();
    };
    while (!pending.empty()) {
        Attempt a = run_one(o, pending, side);
        outcome.platform_opened = outcome.platform_opened || a.platform_opened;
        for (const auto& m : a.finished)
            std::erase(pending, m);
        const std::string seconds_setup = std::to_string(o.setup_timeout.count()) + " s";
        const std::string seconds_measure = std::to_string(o.measurement_timeout.count()) + " s";

        if (!a.platform_opened) {
            if (a.timed_out)
                side.error = "worker timed out after " + seconds_setup + " opening the platform";
            else if (!a.fatal.empty())
                side.error = a.fatal;
            else
                side.error = "worker " + (a.exit.empty() ? "exited" : a.exit) +
                             " before it opened the platform";
            side.error += health();
            return outcome;
        }
        if (a.timed_out) {
            const std::string h = health();
            if (!a.current.empty()) {
                side.measurements[a.current].error =
                    "timed out after " + seconds_measure + " (worker killed)" + h;
                std::erase(pending, a.current);
                give_up_on_rest("an earlier measurement timed out");
            } else if (!pending.empty()) {
                give_up_on_rest("worker stalled between measurements" + h);
            } else {
                side.note += "worker hung after its last measurement (killed). ";
            }
            return outcome;
        }
        if (!a.current.empty()) { // crashed inside a measurement: record it, go on with the rest
            const std::string h = health();
            side.measurements[a.current].error =
                "worker " + (a.exit.empty() ? "exited" : a.exit) + " during this measurement" + h;
            std::erase(pending, a.current);
            if (!h.empty()) give_up_on_rest(h.substr(2));
            continue;
        }
        if (!pending.empty()) {
            give_up_on_rest("worker " + (a.exit.empty() ? "exited" : a.exit) + " early" + health());
        } else if (!a.exit.empty()) {
            side.note += "worker " + a.exit + " after its last measurement. ";
        }
    }
    return outcome;
}

} // namespace rgpu::bench
