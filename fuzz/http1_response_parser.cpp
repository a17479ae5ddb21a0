// libFuzzer target for courier::proto::http1::response_parser: arbitrary bytes, fed in pieces
// of fuzzer-chosen sizes, one response after another. It must never crash, hang, or break its
// contract (consume everything until a response ends; events in order; body sizes as announced).
//
// Not built by CMake. From the repository root:
//   mkdir -p build-fuzz && clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
//     -DBOOST_ASIO_NO_DEPRECATED -Iinclude -Isrc fuzz/http1_response_parser.cpp \
//     src/proto/http1/response_parser.cpp src/core/headers.cpp src/core/error.cpp \
//     -o build-fuzz/http1_response_parser
//   build-fuzz/http1_response_parser -max_total_time=60 fuzz/corpus/http1_response_parser
//
// Input layout: byte 0 holds options (bit 0: expect_no_body, bit 1: a 256-byte header limit),
// byte 1 seeds the sizes of the pieces, the rest is what the "server" sends.
#include "proto/http1/response_parser.hpp"

#include <courier/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace http1 = courier::proto::http1;

[[noreturn]] void contract_broken() {
  __builtin_trap();
}

struct checker {
  bool head = false;
  bool end = false;
  std::optional<std::uint64_t> length;
  std::uint64_t body = 0;

  void drain(http1::response_parser& parser) {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      auto ev = parser.next_event();
      if (!ev) return;
      if (auto* h = std::get_if<http1::head_event>(&*ev)) {
        if (head || end || h->status < 100 || h->status > 999) contract_broken();
        head = true;
        length = h->content_length;
      } else if (auto* b = std::get_if<http1::body_event>(&*ev)) {
        if (!head || end || b->data.empty()) contract_broken();
        body += b->data.size();
        if (length && body > *length) contract_broken();
      } else {
        if (!head || end) contract_broken();
        if (length && body != *length) contract_broken();
        end = true;
      }
    }
    contract_broken();  // an endless stream of events
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  http1::parser_options options;
  options.expect_no_body = (data[0] & 1) != 0;
  if (data[0] & 2) options.max_header_size = 256;
  std::uint32_t rng = 0x9e3779b9u * (data[1] + 1u);
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  http1::response_parser parser(options);
  checker check;
  std::string unconsumed;
  try {
    // Every round either consumes input, or finishes a response; both are bounded by the input.
    for (std::size_t round = 0; round <= 2 * input.size() + 2; ++round) {
      if (!input.empty()) {
        rng = rng * 1664525u + 1013904223u;
        const std::size_t piece = 1 + (rng >> 16) % 97;
        unconsumed.append(input.substr(0, piece));
        input.remove_prefix(std::min(piece, input.size()));
      }
      const std::size_t n = parser.feed(unconsumed);
      if (n > unconsumed.size()) contract_broken();
      check.drain(parser);
      unconsumed.erase(0, n);
      if (parser.done()) {
        if (!check.end) contract_broken();
        parser.reset(options);  // the next response on the same connection
        check = {};
      } else if (!unconsumed.empty()) {
        contract_broken();  // not done, yet bytes left unconsumed
      }
      if (input.empty() && unconsumed.empty()) break;
    }
    parser.feed_eof();
    check.drain(parser);
    if (!parser.done() || !check.end) contract_broken();
  } catch (const courier::protocol_error&) {
  } catch (const courier::body_too_large&) {
  } catch (const courier::read_error&) {
  }
  return 0;
}
