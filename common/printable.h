// SPDX-License-Identifier: Apache-2.0
// Makes peer-supplied text safe for a log line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rgpu {

/// `text` with every byte outside printable ASCII (newlines, escapes, control characters,
/// non-ASCII) written as \xNN and a backslash as "\\", cut to at most `max_bytes` of input;
/// a cut text ends in "...(N bytes)". A peer can thus neither forge log lines nor flood them.
std::string printable(std::string_view text, size_t max_bytes = 128);

} // namespace rgpu
