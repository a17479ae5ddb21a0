// libFuzzer target: arbitrary bytes as the compressed payload of messages, inflated in random
// pieces under an output cap; and the same bytes compressed and inflated back. The first byte
// picks the cap, the window and the context mode.
#include "proto/ws/deflate.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace ws = courier::proto::ws;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t cap = std::size_t{1} << (8 + (flags & 15));  // 256 B .. 8 MiB
  const bool no_context = (flags & 16) != 0;

  // Arbitrary data: split into "messages" at 0xff bytes, each fed in two pieces.
  ws::message_inflater inflater(no_context);
  std::string_view rest = input;
  while (!rest.empty()) {
    const std::size_t end = rest.find('\xff');
    const std::string_view message = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    std::string out;
    const std::size_t half = message.size() / 2;
    auto st = inflater.inflate(message.substr(0, half), out, cap);
    if (out.size() > cap) std::abort();
    if (st == ws::message_inflater::status::ok) {
      st = inflater.inflate(message.substr(half), out, cap - out.size());
      if (out.size() > cap) std::abort();
    }
    if (st == ws::message_inflater::status::ok) st = inflater.end_message(out, cap - out.size());
    if (out.size() > cap) std::abort();
    if (st != ws::message_inflater::status::ok) {
      inflater = ws::message_inflater(no_context);  // a real connection would be closed
    }
  }

  // Round trip: what we compress, we (and any peer) must inflate back exactly.
  const int window = 8 + ((flags >> 5) & 7);
  ws::message_deflater deflater(window, no_context);
  ws::message_inflater back(no_context);
  for (int round = 0; round < 2; ++round) {
    std::string wire;
    const std::size_t cut = input.size() / 3;
    deflater.compress(input.substr(0, cut), false, wire);
    deflater.compress(input.substr(cut), true, wire);
    std::string out;
    if (back.inflate(wire, out, input.size()) != ws::message_inflater::status::ok) std::abort();
    if (back.end_message(out, input.size() - out.size()) != ws::message_inflater::status::ok) {
      std::abort();
    }
    if (out != input) std::abort();
  }
  return 0;
}
