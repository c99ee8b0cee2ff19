// SPDX-License-Identifier: Apache-2.0
// Presents a bench run: the native | rgpu | zmq-raw table, the targets, and the JSON dump.
#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace rgpu::bench {

namespace {

struct Row {
    const char* label;
    const char* measurement;
    const char* metric;
    const char* unit;            // "us", "/s", "GB/s", "ms"
    const char* zmq_measurement; // nullptr: no raw ZeroMQ counterpart
    const char* zmq_metric;
};

// Ratios are plain quotients of the printed values: for us and ms lower is better.
constexpr Row rows[] = {
    {"small_read_rtt median", "small_read_rtt", "median_us", "us", "zmq_small_rtt", "median_us"},
    {"small_read_rtt mean", "small_read_rtt", "mean_us", "us", "zmq_small_rtt", "mean_us"},
    {"empty_kernel_enqueue", "empty_kernel_enqueue", "per_s", "/s", "zmq_pipelined_small", "per_s"},
    {"write_64mib", "write_64mib", "gbps", "GB/s", "zmq_bulk_64mib", "gbps"},
    {"read_64mib", "read_64mib", "gbps", "GB/s", "zmq_bulk_64mib", "gbps"},
    {"vector_add_1m", "vector_add_1m", "ms", "ms", nullptr, nullptr},
};

std::string format(const char* fmt, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

std::string format_value(const double* v, const std::string& unit) {
    if (!v) return "n/a";
    if (unit == "/s") {
        if (*v >= 1e6) return format("%.2fM/s", *v / 1e6);
        if (*v >= 1e3) return format("%.1fk/s", *v / 1e3);
        return format("%.0f/s", *v);
    }
    if (unit == "GB/s") return format("%.2f GB/s", *v);
    return format(*v < 10 ? "%.2f " : "%.1f ", *v) + unit;
}

std::string format_ratio(const double* a, const double* b) {
    if (!a || !b || *b == 0) return "-";
    return format("%.2f", *a / *b);
}

std::string pad(const std::string& s, std::size_t width) {
    return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

bool selected(const RunInfo& run, const std::string& measurement) {
    return std::find(run.selected.begin(), run.selected.end(), measurement) != run.selected.end();
}

void print_errors(std::ostream& out, const SideResults& side) {
    if (!side.error.empty()) out << "  " << side.label << ": n/a: " << side.error << "\n";
    for (const auto& [name, m] : side.measurements)
        if (!m.error.empty())
            out << "  " << side.label << " " << name << ": n/a: " << m.error << "\n";
    if (!side.note.empty()) out << "  " << side.label << ": note: " << side.note << "\n";
}

std::string json_string(const std::string& s) {
    std::string r = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            r += '\\';
            r += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            r += buf;
        } else {
            r += static_cast<char>(c);
        }
    }
    return r + "\"";
}

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    return format("%.6g", v);
}

void json_side(std::ostream& out, const SideResults& side) {
    out << "{\"info\": " << json_string(side.info)
        << ", \"error\": " << (side.error.empty() ? "null" : json_string(side.error))
        << ", \"note\": " << (side.note.empty() ? "null" : json_string(side.note))
        << ", \"measurements\": {";
    bool first = true;
    for (const auto& [name, m] : side.measurements) {
        out << (first ? "" : ", ") << "\n    " << json_string(name) << ": {";
        first = false;
        bool first_value = true;
        for (const auto& [metric, v] : m.values) {
            out << (first_value ? "" : ", ") << json_string(metric) << ": " << json_number(v);
            first_value = false;
        }
        if (!m.error.empty())
            out << (first_value ? "" : ", ") << "\"error\": " << json_string(m.error);
        out << "}";
    }
    out << "}}";
}

} // namespace

std::vector<TargetCheck> evaluate_targets(const RunInfo& run, const SideResults& native,
                                          const SideResults& rgpu, const SideResults& zmq) {
    struct Spec {
        const char* name;
        const SideResults* base;
        const char* measurement;
        const char* metric;
        const char* base_measurement;
        const char* base_metric;
        const char* relation;
        double threshold;
    };
    const Spec specs[] = {
        {"empty_kernel_enqueue rgpu/native", &native, "empty_kernel_enqueue", "per_s",
         "empty_kernel_enqueue", "per_s", ">=", 0.5},
        {"small_read_rtt (median) rgpu/zmq-raw", &zmq, "small_read_rtt", "median_us",
         "zmq_small_rtt", "median_us", "<=", 2.0},
        {"write_64mib rgpu/zmq-raw bulk", &zmq, "write_64mib", "gbps", "zmq_bulk_64mib", "gbps",
         ">=", 0.5},
        {"read_64mib rgpu/zmq-raw bulk", &zmq, "read_64mib", "gbps", "zmq_bulk_64mib", "gbps",
         ">=", 0.5},
    };
    std::vector<TargetCheck> checks;
    for (const auto& s : specs) {
        if (!selected(run, s.measurement)) continue; // left out with --only
        TargetCheck c{s.name, s.relation, s.threshold, false, 0, false};
        const double* v = rgpu.value(s.measurement, s.metric);
        const double* b = s.base->value(s.base_measurement, s.base_metric);
        if (v && b && *b != 0) {
            c.available = true;
            c.ratio = *v / *b;
            c.pass = c.relation == ">=" ? c.ratio >= c.threshold : c.ratio <= c.threshold;
        }
        checks.push_back(c);
    }
    return checks;
}

