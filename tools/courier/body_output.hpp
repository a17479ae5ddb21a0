// A response body passed on as it arrives, to standard output or to a download's file: in
// bounded memory whatever its size, unless it is JSON to be formatted (--pretty), which needs it
// whole. --max-body and --timeout bound it.
#pragma once

#include "http_args.hpp"
#include "output.hpp"

#include <courier/body_stream.hpp>
#include <courier/response_head.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier::cli {

/// What bounds a body that courier passes on: --max-body and --timeout.
struct body_limits {
  std::optional<std::uint64_t> bytes;  ///< --max-body; nullopt: no limit
  std::string text;                    ///< --max-body as typed ("1G"), for messages
  /// --timeout, counted from the start of the exchange: checked after each read, so the body
  /// stops at most one wait for data (itself bounded by --timeout) after it.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  double timeout_seconds = 0;
};

/// The limits the arguments ask for, for an exchange that started at `start`.
body_limits limits_for(const http_args& args, std::chrono::steady_clock::time_point start);

/// The largest JSON body --pretty formats when --max-body does not say otherwise.
inline constexpr std::uint64_t default_format_limit = std::uint64_t{256} << 20;

/// Prints `body` as print_body would. Raw bodies are copied to stdout a chunk at a time; on a
/// terminal a body that starts like binary data is replaced by a note and not read further.
/// JSON to be formatted is read whole first, up to the limit (default_format_limit without
/// one). `content_length` is the announced size, when the body is not decoded. Throws
/// command_failure when the limit is passed (the bytes up to it have been written, and nothing
/// when Content-Length already said so) or stdout cannot be written; courier::error when
/// reading fails.
void print_streamed_body(courier::body_stream& body, std::string_view content_type,
                         std::optional<std::uint64_t> content_length, const body_limits& limit,
                         const output_style& style);

/// The Content-Length of a body passed on as it came (a decoded body has none).
std::optional<std::uint64_t> announced_length(const courier::response_head& head);

/// Throws command_failure when the announced Content-Length is past the limit.
void check_announced_length(std::optional<std::uint64_t> content_length, const body_limits& limit);

/// Writes `already_read`, then the rest of `body` as it arrives, to `fd` (`target` names it in
/// messages); returns the bytes written. Throws command_failure past the limit (after writing the
/// bytes up to it) or when fd cannot be written; courier::error when reading fails. `last_byte`,
/// when given, receives the last byte written.
std::uint64_t copy_body(courier::body_stream& body, std::string_view already_read, int fd,
                        std::string_view target, const body_limits& limit,
                        char* last_byte = nullptr);

}  // namespace courier::cli
