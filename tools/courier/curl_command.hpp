// --curl: the request as a curl command line (courier::to_curl), plus the command line's own
// options that are not part of the request (TLS files, --insecure, -o).
#pragma once

#include "http_args.hpp"
#include "request_plan.hpp"

#include <string>
#include <string_view>

namespace courier::cli {

/// A curl command that sends the same request (method, URL with query, headers, body,
/// redirects, timeouts, TLS options, output file), one option per line.
std::string curl_command(const request_plan& plan, const http_args& args,
                         std::string_view user_agent);

}  // namespace courier::cli
