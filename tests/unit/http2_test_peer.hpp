// Test support for the HTTP/2 client core: nghttp2 acting as the server, in process (an
// implementation of the other side that courier does not drive), a pump that moves bytes
// between the two, and the events the client reported, stream by stream.
#pragma once

#include "proto/http2/client_connection.hpp"

#include <nghttp2/nghttp2.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace courier::test::http2 {

namespace h2 = courier::proto::http2;

/// A server: collects each request, and answers it through `handler` once the request ended
/// (at the start of the next pump round, so that requests can pile up).
class test_server {
 public:
  struct request {
    std::vector<std::pair<std::string, std::string>> fields;  // pseudo-header fields included
    std::string body;
    bool ended = false;
    bool answered = false;
    std::optional<std::uint32_t> closed_with;  // the code nghttp2 closed the stream with

    std::string field(const std::string& name) const {
      for (const auto& [n, v] : fields)
        if (n == name) return v;
      return "<absent>";
    }
    bool has(const std::string& name) const { return field(name) != "<absent>"; }
  };

  struct response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body;
    std::vector<std::pair<std::string, std::string>> trailers;
  };

  /// Called for each ended request; returns nullopt to leave it unanswered.
  std::function<std::optional<response>(std::int32_t, const request&)> handler =
      [](std::int32_t, const request&) {
        return response{200, {}, "ok", {}};
      };

  std::map<std::int32_t, request> requests;
  std::size_t open_now = 0, max_open = 0;
  bool goaway_received = false;
  std::uint32_t goaway_code = 0xffffffff;

  explicit test_server(std::vector<nghttp2_settings_entry> settings = {}) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, &on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &on_close);
    nghttp2_session_server_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  }
  ~test_server() { nghttp2_session_del(session_); }
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  nghttp2_session* session() { return session_; }

  void receive(const std::string& bytes) {
    if (bytes.empty()) return;
    const auto rv = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ASSERT_EQ(rv, static_cast<ssize_t>(bytes.size())) << nghttp2_strerror(static_cast<int>(rv));
  }

  std::string take_output() {
    answer_pending();
    std::string out;
    for (int i = 0; i < 100000; ++i) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    return out;
  }

  /// Sends `r` on stream `id` now (a response, DATA, then trailers if any).
  void respond(std::int32_t id, const response& r) {
    auto& body = bodies_[id];
    body.data = r.body;
    body.trailers = r.trailers;
    std::vector<std::string> owned;
    owned.push_back(":status");
    owned.push_back(std::to_string(r.status));
    for (const auto& [n, v] : r.fields) {
      owned.push_back(n);
      owned.push_back(v);
    }
    std::vector<nghttp2_nv> nva;
    for (std::size_t i = 0; i + 1 < owned.size(); i += 2)
      nva.push_back(nv(owned[i], owned[i + 1]));
    nghttp2_data_provider provider{};
    provider.read_callback = &read_body;
    nghttp2_submit_response(session_, id, nva.data(), nva.size(), &provider);
    requests[id].answered = true;
  }

 private:
  struct body_state {
    std::string data;
    std::size_t offset = 0;
    std::vector<std::pair<std::string, std::string>> trailers;
  };

  static nghttp2_nv nv(const std::string& n, const std::string& v) {
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
            NGHTTP2_NV_FLAG_NONE};
  }

  void answer_pending() {
    for (auto& [id, req] : requests) {
      if (!req.ended || req.answered || req.closed_with) continue;
      req.answered = true;
      if (auto r = handler(id, req)) respond(id, *r);
    }
  }

  static test_server& self(void* ud) { return *static_cast<test_server*>(ud); }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* ud) {
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
      auto& s = self(ud);
      s.requests[f->hd.stream_id];
      s.max_open = std::max(s.max_open, ++s.open_now);
    }
    return 0;
  }
  static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n,
                       std::size_t nl, const std::uint8_t* v, std::size_t vl, std::uint8_t,
                       void* ud) {
    self(ud).requests[f->hd.stream_id].fields.emplace_back(
        std::string(reinterpret_cast<const char*>(n), nl),
        std::string(reinterpret_cast<const char*>(v), vl));
    return 0;
  }
  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* d,
                     std::size_t len, void* ud) {
    self(ud).requests[id].body.append(reinterpret_cast<const char*>(d), len);
    return 0;
  }
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* ud) {
    auto& s = self(ud);
    if (f->hd.type == NGHTTP2_GOAWAY) {
      s.goaway_received = true;
      s.goaway_code = f->goaway.error_code;
    }
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
      s.requests[f->hd.stream_id].ended = true;
    return 0;
  }
  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* ud) {
    auto& s = self(ud);
    auto it = s.requests.find(id);
    if (it != s.requests.end()) {
      it->second.closed_with = code;
      --s.open_now;
    }
    return 0;
  }
  static ssize_t read_body(nghttp2_session* session, std::int32_t id, std::uint8_t* buf,
                           std::size_t length, std::uint32_t* flags, nghttp2_data_source*,
                           void* ud) {
    auto& b = self(ud).bodies_[id];
    const std::size_t n = std::min(length, b.data.size() - b.offset);
    std::copy_n(b.data.data() + b.offset, n, buf);
    b.offset += n;
    if (b.offset == b.data.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!b.trailers.empty()) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nva;
        for (const auto& [tn, tv] : b.trailers)
          nva.push_back(nv(tn, tv));
        nghttp2_submit_trailer(session, id, nva.data(), nva.size());
      }
    }
    return static_cast<ssize_t>(n);
  }

  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, body_state> bodies_;
};

