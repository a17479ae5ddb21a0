// JSON bodies for people: indented and coloured, with numbers kept exactly as the server wrote
// them (a streaming re-printer, so 2^64 + 1 stays 2^64 + 1 and key order is kept).
#pragma once

#include "terminal.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace courier::cli {

/// `text` re-printed: indented by 4 when `indent`, compact otherwise, coloured by `colours`.
/// nullopt when `text` is not JSON.
std::optional<std::string> format_json(std::string_view text, bool indent, const palette& colours);

/// True for Content-Types that carry JSON (application/json, application/problem+json, ...).
bool is_json_content_type(std::string_view content_type) noexcept;

}  // namespace courier::cli
