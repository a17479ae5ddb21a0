// Microbenchmarks of the sans-I/O hot paths, each beside Boost.Beast's equivalent where Beast
// has one: masking, UTF-8 validation, WebSocket frame parsing, HTTP/1.1 response parsing,
// permessage-deflate. Build: cmake --build build --target courier_microbench; run the binary.
#include "proto/http1/response_parser.hpp"
#include "proto/ws/connection.hpp"
#include "proto/ws/deflate.hpp"
#include "proto/ws/frame_codec.hpp"
#include "proto/ws/mask.hpp"
#include "proto/ws/utf8.hpp"

#include "../payloads.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/flat_static_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/detail/frame.hpp>
#include <boost/beast/websocket/detail/mask.hpp>
#include <boost/beast/websocket/detail/utf8_checker.hpp>
#include <boost/beast/zlib/deflate_stream.hpp>
#include <boost/beast/zlib/inflate_stream.hpp>

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <string_view>

namespace pws = courier::proto::ws;
namespace http1 = courier::proto::http1;

namespace {

std::string ascii_text(std::size_t n) {
  std::string s(n, ' ');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + i % 26);
  return s;
}

std::string mixed_text(std::size_t n) {
  const std::string piece = "ascii and \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ";
  std::string s;
  while (s.size() < n)
    s += piece;
  s.resize(n - (n % piece.size()));
  return s;
}

// The e2e benchmark's text message: English words with an "é" every 64 bytes.
std::string accented_text(std::size_t n) {
  return bench::text_payload(n);
}

void set_bytes(benchmark::State& state, std::size_t per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(per_iteration));
}

// --- masking ------------------------------------------------------------------------------
void mask_courier(benchmark::State& state) {
  std::string data(static_cast<std::size_t>(state.range(0)), 'x');
  pws::mask_key key{1, 2, 3, 4};
  for (auto _ : state) {
    pws::apply_mask(data.data(), data.size(), key);
    benchmark::DoNotOptimize(data.data());
  }
  set_bytes(state, data.size());
}
void mask_beast(benchmark::State& state) {
  std::string data(static_cast<std::size_t>(state.range(0)), 'x');
  boost::beast::websocket::detail::prepared_key key;
  boost::beast::websocket::detail::prepare_key(key, 0x04030201);
  for (auto _ : state) {
    boost::beast::websocket::detail::mask_inplace(
        boost::asio::mutable_buffer(data.data(), data.size()), key);
    benchmark::DoNotOptimize(data.data());
  }
  set_bytes(state, data.size());
}
BENCHMARK(mask_courier)->Arg(128)->Arg(1 << 20);
BENCHMARK(mask_beast)->Arg(128)->Arg(1 << 20);

// --- UTF-8 validation ----------------------------------------------------------------------
template <std::string (*Make)(std::size_t)>
void utf8_courier(benchmark::State& state) {
  const auto text = Make(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    pws::utf8_validator v;
    benchmark::DoNotOptimize(v.feed(text) && v.complete());
  }
  set_bytes(state, text.size());
}
template <std::string (*Make)(std::size_t)>
void utf8_beast(benchmark::State& state) {
  const auto text = Make(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    boost::beast::websocket::detail::utf8_checker c;
    benchmark::DoNotOptimize(
        c.write(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()) && c.finish());
  }
  set_bytes(state, text.size());
}
BENCHMARK(utf8_courier<ascii_text>)->Name("utf8_ascii_courier")->Arg(16 << 20);
BENCHMARK(utf8_beast<ascii_text>)->Name("utf8_ascii_beast")->Arg(16 << 20);
BENCHMARK(utf8_courier<mixed_text>)->Name("utf8_mixed_courier")->Arg(1 << 20);
BENCHMARK(utf8_beast<mixed_text>)->Name("utf8_mixed_beast")->Arg(1 << 20);
BENCHMARK(utf8_courier<accented_text>)->Name("utf8_accented_courier")->Arg(16 << 20);
BENCHMARK(utf8_beast<accented_text>)->Name("utf8_accented_beast")->Arg(16 << 20);

// --- WebSocket frame parsing (no Beast equivalent outside its stream) -----------------------
void ws_parse_small_frames(benchmark::State& state) {
  std::string wire;
  for (int i = 0; i < 512; ++i)
    pws::append_frame(wire, courier::ws::frame::binary(std::string(128, 'm')));
  std::size_t messages = 0;
  for (auto _ : state) {
    pws::connection core;
    core.receive_data(wire);
    while (auto e = core.next_event())
      ++messages;
  }
  state.SetItemsProcessed(static_cast<int64_t>(messages));
  set_bytes(state, wire.size());
}
BENCHMARK(ws_parse_small_frames);

