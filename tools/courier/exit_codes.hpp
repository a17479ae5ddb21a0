// The exit codes of the courier command (documented in docs/cli.md and in --help).
#pragma once

namespace courier::cli {

enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,        ///< anything not listed below (a file that cannot be written, ...)
  exit_usage = 2,          ///< a bad command line: option, URL, item, file to upload
  exit_status_3xx = 3,     ///< --check-status and a 3xx answer (only seen with --no-follow)
  exit_status_4xx = 4,     ///< --check-status (or -o) and a 4xx answer
  exit_status_5xx = 5,     ///< --check-status (or -o) and a 5xx answer
  exit_connect = 6,        ///< DNS failure, connection refused, host unreachable
  exit_tls = 7,            ///< TLS handshake or certificate verification failed
  exit_timeout = 8,        ///< a connect, read or whole-request timeout passed
  exit_protocol = 9,       ///< the connection broke, or the server broke HTTP or WebSocket rules
  exit_ws_closed = 10,     ///< the WebSocket closed abnormally (no close frame, or an error code)
  exit_ws_refused = 11,    ///< the server refused the WebSocket upgrade
  exit_redirects = 12,     ///< more redirects than --max-redirects
  exit_interrupted = 130,  ///< Ctrl-C (SIGINT) or SIGTERM
};

/// The --check-status exit code for an HTTP status, or exit_ok for 1xx and 2xx.
constexpr int exit_code_for_status(int status) noexcept {
  if (status >= 300 && status < 400) return exit_status_3xx;
  if (status >= 400 && status < 500) return exit_status_4xx;
  if (status >= 500 && status < 600) return exit_status_5xx;
  return exit_ok;
}

}  // namespace courier::cli
