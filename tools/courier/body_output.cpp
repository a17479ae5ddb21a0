#include "body_output.hpp"

#include "binary_text.hpp"
#include "exit_codes.hpp"
#include "failure.hpp"
#include "json_format.hpp"

#include <courier/error.hpp>

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <span>
#include <sstream>
#include <vector>

namespace courier::cli {

namespace {

// Large enough that a fast transfer costs few system calls; it is the only body buffer we hold.
constexpr std::size_t chunk_size = std::size_t{256} << 10;
// How much of a body is looked at before deciding it is binary (on a terminal).
constexpr std::size_t sniff_size = 4096;

void write_all(int fd, std::string_view bytes, std::string_view target) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw command_failure({"cannot write " + std::string(target), "",
                             n < 0 ? std::strerror(errno) : "nothing was written", "",
                             exit_failure});
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A read of the body; past the deadline, a timeout_error (as the library's own timeouts).
std::size_t read_within(courier::body_stream& body, const body_limits& limits,
                        std::span<char> into) {
  const std::size_t n = body.read_some(into);
  if (n > 0 && limits.deadline && std::chrono::steady_clock::now() > *limits.deadline) {
    std::ostringstream seconds;
    seconds << limits.timeout_seconds;
    throw courier::timeout_error("the whole exchange took longer than " + seconds.str() +
                                 " s (--timeout); the body was still arriving");
  }
  return n;
}

failure too_large(const body_limits& limit, std::uint64_t bytes, std::string_view detail) {
  failure f;
  f.what = "response too large";
  f.why = "the body is larger than --max-body " + limit.text + " (" + std::to_string(bytes) +
          " bytes)" + std::string(detail);
  f.hint = "raise --max-body (without it, only JSON that --pretty formats has a size limit)";
  f.exit_code = exit_failure;
  return f;
}

failure too_large_to_format(const body_limits& limit, std::uint64_t bytes) {
  failure f;
  f.what = "response too large to format";
  f.why =
      "the JSON body is larger than " + std::to_string(bytes) + " bytes" +
      (limit.bytes ? " (--max-body " + limit.text + ")" : std::string(", the most --pretty holds"));
  f.hint = "print it as it is with --pretty none, or raise the limit with --max-body SIZE";
  f.exit_code = exit_failure;
  return f;
}

void print_formatted(courier::body_stream& body, std::string_view content_type,
                     const body_limits& limit, const output_style& style) {
  const std::uint64_t most = limit.bytes.value_or(default_format_limit);
  std::string text;
  std::vector<char> buffer(chunk_size);
  while (std::size_t n = read_within(body, limit, std::span<char>(buffer))) {
    if (text.size() + n > most) throw command_failure(too_large_to_format(limit, most));
    text.append(buffer.data(), n);
  }
  print_body(std::cout, text, content_type, style);
}

}  // namespace

body_limits limits_for(const http_args& args, std::chrono::steady_clock::time_point start) {
  body_limits limits{args.max_body, args.max_body_text, std::nullopt, 0};
  if (args.timeout) {
    limits.timeout_seconds = *args.timeout;
    limits.deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(*args.timeout));
  }
  return limits;
}

void print_streamed_body(courier::body_stream& body, std::string_view content_type,
                         std::optional<std::uint64_t> content_length, const body_limits& limit,
                         const output_style& style) {
  const bool format = style.pretty == pretty_mode::all || style.pretty == pretty_mode::format;
  const bool colour = style.pretty == pretty_mode::all || style.pretty == pretty_mode::colors;
  if ((format || colour) && is_json_content_type(content_type)) {
    print_formatted(body, content_type, limit, style);
    return;
  }
  check_announced_length(content_length, limit);
  std::cout.flush();  // the head, when it was printed, goes first

  std::vector<char> start(sniff_size);
  std::size_t filled = 0;
  if (style.terminal) {
    // Raw bytes would garble the terminal: look at the start before printing any of it.
    while (filled < start.size()) {
      const std::size_t n = read_within(body, limit, std::span<char>(start).subspan(filled));
      if (n == 0) break;
      filled += n;
    }
    if (looks_binary_start(std::string_view(start.data(), filled))) {
      std::cout << binary_note(content_length, style) << "\n" << std::flush;
      body.close();
      return;
    }
  }
  char last = '\n';
  const std::uint64_t written = copy_body(body, std::string_view(start.data(), filled),
                                          STDOUT_FILENO, "the output", limit, &last);
  // A terminal prompt should not land after the last line of a body without a final newline.
  if ((style.terminal || format) && written > 0 && last != '\n') {
    write_all(STDOUT_FILENO, "\n", "the output");
  }
}

std::optional<std::uint64_t> announced_length(const courier::response_head& head) {
  const auto text = head.headers.get("Content-Length");
  if (!text) return std::nullopt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return n;
}

void check_announced_length(std::optional<std::uint64_t> content_length, const body_limits& limit) {
  if (limit.bytes && content_length && *content_length > *limit.bytes) {
    throw command_failure(too_large(limit, *limit.bytes,
                                    ": the server announced " + std::to_string(*content_length)));
  }
}

std::uint64_t copy_body(courier::body_stream& body, std::string_view already_read, int fd,
                        std::string_view target, const body_limits& limit, char* last_byte) {
  std::vector<char> buffer(chunk_size);
  std::uint64_t written = 0;
  for (std::string_view chunk = already_read;;) {
    if (chunk.empty()) {
      chunk = std::string_view(buffer.data(), read_within(body, limit, std::span<char>(buffer)));
      if (chunk.empty()) break;
    }
    if (limit.bytes && written + chunk.size() > *limit.bytes) {
      write_all(fd, chunk.substr(0, static_cast<std::size_t>(*limit.bytes - written)), target);
      body.close();
      throw command_failure(
          too_large(limit, *limit.bytes, "; its first " + limit.text + " were written"));
    }
    write_all(fd, chunk, target);
    written += chunk.size();
    if (last_byte) *last_byte = chunk.back();
    chunk = {};
  }
  return written;
}

}  // namespace courier::cli
