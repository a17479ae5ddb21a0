// A request as a curl command line: to reproduce a call by hand, or to put in a bug report.
#pragma once

#include <courier/request.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace courier {

/// How to_curl() writes the command.
struct curl_options {
  /// Replace the values of sensitive headers (Authorization, Proxy-Authorization, Cookie,
  /// Set-Cookie, and every name in redact_headers) with "[REDACTED]".
  bool redact = false;
  /// More header names whose values are always replaced (any case), redact or not.
  std::vector<std::string> redact_headers{};
  /// Split a long command over several lines (" \" and a newline between options).
  bool multiline = false;
};

/// `text` as one word of a POSIX shell: unchanged when it has only safe characters, otherwise
/// in single quotes, each ' written as '\''.
std::string shell_quote(std::string_view text);

/// A curl command that sends the same request: method, uri (with query), headers, body (text
/// with --data-raw, binary through printf on stdin, a form url-encoded, multipart parts with
/// -F/--form-string, a file body as `--data-binary @file`), --compressed when the request asks
/// for compressed answers, -L/--max-redirs when it follows redirects, --proxy (or --noproxy '*')
/// when the request chose its proxy (credentials hidden with redact), and its timeouts. Every
/// word is quoted for a POSIX shell. Throws invalid_request when the request has no uri.
std::string to_curl(const request_data& req, const curl_options& options = {});

}  // namespace courier
