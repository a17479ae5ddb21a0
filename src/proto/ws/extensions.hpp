// The Sec-WebSocket-Extensions header value (RFC 6455 9.1): a list of extensions with
// parameters, e.g. `permessage-deflate; client_max_window_bits=10, x-other`.
#pragma once

#include <courier/expected.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace courier::proto::ws {

struct extension_param {
  std::string name;
  /// nullopt for a bare parameter; quoted-string values are unquoted.
  std::optional<std::string> value;
  friend bool operator==(const extension_param&, const extension_param&) = default;
};

struct extension {
  std::string name;
  std::vector<extension_param> params;
  friend bool operator==(const extension&, const extension&) = default;
};

/// Parses one header value. Empty list elements are skipped (RFC 9110 5.6.1). Names and
/// values must be tokens (values may be quoted); anything else is an error with a reason.
courier::expected<std::vector<extension>, std::string> parse_extension_list(std::string_view value);

}  // namespace courier::proto::ws
