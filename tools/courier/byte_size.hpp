// Sizes typed on the command line: --max-message-size, --max-body.
#pragma once

#include <cstddef>
#include <string_view>

namespace courier::cli {

/// "1048576", "64K", "16M", "1G" (powers of 1024) as a byte count; throws usage_error.
std::size_t parse_size(std::string_view text);

}  // namespace courier::cli