/// What the client reported for one stream.
struct stream_record {
  int informational = 0;
  int status = 0;
  courier::headers headers;
  std::string body;
  std::optional<courier::headers> trailers;
  bool ended = false;
  std::optional<h2::stream_reset_event> reset;
  std::size_t events_after_end = 0;
};

/// Takes the client's events into per-stream records. With auto_consume, body bytes are
/// consumed as they arrive (an application that keeps up).
struct event_log {
  std::map<h2::stream_id, stream_record> streams;
  std::vector<h2::goaway_event> goaways;
  std::vector<h2::connection_error_event> connection_errors;
  bool auto_consume = true;

  void drain(h2::client_connection& c) {
    for (int i = 0; i < 1'000'000; ++i) {
      auto ev = c.next_event();
      if (!ev) return;
      std::visit(
          [&](auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, h2::goaway_event>) {
              goaways.push_back(e);
            } else if constexpr (std::is_same_v<T, h2::connection_error_event>) {
              connection_errors.push_back(e);
            } else {
              auto& r = streams[e.stream];
              if (r.ended || r.reset) ++r.events_after_end;
              if constexpr (std::is_same_v<T, h2::informational_event>) {
                ++r.informational;
              } else if constexpr (std::is_same_v<T, h2::response_head_event>) {
                r.status = e.status;
                r.headers = e.headers;
              } else if constexpr (std::is_same_v<T, h2::data_event>) {
                r.body += e.data;
                if (auto_consume) c.consumed(e.stream, e.data.size());
              } else if constexpr (std::is_same_v<T, h2::trailers_event>) {
                r.trailers = e.trailers;
              } else if constexpr (std::is_same_v<T, h2::end_of_stream_event>) {
                r.ended = true;
              } else if constexpr (std::is_same_v<T, h2::stream_reset_event>) {
                r.reset = e;
              }
            }
          },
          *ev);
    }
    ADD_FAILURE() << "endless events";
  }
};

/// Moves bytes both ways until neither side has anything to say (at most `max_rounds`).
/// Returns the rounds it took.
inline int pump(h2::client_connection& client, test_server& server, event_log& log,
                int max_rounds = 10000) {
  for (int round = 1; round <= max_rounds; ++round) {
    const std::string up = client.take_output();
    server.receive(up);
    const std::string down = server.take_output();
    client.receive(down);
    log.drain(client);
    if (up.empty() && down.empty() && !client.wants_write()) return round;
  }
  ADD_FAILURE() << "pump did not settle in " << max_rounds << " rounds";
  return max_rounds;
}

inline h2::request_head get(std::string path) {
  h2::request_head head;
  head.method = courier::method::get;
  head.scheme = "http";
  head.authority = "example.test";
  head.path = std::move(path);
  return head;
}

}  // namespace courier::test::http2
