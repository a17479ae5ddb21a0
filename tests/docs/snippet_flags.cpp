// Never built: its compile command (compile_commands.json) gives the flags, include
// directories and definitions with which tests/docs/compile_snippets.py compiles the
// documentation's snippets, those of a program linking courier, courier::json and
// courier::testing.
#include "context/common.hpp"
