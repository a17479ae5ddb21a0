// libFuzzer target: arbitrary server bytes into the client connection core, in random splits,
// with and without permessage-deflate. The first two input bytes pick the options and the
// split pattern. Checks the core's own promises, not just the absence of crashes.
#include "proto/ws/connection.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace ws = courier::proto::ws;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Everything the client writes must be well-formed masked client frames.
void check_output(ws::connection& c) {
  std::string all;
  c.output().for_each_piece([&](std::string_view piece) { all += piece; });
  check(all.size() == c.pending_output_size());
  std::string_view out = all;
  while (!out.empty()) {
    auto f = ws::decode_frame(out);
    check(f.has_value());
    check(f->header.masked);
    out.remove_prefix(f->wire_size);
  }
  c.consume_output(all.size());
}

// Echoes data frames back as the application would; never sends something send() rejects.
void drain(ws::connection& c, bool& failed, std::size_t max_message) {
  while (auto e = c.next_event()) {
    check(!failed);  // nothing follows a violation
    if (auto* d = std::get_if<ws::data_event>(&*e)) {
      check(d->payload.size() <= max_message);
      check(d->message_type == courier::ws::opcode::text ||
            d->message_type == courier::ws::opcode::binary);
      if (c.current_state() == ws::state::open) {
        courier::ws::frame f{d->message_type, d->fin, false, false, false, d->payload};
        c.send(f, d->is_continuation);
      }
    } else if (auto* v = std::get_if<ws::protocol_violation>(&*e)) {
      check(v->close_code == 1002 || v->close_code == 1007 || v->close_code == 1009);
      check(c.current_state() == ws::state::closed);
      failed = true;
    } else if (auto* cl = std::get_if<ws::close_received>(&*e)) {
      check(cl->close.code == 1005 || cl->close.code == 1006 ||
            courier::ws::is_valid_close_code(cl->close.code));
    }
  }
  check_output(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  std::uint32_t rng = data[1] * 2654435761u + 1;
  data += 2;
  size -= 2;

  ws::connection_options o;
  o.max_message_size = (flags & 1) ? 1024 : std::size_t{1} << 20;
  o.auto_pong = (flags & 0x80) == 0;
  if (flags & 2) {
    ws::deflate_params p;
    p.client_no_context_takeover = (flags & 4) != 0;
    p.server_no_context_takeover = (flags & 8) != 0;
    p.client_max_window_bits = 8 + ((flags >> 4) & 7);
    o.deflate = p;
  }
  ws::connection c(o);
  bool failed = false;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t at = 0;
  while (at < input.size()) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    const std::size_t piece = 1 + rng % 64;
    // Now and then the payload goes straight into payload_space(), as a direct read would.
    const auto space = (rng & 0x100) ? c.payload_space(1 + (rng >> 9) % 16) : std::span<char>();
    if (!space.empty()) {
      const std::size_t k = std::min({piece, space.size(), input.size() - at});
      std::memcpy(space.data(), input.data() + at, k);
      c.payload_written(k);
      at += k;
    } else {
      c.receive_data(input.substr(at, piece));
      at += piece;
    }
    drain(c, failed, o.max_message_size);
  }
  c.receive_eof();
  drain(c, failed, o.max_message_size);
  check(c.wants_tcp_close());
  return 0;
}
