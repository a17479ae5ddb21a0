// Binary data as text: hex and base64 (RFC 4648), for printing binary WebSocket messages.
#pragma once

#include <string>
#include <string_view>

namespace courier::cli {

enum class binary_format { hex, base64 };

std::string to_hex(std::string_view bytes);
std::string to_base64(std::string_view bytes);
std::string encode_binary(std::string_view bytes, binary_format format);
std::string_view format_name(binary_format format) noexcept;

/// True when `text` is not valid UTF-8 or holds a NUL: not for a terminal.
bool looks_binary(std::string_view text) noexcept;

/// looks_binary for the first bytes of a longer text: a multi-byte character cut off at the end
/// of `start` is not held against it.
bool looks_binary_start(std::string_view start) noexcept;

}  // namespace courier::cli