void print_report(std::ostream& out, const RunInfo& run, const SideResults& native,
                  const SideResults& rgpu, const SideResults& zmq,
                  const std::vector<TargetCheck>& targets) {
    out << "\nrgpu-bench (" << run.transport << (run.quick ? ", quick" : "") << ", "
        << format("%.1f", run.seconds) << " s)\n";
    out << "  native:  " << (native.info.empty() ? "n/a" : native.info) << "\n";
    out << "  rgpu:    " << (rgpu.info.empty() ? "n/a" : rgpu.info)
        << (run.endpoint.empty() ? "" : " via " + run.endpoint) << "\n";
    out << "  zmq-raw: " << (zmq.info.empty() ? "n/a" : zmq.info) << "\n\n";

    constexpr std::size_t w0 = 24, w = 14, wr = 13;
    out << pad("measurement", w0) << pad("native", w) << pad("rgpu", w) << pad("rgpu/native", wr)
        << pad("zmq-raw", w) << "rgpu/zmq\n";
    for (const auto& row : rows) {
        if (!selected(run, row.measurement)) continue;
        const double* n = native.value(row.measurement, row.metric);
        const double* r = rgpu.value(row.measurement, row.metric);
        const double* z =
            row.zmq_measurement ? zmq.value(row.zmq_measurement, row.zmq_metric) : nullptr;
        out << pad(row.label, w0) << pad(format_value(n, row.unit), w)
            << pad(format_value(r, row.unit), w) << pad(format_ratio(r, n), wr)
            << pad(row.zmq_measurement ? format_value(z, row.unit) : "-", w) << format_ratio(r, z)
            << "\n";
    }
    out << "(us and ms: lower is better; /s and GB/s: higher is better; ratios are quotients of "
           "the values shown; GB = 1e9 bytes)\n";

    if (zmq.error.empty() && !zmq.measurements.empty()) {
        const double* zc = zmq.value("zmq_bulk_64mib", "gbps_zero_copy");
        out << "zmq-raw: empty_kernel_enqueue column = one 4-byte message per command, "
               "pipelined; bulk = 16 x 4 MiB messages copied from a 64 MiB buffer, one ack"
            << (zc ? " (zero-copy: " + format_value(zc, "GB/s") + ")" : "") << "\n";
    }

    if (!native.error.empty() || !rgpu.error.empty() || !zmq.error.empty() ||
        !native.note.empty() || !rgpu.note.empty() || !zmq.note.empty() || [&] {
            for (const auto* s : {&native, &rgpu, &zmq})
                for (const auto& [name, m] : s->measurements)
                    if (!m.error.empty()) return true;
            return false;
        }()) {
        out << "\nproblems\n";
        for (const auto* s : {&native, &rgpu, &zmq})
            print_errors(out, *s);
    }

    if (!targets.empty()) {
        out << "\ntargets\n";
        for (const auto& t : targets) {
            const std::string goal =
                "(target " + t.relation + " " + format("%g", t.threshold) + ")";
            if (t.available)
                out << "  " << (t.pass ? "PASS" : "FAIL") << "  " << pad(t.name, 38) << " = "
                    << format("%.2f", t.ratio) << "  " << goal << "\n";
            else
                out << "  n/a   " << pad(t.name, 38) << "   -   " << goal << "\n";
        }
    }
}

void write_json(const std::filesystem::path& file, const RunInfo& run, const SideResults& native,
                const SideResults& rgpu, const SideResults& zmq,
                const std::vector<TargetCheck>& targets) {
    std::ofstream out(file);
    if (!out) throw std::runtime_error("cannot write " + file.string());
    out << "{\n  \"transport\": " << json_string(run.transport)
        << ",\n  \"quick\": " << (run.quick ? "true" : "false")
        << ",\n  \"daemon\": " << json_string(run.daemon_path)
        << ",\n  \"endpoint\": " << json_string(run.endpoint)
        << ",\n  \"seconds\": " << json_number(run.seconds) << ",\n  \"native\": ";
    json_side(out, native);
    out << ",\n  \"rgpu\": ";
    json_side(out, rgpu);
    out << ",\n  \"zmq_raw\": ";
    json_side(out, zmq);
    out << ",\n  \"targets\": [";
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const auto& t = targets[i];
        out << (i ? "," : "") << "\n    {\"name\": " << json_string(t.name)
            << ", \"relation\": " << json_string(t.relation)
            << ", \"threshold\": " << json_number(t.threshold)
            << ", \"ratio\": " << (t.available ? json_number(t.ratio) : "null")
            << ", \"status\": " << (t.available ? (t.pass ? "\"PASS\"" : "\"FAIL\"") : "\"n/a\"")
            << "}";
    }
    out << "\n  ]\n}\n";
    out.flush();
    if (!out) throw std::runtime_error("error writing " + file.string());
}

} // namespace rgpu::bench
