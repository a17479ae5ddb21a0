// The asio backend's options from the command line's TLS and proxy flags.
#pragma once

#include <courier/asio_backend.hpp>
#include <courier/proxy.hpp>

#include <optional>
#include <string>

namespace courier::cli {

/// `proxy` is a checked --proxy URI; `env_proxy` reads the environment (and may throw
/// invalid_request for a bad value there).
inline courier::asio_backend_options backend_options(const std::optional<std::string>& cacert,
                                                     bool insecure,
                                                     const std::optional<std::string>& proxy = {},
                                                     bool env_proxy = false) {
  courier::asio_backend_options options;
  if (proxy) {
    options.proxy = courier::proxy_settings::through(courier::proxy(*proxy));
  } else if (env_proxy) {
    options.proxy = courier::proxy_from_environment();
  }
  if (cacert) options.tls.ca_file = *cacert;
  options.tls.insecure_skip_verify = insecure;
  options.max_connections_per_origin = 2;
  return options;
}

}  // namespace courier::cli
