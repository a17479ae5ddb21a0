// Failures as the user sees them: one line on stderr, a hint where one helps, an exit code.
#pragma once

#include <courier/error.hpp>
#include <courier/uri.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace courier::cli {

/// A mistake on the command line, found before anything is sent (exit code 2).
class usage_error : public std::runtime_error {
 public:
  explicit usage_error(const std::string& why, std::string hint = {})
      : std::runtime_error(why), hint_(std::move(hint)) {}
  const std::string& hint() const noexcept { return hint_; }

 private:
  std::string hint_;
};

/// What went wrong, ready to print: `courier: error: <what> (<where>): <why>` and a hint line.
struct failure {
  std::string what;   ///< "cannot connect", "TLS handshake failed", ...
  std::string where;  ///< host:port, or empty
  std::string why;    ///< the cause, usually the library's message
  std::string hint;   ///< empty: none
  int exit_code = 1;
};

/// A failure found while the command runs (after the request was sent), thrown to where it is
/// reported.
class command_failure : public std::runtime_error {
 public:
  explicit command_failure(failure f) : std::runtime_error(f.why), failure_(std::move(f)) {}
  const failure& details() const noexcept { return failure_; }

 private:
  failure failure_;
};

/// Maps a library error to a failure: its exit code, a short `what`, and a hint for the cases
/// where a newcomer needs one (a TLS failure names --cacert and --insecure, ...).
failure describe(const courier::error& e, std::string_view where);
failure describe(const usage_error& e);

/// Prints the failure on stderr (two lines at most) and returns its exit code.
int report(const failure& f);

/// host:port of a uri, with brackets for IPv6 literals.
std::string host_port(const courier::uri& u);

/// Prints a warning line `courier: warning: <text>` on stderr.
void warn(std::string_view text);

}  // namespace courier::cli
