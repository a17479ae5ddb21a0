// The command line of `courier [METHOD] URL [ITEM ...]`, parsed with CLI11.
#pragma once

#include "items.hpp"

#include <courier/http_version.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace courier::cli {

/// How to show JSON and other bodies: "auto" is "all" on a terminal and "none" elsewhere.
enum class pretty_mode { all, colors, format, none };

struct http_args {
  std::optional<std::string> method;  ///< upper-cased; nullopt: GET, or POST with a body
  std::string url;                    ///< normalised: a scheme is always present
  std::vector<request_item> items;

  bool form = false;
  std::optional<std::string> raw_body;    ///< --raw, with @file and @- already read
  std::optional<std::string> raw_source;  ///< --raw as typed (for --curl)
  std::optional<std::string> auth;        ///< USER[:PASSWORD]

  bool verbose = false;
  bool print_headers = false;  ///< -h
  bool print_body = false;     ///< -b
  bool output_chosen = false;  ///< -h or -b was given (else the defaults above were filled in)
  pretty_mode pretty = pretty_mode::none;
  bool check_status = false;
  std::optional<std::string> output_file;
  std::optional<std::uint64_t> max_body;  ///< --max-body: the most body bytes taken
  std::string max_body_text;              ///< --max-body as typed ("1G")
  bool curl = false;

  std::optional<double> timeout;          ///< seconds, the whole exchange
  std::optional<double> connect_timeout;  ///< seconds
  int max_redirects = 20;
  bool follow = true;
  std::optional<std::string> cacert;
  bool insecure = false;
  /// --http1.1, --http2, --http2-prior-knowledge (nullopt: the backend's default).
  std::optional<courier::http_version> version;
  std::optional<std::string> proxy;  ///< --proxy URI (checked by courier::proxy)
  bool env_proxy = false;            ///< --env-proxy: http_proxy, https_proxy, all_proxy, no_proxy
};

/// Parses argv. Returns the arguments, or nullopt after printing --help or --version (exit 0).
/// Throws usage_error for anything wrong (an unknown option, a bad item, a malformed URL).
std::optional<http_args> parse_http_args(int argc, char** argv);

/// Turns what the user typed into an absolute URL: "example.org/x" gets http://, ":8080/x"
/// means http://localhost:8080/x. Throws usage_error when the result does not parse.
std::string normalise_url(const std::string& text, const std::string& default_scheme);

/// Checks shared by `courier` and `courier ws`: --cacert names a readable file, and --proxy a
/// uri courier::proxy accepts. Each returns its argument or throws usage_error with a hint.
std::string readable_ca_file(const std::string& path);
std::string valid_proxy(const std::string& uri);

}  // namespace courier::cli
