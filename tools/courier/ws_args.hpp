// The command line of `courier ws URL`, parsed with CLI11.
#pragma once

#include "binary_text.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace courier::cli {

struct ws_args {
  std::string url;  ///< normalised: ws:// is implied
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> subprotocols;
  binary_format binary = binary_format::hex;
  std::optional<double> ping_interval;  ///< seconds
  std::size_t max_message_size = std::size_t{16} << 20;
  bool compress = false;
  bool echo = false;
  bool jsonl = false;
  bool verbose = false;
  std::optional<double> connect_timeout;  ///< seconds
  double linger = 0.5;  ///< seconds of quiet awaited after the end of input, before closing
  std::optional<std::string> cacert;
  bool insecure = false;
  std::optional<std::string> proxy;  ///< --proxy URI (checked by courier::proxy)
  bool env_proxy = false;            ///< --env-proxy: http_proxy, https_proxy, all_proxy, no_proxy
};

/// Parses the arguments after "ws" (argv[0] is the program). nullopt after printing --help.
/// Throws usage_error.
std::optional<ws_args> parse_ws_args(int argc, char** argv);

}  // namespace courier::cli
