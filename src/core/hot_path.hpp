// COURIER_HOT marks the functions of the common paths: a keep-alive request and a small
// WebSocket message. GCC and Clang put them together in .text.hot, so a request runs through
// a few contiguous KiB of code rather than lines scattered over the library, which costs far
// fewer instruction-cache misses per request (see bench/README.md).
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define COURIER_HOT __attribute__((hot))
#else
#define COURIER_HOT
#endif
