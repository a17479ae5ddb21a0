// --curl: the request as a curl command line, quoted for a POSIX shell.
#pragma once

#include "http_args.hpp"
#include "request_plan.hpp"

#include <string>
#include <string_view>

namespace courier::cli {

/// `text` as one shell word: unchanged when it is plain, else in single quotes.
std::string shell_quote(std::string_view text);

/// A curl command that sends the same request (method, URL with query, headers, body,
/// redirects, timeouts, TLS options, output file). Long commands are split with " \\\n  ".
std::string curl_command(const request_plan& plan, const http_args& args,
                         std::string_view user_agent);

}  // namespace courier::cli
