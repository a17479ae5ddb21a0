// libFuzzer target for courier::proto::http2::client_connection: after a GET and a POST whose
// body is still being supplied, arbitrary "server" bytes arrive in pieces of fuzzer-chosen
// sizes. The core must never crash or hang, and must keep its contract: no event for a stream
// after its end or reset, none at all after a connection error, body data only after a head,
// and once the bytes stop (receive_eof) no stream is left open.
//
// Input layout: byte 0 holds options (bit 0: small limits, bit 1: consume body bytes as they
// come), byte 1 seeds the sizes of the pieces, the rest is what the server sends.
#include "proto/http2/client_connection.hpp"

#include <courier/error.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace {

namespace h2 = courier::proto::http2;

[[noreturn]] void contract_broken() {
  __builtin_trap();
}

struct stream_seen {
  bool head = false;
  bool over = false;
};

struct checker {
  std::map<h2::stream_id, stream_seen> streams;
  bool connection_failed = false;
  bool consume = false;

  stream_seen& open(h2::stream_id id) {
    auto it = streams.find(id);
    if (it == streams.end() || it->second.over || connection_failed) contract_broken();
    return it->second;
  }

  void drain(h2::client_connection& c) {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      auto ev = c.next_event();
      if (!ev) return;
      if (connection_failed) contract_broken();
      if (auto* h = std::get_if<h2::response_head_event>(&*ev)) {
        auto& s = open(h->stream);
        if (s.head || h->status < 200 || h->status > 999) contract_broken();
        s.head = true;
      } else if (auto* i = std::get_if<h2::informational_event>(&*ev)) {
        if (open(i->stream).head || i->status < 100 || i->status > 199) contract_broken();
      } else if (auto* d = std::get_if<h2::data_event>(&*ev)) {
        if (!open(d->stream).head) contract_broken();
        if (consume) c.consumed(d->stream, d->data.size());
      } else if (auto* t = std::get_if<h2::trailers_event>(&*ev)) {
        if (!open(t->stream).head) contract_broken();
      } else if (auto* e = std::get_if<h2::end_of_stream_event>(&*ev)) {
        auto& s = open(e->stream);
        if (!s.head) contract_broken();
        s.over = true;
      } else if (auto* r = std::get_if<h2::stream_reset_event>(&*ev)) {
        open(r->stream).over = true;
        if (r->message.empty() || r->code_name.empty()) contract_broken();
      } else if (auto* f = std::get_if<h2::connection_error_event>(&*ev)) {
        for (auto id : f->failed_streams)
          open(id).over = true;
        if (f->message.empty()) contract_broken();
        connection_failed = true;
      }
    }
    contract_broken();  // an endless stream of events
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  h2::connection_options options;
  if (data[0] & 1) {
    options.stream_window = 1024;
    options.connection_window = 4096;
    options.max_header_list_size = 512;
    options.max_idle_frames = 16;
    options.max_continuations = 2;
    options.max_output_batch = 256;
  }
  std::uint32_t rng = 0x9e3779b9u * (data[1] + 1u);
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  h2::client_connection client(options);
  checker check;
  check.consume = (data[0] & 2) != 0;
  h2::request_head get;
  get.authority = "example.test";
  get.path = "/a";
  check.streams[client.submit_request(get)];
  h2::request_head post = get;
  post.method = courier::method::post;
  const auto upload = client.submit_request(post, h2::request_body::supplied);
  check.streams[upload];
  client.supply_body(upload, std::string(3000, 'u'));
  (void)client.take_output();

  for (std::size_t round = 0; round <= input.size() && !input.empty(); ++round) {
    rng = rng * 1664525u + 1013904223u;
    const std::size_t piece = std::min<std::size_t>(1 + (rng >> 16) % 97, input.size());
    client.receive(input.substr(0, piece));
    input.remove_prefix(piece);
    check.drain(client);
    (void)client.take_output();
    if (round == 3) client.supply_body(upload, "end", true);
  }
  client.receive_eof();
  check.drain(client);
  if (client.open_streams() != 0 || !client.done()) contract_broken();
  for (const auto& [id, s] : check.streams)
    if (!s.over) contract_broken();
  return 0;
}
