// Small pieces of the HTTP field grammar (RFC 9110 5.6) that several parsers share.
#pragma once

#include <string_view>
#include <vector>

namespace courier::detail {

/// A tchar: a character allowed in a token (methods, field names, coding and parameter names).
bool is_tchar(unsigned char c) noexcept;
/// A non-empty run of tchars.
bool is_token(std::string_view s) noexcept;
/// `s` without leading and trailing spaces and tabs (optional whitespace).
std::string_view trim_ows(std::string_view s) noexcept;
/// The trimmed, non-empty elements of a comma-separated field value ("a, b,,c" -> a, b, c).
std::vector<std::string_view> split_list(std::string_view value);

}  // namespace courier::detail
