// What the command line asks for, as one value: the request to send, and what -v and --curl show.
#pragma once

#include "http_args.hpp"

#include <courier/body.hpp>
#include <courier/headers.hpp>
#include <courier/method.hpp>
#include <courier/options.hpp>
#include <courier/request.hpp>
#include <courier/uri.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace courier::cli {

enum class body_kind { none, json, raw, form, multipart };

struct request_plan {
  courier::method method{courier::method::get};
  courier::uri uri;          ///< query items already appended
  courier::headers headers;  ///< the user's headers and the defaults we add (Accept for JSON)
  body_kind kind = body_kind::none;
  courier::body body;                       ///< std::monostate when there is none
  std::string body_text;                    ///< the JSON or raw body as sent (for -v and --curl)
  std::optional<std::string> content_type;  ///< of a JSON or raw body
  std::optional<std::string> auth;          ///< USER:PASSWORD
  courier::request_options options;
  bool accept_compressed = true;  ///< ask for gzip/deflate (not for downloads: their size counts)
};

/// Builds the plan from the arguments: the method (GET, or POST with a body), the body from the
/// items (JSON by default, a form with --form, multipart when a file is uploaded), and the
/// options. Files named by items are read (or checked) now. Throws usage_error.
request_plan make_plan(const http_args& args);

/// The request the plan describes, reading the body as bytes.
courier::request<std::vector<std::byte>> to_request(const request_plan& plan);

/// application/x-www-form-urlencoded, as the library sends it (space as '+').
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace courier::cli
