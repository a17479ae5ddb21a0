// Microbenchmarks of the sans-I/O hot paths, each beside Boost.Beast's equivalent where Beast
// has one: masking, UTF-8 validation, WebSocket frame parsing, HTTP/1.1 response parsing,
// permessage-deflate. Build: cmake --build build --target courier_microbench; run the binary.
#include "proto/http1/response_parser.hpp"
#include "proto/ws/connection.hpp"
#include "proto/ws/deflate.hpp"
#include "proto/ws/frame_codec.hpp"
#include "proto/ws/mask.hpp"
#include "proto/ws/utf8.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/detail/mask.hpp>
#include <boost/beast/websocket/detail/utf8_checker.hpp>

#include <benchmark/benchmark.h>

#include <random>
#include <string>

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
template <bool Ascii>
void utf8_courier(benchmark::State& state) {
  auto text = Ascii ? ascii_text(static_cast<std::size_t>(state.range(0)))
                    : mixed_text(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    pws::utf8_validator v;
    benchmark::DoNotOptimize(v.feed(text) && v.complete());
  }
  set_bytes(state, text.size());
}
template <bool Ascii>
void utf8_beast(benchmark::State& state) {
  auto text = Ascii ? ascii_text(static_cast<std::size_t>(state.range(0)))
                    : mixed_text(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    boost::beast::websocket::detail::utf8_checker c;
    benchmark::DoNotOptimize(
        c.write(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()) && c.finish());
  }
  set_bytes(state, text.size());
}
BENCHMARK(utf8_courier<true>)->Name("utf8_ascii_courier")->Arg(16 << 20);
BENCHMARK(utf8_beast<true>)->Name("utf8_ascii_beast")->Arg(16 << 20);
BENCHMARK(utf8_courier<false>)->Name("utf8_mixed_courier")->Arg(1 << 20);
BENCHMARK(utf8_beast<false>)->Name("utf8_mixed_beast")->Arg(1 << 20);

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

}  // namespace

BENCHMARK_MAIN();