void ws_serialize_small_frames(benchmark::State& state) {
  pws::connection core;
  const auto f = courier::ws::frame::binary(std::string(128, 'm'));
  std::size_t n = 0;
  for (auto _ : state) {
    core.send(f);
    core.consume_output(core.pending_output().size());
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
}
BENCHMARK(ws_serialize_small_frames);

// --- WebSocket frame headers: decoding (Beast's parser lives inside its stream, so only
// courier's here) and encoding beside Beast's detail::write.
void ws_header_decode_courier(benchmark::State& state) {
  // 64 headers of every length class, masked (as a server would read them) and not.
  std::string wire;
  std::vector<std::size_t> offsets;
  for (int i = 0; i < 64; ++i) {
    pws::frame_header h;
    h.opcode = 2;
    h.masked = (i & 1) != 0;
    h.key = {1, 2, 3, 4};
    h.payload_length = i % 3 == 0 ? 100 : i % 3 == 1 ? 1000 : 100000;
    char buf[pws::max_frame_header_size];
    offsets.push_back(wire.size());
    wire.append(buf, pws::encode_frame_header(h, buf));
  }
  std::uint64_t total = 0;
  for (auto _ : state) {
    std::string_view in = wire;
    while (!in.empty()) {
      const auto r = pws::decode_frame_header(in);
      total += r.header.payload_length;
      in.remove_prefix(r.size);
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 64);
}
BENCHMARK(ws_header_decode_courier);

void ws_header_encode_courier(benchmark::State& state) {
  pws::frame_header h;
  h.opcode = 2;
  h.masked = true;
  h.key = {1, 2, 3, 4};
  char buf[pws::max_frame_header_size];
  std::uint64_t n = 0;
  for (auto _ : state) {
    h.payload_length = 100 + (n++ & 0xffff);
    benchmark::DoNotOptimize(pws::encode_frame_header(h, buf));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
void ws_header_encode_beast(benchmark::State& state) {
  namespace bd = boost::beast::websocket::detail;
  bd::frame_header h{};
  h.op = bd::opcode::binary;
  h.fin = true;
  h.mask = true;
  h.key = 0x04030201;
  bd::fh_buffer buf;
  std::uint64_t n = 0;
  for (auto _ : state) {
    buf.clear();
    h.len = 100 + (n++ & 0xffff);
    bd::write(buf, h);
    benchmark::DoNotOptimize(buf.data().data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(ws_header_encode_courier);
BENCHMARK(ws_header_encode_beast);

// --- HTTP/1.1 response parsing ------------------------------------------------------------
const std::string& http_response() {
  static const std::string r =
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Fri, 27 Nov 2026 22:00:00 GMT\r\n"
      "Content-Type: text/plain\r\nContent-Length: 100\r\nConnection: keep-alive\r\n"
      "ETag: \"abc\"\r\nAccept-Ranges: bytes\r\n\r\n" +
      std::string(100, 'b');
  return r;
}
void http_parse_courier(benchmark::State& state) {
  const auto& r = http_response();
  for (auto _ : state) {
    http1::response_parser p;
    p.feed(r);
    while (auto e = p.next_event())
      benchmark::DoNotOptimize(&*e);
  }
  state.SetItemsProcessed(state.iterations());
}
void http_parse_beast(benchmark::State& state) {
  const auto& r = http_response();
  for (auto _ : state) {
    boost::beast::http::response_parser<boost::beast::http::string_body> p;
    boost::beast::error_code ec;
    p.put(boost::asio::buffer(r), ec);
    benchmark::DoNotOptimize(p.get().body().size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(http_parse_courier);
BENCHMARK(http_parse_beast);

// --- permessage-deflate -------------------------------------------------------------------
void deflate_round_trip(benchmark::State& state) {
  auto text = mixed_text(64 * 1024);
  pws::message_deflater d(15, false);
  pws::message_inflater i(false);
  std::string packed, unpacked;
  for (auto _ : state) {
    packed.clear();
    unpacked.clear();
    d.compress(text, true, packed);
    i.inflate(packed, unpacked, 1 << 20);
    i.end_message(unpacked, 1 << 20);
  }
  set_bytes(state, text.size());
}
BENCHMARK(deflate_round_trip);

// Beast's permessage-deflate runs on its own zlib port (boost/beast/zlib): the same round
// trip, a sync-flushed raw deflate block with the 00 00 ff ff tail removed and re-added.
void deflate_round_trip_beast(benchmark::State& state) {
  namespace bz = boost::beast::zlib;
  auto text = mixed_text(64 * 1024);
  bz::deflate_stream d;
  d.reset(6, 15, 8, bz::Strategy::normal);
  bz::inflate_stream i;
  i.reset(15);
  std::string packed(text.size() + 1024, '\0'), unpacked(text.size() + 1024, '\0');
  for (auto _ : state) {
    bz::z_params zs;
    zs.next_in = text.data();
    zs.avail_in = text.size();
    zs.next_out = packed.data();
    zs.avail_out = packed.size();
    boost::beast::error_code ec;
    d.write(zs, bz::Flush::sync, ec);
    const std::size_t packed_size = packed.size() - zs.avail_out - 4;  // drop 00 00 ff ff
    static const char tail[4] = {0, 0, '\xff', '\xff'};
    std::string in = packed.substr(0, packed_size);
    in.append(tail, 4);
    bz::z_params zi;
    zi.next_in = in.data();
    zi.avail_in = in.size();
    zi.next_out = unpacked.data();
    zi.avail_out = unpacked.size();
    i.write(zi, bz::Flush::sync, ec);
    if (unpacked.size() - zi.avail_out != text.size()) state.SkipWithError("bad round trip");
  }
  set_bytes(state, text.size());
}
BENCHMARK(deflate_round_trip_beast);

}  // namespace

BENCHMARK_MAIN();
