// The asio backend's options from the command line's TLS flags.
#pragma once

#include <courier/asio_backend.hpp>

#include <optional>
#include <string>

namespace courier::cli {

inline courier::asio_backend_options backend_options(const std::optional<std::string>& cacert,
                                                     bool insecure) {
  courier::asio_backend_options options;
  if (cacert) options.tls.ca_file = *cacert;
  options.tls.insecure_skip_verify = insecure;
  options.max_connections_per_origin = 2;
  return options;
}

}  // namespace courier::cli
