// `courier ws URL`: an interactive WebSocket, an echo peer (--echo), or an event stream (--jsonl).
#pragma once

namespace courier::cli {

/// Runs the WebSocket command; argv[0] stands for the program, argv[1...] are the arguments
/// after "ws". Returns the exit code; every failure has been reported on stderr by then.
int run_ws(int argc, char** argv);

}  // namespace courier::cli
