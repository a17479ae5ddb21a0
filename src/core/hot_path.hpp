// COURIER_HOT marks the functions of the common paths: a keep-alive request and a small
// WebSocket message. GCC and Clang put them together in .text.hot, so a request runs through
// a few contiguous KiB of code rather than lines scattered over the library, which costs far
// fewer instruction-cache misses per request (see bench/README.md).
//
// COURIER_COLD marks what a hot function splits out of itself: errors, redirects, proxies,
// streamed or decoded bodies. Such a function goes to .text.unlikely, and the branch that calls
// it leaves the hot function's lines, so the lines a request does run sit close together.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define COURIER_HOT __attribute__((hot))
#define COURIER_COLD __attribute__((cold, noinline))
#else
#define COURIER_HOT
#define COURIER_COLD
#endif
