// `courier [METHOD] URL [ITEM ...]`: one HTTP exchange, shown the way the options say.
#pragma once

namespace courier::cli {

/// Runs the HTTP command with main's arguments; returns the exit code. Every failure has been
/// reported on stderr by then.
int run_http(int argc, char** argv);

}  // namespace courier::cli
