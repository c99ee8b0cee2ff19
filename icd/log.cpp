// SPDX-License-Identifier: Apache-2.0
// ICD logger set-up.
#include "log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>

namespace rgpu::icd {

spdlog::logger* log() {
    // Never destroyed: connections are torn down by a static destructor at process exit, and
    // their threads may log after a logger constructed later than them would be gone.
    static spdlog::logger* logger = [] {
        auto* l = new spdlog::logger("rgpu-icd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        const char* level = std::getenv("RGPU_LOG_LEVEL");
        l->set_level(level ? spdlog::level::from_str(level) : spdlog::level::warn);
        l->set_pattern("rgpu-icd %l: %v");
        return l;
    }();
    return logger;
}

} // namespace rgpu::icd
