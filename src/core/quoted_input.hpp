// How courier error messages show text that came from the caller or the peer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace courier::detail {

/// `text` between double quotes, with every byte outside printable ASCII written as \xNN
/// (a newline as \x0a), and '"' and '\' escaped, so a message stays on one line and shows
/// exactly what was given. Cut after `max` bytes, with "..." after the closing quote.
std::string quoted_input(std::string_view text, std::size_t max = 200);

/// The same escaping, without the quotes or the cut.
std::string escaped_input(std::string_view text);

}  // namespace courier::detail
