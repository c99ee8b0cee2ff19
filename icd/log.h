// SPDX-License-Identifier: Apache-2.0
// The ICD's logger: stderr only (never the application's stdout), level from RGPU_LOG_LEVEL.
#pragma once

#include <spdlog/logger.h>

#include <memory>

namespace rgpu::icd {

/// Created on first use, never registered globally (the application may use spdlog too).
spdlog::logger* log();

} // namespace rgpu::icd
