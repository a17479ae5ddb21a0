// CLI11 validators for our options, without their names glued to the type names in --help
// ("SECONDS" instead of "SECONDS:POSITIVE").
#pragma once

#include <CLI/CLI.hpp>

namespace courier::cli {

inline CLI::Validator quiet(CLI::Validator v) {
  v.description("");
  return v;
}

}  // namespace courier::cli
