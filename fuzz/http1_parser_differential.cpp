// libFuzzer target: courier's HTTP/1.1 response parser against the Beast-based parser it replaced
// (fuzz/reference/). Both get the same bytes in the same fuzzer-chosen pieces, one response
// after another, then EOF. When both accept, everything they report must be identical; when
// only one throws, the input must fall under one of the intended differences listed in
// intended_difference() below, or the target traps.
//
// Input layout (as in http1_response_parser, so the seeds fit both): byte 0 holds options
// (bit 0: expect_no_body, bit 1: a 256-byte header limit), byte 1 seeds the sizes of the pieces,
// the rest is what the "server" sends.
//
// Run: `make fuzz` (every target, each from a copy of its corpus), or by hand after
// `cmake --build build-fuzz`: build-fuzz/fuzz_http1_parser_differential <copy of the corpus dir>
#include "proto/http1/response_parser.hpp"
#include "reference/beast_response_parser.hpp"

#include <courier/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// fuzz/CMakeLists.txt builds each fuzz/<name>.cpp on its own, so the reference comes in here.
#include "reference/beast_response_parser.cpp"

namespace {

[[noreturn]] void difference_found() {
  __builtin_trap();
}

// What one parser reported for one response.
struct message {
  int status = 0;
  std::string reason;
  courier::headers headers;
  bool head_keep_alive = false;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  std::string body;
  bool ended = false;
  bool end_keep_alive = false;
  courier::headers trailers;
  std::size_t consumed = 0;
  int interim = 0;
  std::uint64_t body_bytes = 0;
  int heads = 0;
  friend bool operator==(const message&, const message&) = default;
};

enum class failure { none, protocol, too_large, read };

struct outcome {
  std::vector<message> messages;  // the last one may be unfinished
  std::vector<std::size_t> fed;   // bytes consumed by each feed()
  bool started_at_eof = false;
  bool done_at_eof = false;
  failure error = failure::none;
  std::string what;
};

template <class Parser, class Options, class Head, class Body, class End>
outcome run(const std::uint8_t* data, std::size_t size) {
  Options options;
  options.expect_no_body = (data[0] & 1) != 0;
  if (data[0] & 2) options.max_header_size = 256;
  std::uint32_t rng = 0x9e3779b9u * (data[1] + 1u);
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  outcome out;
  out.messages.emplace_back();
  Parser parser(options);
  const auto drain = [&] {
    message& m = out.messages.back();
    for (int guard = 0; guard < 1'000'000; ++guard) {
      auto ev = parser.next_event();
      if (!ev) return;
      if (auto* h = std::get_if<Head>(&*ev)) {
        ++m.heads;
        m.status = h->status;
        m.reason = h->reason;
        m.headers = h->headers;
        m.head_keep_alive = h->keep_alive;
        m.content_length = h->content_length;
        m.chunked = h->chunked;
      } else if (auto* b = std::get_if<Body>(&*ev)) {
        m.body.append(b->data);
      } else {
        auto& e = std::get<End>(*ev);
        m.ended = true;
        m.end_keep_alive = e.keep_alive;
        m.trailers = e.trailers;
      }
    }
    difference_found();  // an endless stream of events
  };
  const auto close_message = [&] {
    message& m = out.messages.back();
    m.interim = parser.interim_responses();
    m.body_bytes = parser.body_bytes();
  };

  std::string unconsumed;
  try {
    for (std::size_t round = 0; round <= 2 * input.size() + 2; ++round) {
      if (!input.empty()) {
        rng = rng * 1664525u + 1013904223u;
        const std::size_t piece = 1 + (rng >> 16) % 97;
        unconsumed.append(input.substr(0, piece));
        input.remove_prefix(std::min(piece, input.size()));
      }
      const std::size_t n = parser.feed(unconsumed);
      out.fed.push_back(n);
      out.messages.back().consumed += n;
      drain();
      unconsumed.erase(0, n);
      if (parser.done()) {
        close_message();
        parser.reset(options);
        out.messages.emplace_back();
      }
      if (input.empty() && unconsumed.empty()) break;
    }
    // The connection closes. Between two responses that is a clean end (feed_eof() would call
    // it an error: nothing of a response arrived).
    out.started_at_eof = parser.started();
    if (out.started_at_eof) {
      parser.feed_eof();
      drain();
      close_message();
      out.done_at_eof = parser.done();
    }
  } catch (const courier::protocol_error& e) {
    out.error = failure::protocol;
    out.what = e.what();
  } catch (const courier::body_too_large& e) {
    out.error = failure::too_large;
    out.what = e.what();
  } catch (const courier::read_error& e) {
    out.error = failure::read;
    out.what = e.what();
  }
  return out;
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// The intended differences: the new parser refuses what the Beast-based one let through.
// `ours` threw while parsing message k; `reference` accepted everything.
bool intended_difference(const outcome& ours, const outcome& reference) {
  if (reference.error != failure::none) return false;
  const std::size_t k = ours.messages.size() - 1;
  // 1. A chunk-size line, or the last chunk and its trailers, longer than max_header_size:
  //    the Beast-based parser limited them only when they were cut across reads.
  if (ours.error == failure::too_large && contains(ours.what, "chunk-size line or trailer"))
    return true;
  if (ours.error != failure::protocol) return false;
  // 2. A control character (bare LF included) in a quoted chunk-extension value: Beast let
  //    any byte but CR through inside the quotes; RFC 9112 7.1.1 allows none.
  if (contains(ours.what, "a control character in a quoted value")) return true;
  if (k >= reference.messages.size()) return false;
  const message& theirs = reference.messages[k];
  // 3. A transfer coding other than chunked in a Transfer-Encoding field before the last one:
  //    Beast's wrapper checked only the last field.
  if (contains(ours.what, "unsupported Transfer-Encoding")) {
    return theirs.headers.get_all("Transfer-Encoding").size() >= 2;
  }
  // 4. "chunked, chunked": Beast framed the body as if there were no Transfer-Encoding.
  if (contains(ours.what, "applies chunked more than once")) return !theirs.chunked;
  // 5. More than 4 transfer codings in all: refused for the length of the list, as content
  //    codings are, where Beast judged only the last field (see 3 and 4).
  if (contains(ours.what, "Transfer-Encoding lists")) {
    return theirs.headers.get_all("Transfer-Encoding").size() >= 2 || !theirs.chunked;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  namespace ours = courier::proto::http1;
  namespace ref = courier::fuzz_reference;
  const outcome a = run<ours::response_parser, ours::parser_options, ours::head_event,
                        ours::body_event, ours::end_event>(data, size);
  const outcome b = run<ref::response_parser, ref::parser_options, ref::head_event, ref::body_event,
                        ref::end_event>(data, size);

  // Responses both finished must agree whatever happened later.
  const std::size_t finished = std::min(a.messages.size(), b.messages.size()) - 1;
  for (std::size_t i = 0; i < finished; ++i) {
    if (!(a.messages[i] == b.messages[i])) difference_found();
  }
  const bool a_ok = a.error == failure::none;
  const bool b_ok = b.error == failure::none;
  if (a_ok && b_ok) {
    if (!(a.messages == b.messages) || a.fed != b.fed || a.started_at_eof != b.started_at_eof ||
        a.done_at_eof != b.done_at_eof)
      difference_found();
  } else if (a_ok != b_ok) {
    if (b_ok && intended_difference(a, b)) return 0;
    difference_found();
  }
  return 0;
}
