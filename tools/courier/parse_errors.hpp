// CLI11's parse errors as courier tells them. CLI11 checks required arguments before it looks
// at unknown options, so `courier --frob` alone would otherwise read "REQUEST is required".
#pragma once

#include "failure.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

namespace courier::cli {

/// The usage_error for a failed app.parse(): an unknown option is named as such, whatever else
/// CLI11 found wrong; other errors keep CLI11's words.
inline usage_error parse_failure(const CLI::App& app, const CLI::ParseError& e,
                                 std::string_view help_command) {
  std::string unknown;
  std::size_t count = 0;
  for (const std::string& word : app.remaining()) {
    if (word.size() < 2 || word[0] != '-') continue;
    unknown += (count++ > 0 ? ", " : "") + word.substr(0, word.find('='));
  }
  const std::string hint = "see " + std::string(help_command);
  if (count == 0) return usage_error(e.what(), hint);
  return usage_error((count == 1 ? "unknown option " : "unknown options ") + unknown, hint);
}

}  // namespace courier::cli
