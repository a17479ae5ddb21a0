// Printing requests and responses: status lines, headers, and bodies (JSON made readable).
#pragma once

#include "http_args.hpp"
#include "request_plan.hpp"
#include "terminal.hpp"

#include <courier/request.hpp>
#include <courier/response.hpp>
#include <courier/response_head.hpp>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace courier::cli {

/// How bodies and heads are drawn.
struct output_style {
  pretty_mode pretty = pretty_mode::none;
  bool terminal = false;  ///< stdout is a terminal: no raw binary, a final newline
  palette colours{false};
};

output_style make_output_style(const http_args& args);

/// The request as it goes on the wire (-v): request line, headers (with the ones the backend
/// adds), and the body when it is text. `version` is the protocol that carried it.
void print_request(std::ostream& out, const request_data& req, const request_plan& plan,
                   std::string_view user_agent, http_version version, const output_style& style);

/// The version a request goes out with, when it is known before sending: not when ALPN picks
/// it (no version asked for, over TLS), which -v then shows once the answer says.
std::optional<http_version> version_before_sending(const request_plan& plan);

/// The version that carried the first hop of `res` (the request -v shows).
template <class T>
http_version first_hop_version(const response<T>& res) {
  return res.history().empty() ? res.version() : res.history().front().head.version;
}

/// "HTTP/1.1 200 OK" and the header fields.
void print_head(std::ostream& out, const response_head& head, const output_style& style);

/// The body: raw bytes unless the style says to format it; JSON by Content-Type is indented
/// and/or coloured; binary data is not written to a terminal (a note says how to get it).
void print_body(std::ostream& out, const std::string& body, std::string_view content_type,
                const output_style& style);

/// What a terminal shows instead of a binary body (its size, when known).
std::string binary_note(std::optional<std::uint64_t> size, const output_style& style);

}  // namespace courier::cli
