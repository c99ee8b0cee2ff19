// SPDX-License-Identifier: Apache-2.0
// printable(): escaping and truncation of peer-supplied text.
#include "printable.h"

#include <cstdio>

namespace rgpu {

std::string printable(std::string_view text, size_t max_bytes) {
    std::string out;
    size_t n = text.size() < max_bytes ? text.size() : max_bytes;
    out.reserve(n + 16);
    for (size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    if (n < text.size()) out += "...(" + std::to_string(text.size()) + " bytes)";
    return out;
}

} // namespace rgpu
