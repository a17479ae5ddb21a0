// docs/streaming.md: the snippets come from examples/streaming.cpp and
// examples/streaming_coroutine.cpp, where these are main's arguments.
#pragma once
#include "common.hpp"

extern char** argv;
extern std::string file_url;
extern std::string echo_url;
