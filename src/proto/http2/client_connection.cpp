#include "proto/http2/client_connection.hpp"

#include "core/lazy_fifo.hpp"
#include "proto/http2/error_code.hpp"

#include <courier/error.hpp>

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <vector>

// What nghttp2 1.52 as Debian 12 ships it guards by itself, and what this file adds (see
// docs/http2.md):
//  - nghttp2: HPACK errors and a single field over 64 KiB (COMPRESSION_ERROR); the dynamic
//    table bounded by our SETTINGS_HEADER_TABLE_SIZE; malformed messages (uppercase names,
//    connection-specific fields, pseudo-header rules, content-length against DATA) as stream
//    errors; PUSH_PROMISE with push disabled as a connection error (before the server
//    acknowledged our SETTINGS, it cancels the promised stream instead); SETTINGS with more than 32
//    entries; unsent PING/SETTINGS acknowledgements piling up past 1000 (NGHTTP2_ERR_FLOODED);
//    CONTINUATION floods (CVE-2024-28182, backported: options.max_continuations).
//  - here: the decoded header list of each block against max_header_list_size (an HPACK bomb
//    decodes to a huge list from a few bytes; nghttp2 does not enforce the size we announce),
//    and a count of PING, SETTINGS, PRIORITY, empty DATA and unknown frames in a row without
//    progress (options.max_idle_frames), which covers floods whose acknowledgements are written
//    promptly and floods that need no answer.

namespace courier::proto::http2 {

namespace {

constexpr std::size_t header_field_overhead = 32;  // RFC 9113 6.5.2

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool is_connection_specific(std::string_view lower_name) noexcept {
  return lower_name == "connection" || lower_name == "keep-alive" ||
         lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade";
}

// Server-chosen bytes (GOAWAY debug data) for a message: printable ASCII, at most limit of them.
std::string printable(std::string_view bytes, std::size_t limit) {
  std::string shown;
  for (char ch : bytes.substr(0, limit))
    shown += (ch >= 0x20 && ch < 0x7f) ? ch : '.';
  if (bytes.size() > limit) shown += "...";
  return shown;
}

// A sentence for nghttp2's reason for rejecting a frame or a message.
std::string describe_library_error(int lib_error_code) {
  switch (lib_error_code) {
    case NGHTTP2_ERR_HTTP_HEADER:
      return "a malformed header field (an uppercase or invalid name, a connection-specific "
             "field, a bad pseudo-header field or value)";
    case NGHTTP2_ERR_HTTP_MESSAGING:
      return "a response that breaks HTTP/2 messaging rules (a missing or bad :status, a "
             "content-length that disagrees with the DATA, DATA before the response head, ...)";
    case NGHTTP2_ERR_FLOW_CONTROL:
      return "more DATA than the stream's flow-control window allowed";
    default:
      return nghttp2_strerror(lib_error_code);
  }
}

// What a connection error code means, when nghttp2 said nothing more.
std::string describe_connection_error(std::uint32_t code) {
  switch (code) {
    case NGHTTP2_COMPRESSION_ERROR:
      return "a header block that could not be decoded (HPACK)";
    case NGHTTP2_FRAME_SIZE_ERROR:
      return "a frame of a size HTTP/2 does not allow";
    case NGHTTP2_FLOW_CONTROL_ERROR:
      return "more data than the window allowed";
    default:
      return "the server broke the HTTP/2 protocol";
  }
}

nghttp2_nv make_nv(std::string_view name, std::string_view value, std::uint8_t flags) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
          value.size(), flags};
}

}  // namespace

struct client_connection::impl {
  struct stream_state {
    // Request body supplied and not yet sent (most streams have none).
    detail::lazy_fifo<std::string> body;
    std::size_t body_front_offset = 0;
    std::size_t body_buffered = 0;
    bool body_ended = true;
    bool body_deferred = false;
    // The header block being received.
    courier::headers block;
    std::size_t block_size = 0;
    int block_status = 0;
    bool head_seen = false;
    // Body bytes delivered and not yet consumed().
    std::size_t unconsumed = 0;
    bool complete = false;   // END_STREAM received: end_of_stream_event queued
    bool over = false;       // a terminal event was queued (or the stream was cancelled)
    bool cancelled = false;  // by the driver: no more events
    bool reset_by_peer = false;
    bool unprocessed = false;  // above a GOAWAY's last-stream-id
    std::string local_error;   // why we reset it (a malformed response, a limit)
  };

  connection_options options;
  nghttp2_session* session = nullptr;
  std::map<stream_id, stream_state> streams;
  std::vector<nghttp2_nv> request_nva;  // submit_request's scratch list
  std::deque<event> events;
  std::string out;
  std::size_t idle_frames = 0;
  bool failed = false;
  bool eof = false;
  bool shutting_down = false;
  bool peer_goaway = false;
  // The server's GOAWAY, as a message names it: "PROTOCOL_ERROR (0x1): its debug data".
  std::string peer_goaway_text;
  // Set by a callback that fails the connection: the message, and the code for our GOAWAY.
  std::string fatal_message;
  std::uint32_t fatal_code = NGHTTP2_INTERNAL_ERROR;
  // The last connection-level complaint nghttp2 made (error callback, invalid frame).
  std::string connection_complaint;
  // Our GOAWAY with an error code, once nghttp2 sent it for a connection error.
  std::optional<std::uint32_t> sent_error_goaway;
  std::string sent_goaway_debug;
  std::size_t frames_received = 0;
  std::string first_bytes;  // the server's first bytes (at most 16), for messages

  explicit impl(connection_options o) : options(o) {}
  ~impl() {
    if (session) nghttp2_session_del(session);
  }

  stream_state* find(stream_id id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : &it->second;
  }

  // A stream whose events the driver still wants.
  stream_state* live(stream_id id) {
    stream_state* s = find(id);
    return (s && !s->cancelled && !s->over && !failed) ? s : nullptr;
  }

  void forget_if_settled(stream_id id) {
    auto it = streams.find(id);
    if (it != streams.end() && (it->second.over || it->second.cancelled) &&
        it->second.unconsumed == 0)
      streams.erase(it);
  }

  void finish_stream(stream_id id, stream_state& s, stream_reset_event ev) {
    s.over = true;
    s.body.clear();
    s.body_buffered = 0;
    ev.stream = id;
    ev.code_name = std::string(error_code_name(ev.code));
    events.emplace_back(std::move(ev));
  }

  bool idle_frame_seen() {
    if (++idle_frames <= options.max_idle_frames) return true;
    fatal_code = NGHTTP2_ENHANCE_YOUR_CALM;
    fatal_message = "the server sent more than " + std::to_string(options.max_idle_frames) +
                    " PING, SETTINGS, PRIORITY, empty DATA or unknown frames in a row (a flood)";
    return false;
  }

  void fail_connection(std::uint32_t code, std::string message, bool protocol_violation) {
    if (failed) return;
    failed = true;
    connection_error_event ev;
    ev.code = code;
    ev.code_name = std::string(error_code_name(code));
    ev.message = std::move(message);
    ev.protocol_violation = protocol_violation;
    for (auto& [id, s] : streams) {
      if (s.over || s.cancelled) continue;
      s.over = true;
      ev.failed_streams.push_back(id);
    }
    events.emplace_back(std::move(ev));
  }

  // Our GOAWAY for a failure found here, written after whatever output was pending.
  void send_goaway(std::uint32_t code) {
    if (sent_error_goaway) return;
    nghttp2_session_terminate_session(session, code);
    produce_output(options.max_output_batch);
  }

  void produce_output(std::size_t limit) {
    for (int guard = 0; guard < 1'000'000 && out.size() < limit; ++guard) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n <= 0) {
        if (n < 0 && !failed)
          fail_connection(NGHTTP2_INTERNAL_ERROR,
                          std::string("HTTP/2 connection failed while writing: ") +
                              nghttp2_strerror(static_cast<int>(n)),
                          false);
        return;
      }
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
  }

  // After input, the frames it calls for are written at once (into `out`, up to a batch):
  // nghttp2 closes a stream it resets, and ends a connection it fails, only as the RST_STREAM
  // or GOAWAY goes out, and the driver should see those events right after the input.
  void after_input() {
    produce_output(options.max_output_batch);
    if (!sent_error_goaway || failed) return;
    std::string why = connection_complaint;
    if (why.empty()) why = sent_goaway_debug;
    if (why.empty()) why = describe_connection_error(*sent_error_goaway);
    fail_connection(*sent_error_goaway,
                    "HTTP/2 connection error " + describe_error_code(*sent_error_goaway) + ": " +
                        why + not_http2_hint(),
                    true);
  }

  // When the server never sent a valid frame, its first bytes say what it speaks instead.
  std::string not_http2_hint() const {
    if (frames_received != 0 || first_bytes.empty()) return {};
    return " (the server does not speak HTTP/2 here? it began with \"" +
           printable(first_bytes, first_bytes.size()) + "\")";
  }

  // ---- nghttp2 callbacks ----

  static impl& self(void* user_data) { return *static_cast<impl*>(user_data); }

  // Frame types nghttp2 does not know (extensions) would be skipped without any callback, so
  // every one of them is registered as an extension that we read and drop (below): a flood of
  // them is counted here like PINGs.
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* ud) {
    impl& c = self(ud);
    if (c.failed || hd->type <= NGHTTP2_CONTINUATION) return 0;
    return c.idle_frame_seen() ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
  }

  static int on_extension_chunk(nghttp2_session*, const nghttp2_frame_hd*, const std::uint8_t*,
                                std::size_t, void*) {
    return 0;
  }

  static int unpack_extension(nghttp2_session*, void**, const nghttp2_frame_hd*, void*) {
    return NGHTTP2_ERR_CANCEL;  // drop the frame
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    impl& c = self(ud);
    if (stream_state* s = c.find(frame->hd.stream_id)) {
      s->block = courier::headers();
      // A response head has a handful of fields: room for them at once, not by doubling.
      if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) s->block.reserve(8);
      s->block_size = 0;
      s->block_status = 0;
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* ud) {
    impl& c = self(ud);
    stream_state* s = c.live(frame->hd.stream_id);
    if (!s) return 0;
    s->block_size += namelen + valuelen + header_field_overhead;
    if (s->block_size > c.options.max_header_list_size) {
      s->local_error = "a response header block over the limit of " +
                       std::to_string(c.options.max_header_list_size) + " bytes";
      s->block = courier::headers();
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    try {
      if (!n.empty() && n.front() == ':') {
        if (n == ":status") {
          // nghttp2 checked it is three digits.
          int status = 0;
          for (char ch : v)
            status = status * 10 + (ch - '0');
          s->block_status = status;
        }
        return 0;
      }
      s->block.add_unchecked(n, v);  // nghttp2 validated the name and value
    } catch (...) {
      s->local_error = "a response header block larger than the memory at hand";
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    return 0;
  }

  static int on_invalid_header(nghttp2_session*, const nghttp2_frame* frame,
                               const std::uint8_t* name, std::size_t namelen, const std::uint8_t*,
                               std::size_t, std::uint8_t, void* ud) {
    impl& c = self(ud);
    if (stream_state* s = c.find(frame->hd.stream_id)) {
      s->local_error =
          "an invalid header field '" +
          std::string(reinterpret_cast<const char*>(name), std::min<std::size_t>(namelen, 64)) +
          "'";
    }
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // reset the stream (PROTOCOL_ERROR)
  }

  static int on_invalid_frame(nghttp2_session*, const nghttp2_frame* frame, int lib_error_code,
                              void* ud) {
    impl& c = self(ud);
    stream_state* s = frame->hd.stream_id != 0 ? c.find(frame->hd.stream_id) : nullptr;
    if (s) {
      if (s->local_error.empty()) s->local_error = describe_library_error(lib_error_code);
    } else {
      c.connection_complaint = describe_library_error(lib_error_code);
    }
    return 0;
  }

  static int on_error(nghttp2_session*, int, const char* msg, std::size_t len, void* ud) {
    impl& c = self(ud);
    if (c.connection_complaint.empty()) c.connection_complaint.assign(msg, len);
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                           const std::uint8_t* data, std::size_t len, void* ud) {
    impl& c = self(ud);
    stream_state* s = c.find(id);
    if (!s || s->cancelled || s->over || c.failed) {
      nghttp2_session_consume(session, id, len);  // nobody will take these bytes
      return 0;
    }
    try {
      c.events.emplace_back(data_event{id, std::string(reinterpret_cast<const char*>(data), len)});
    } catch (...) {
      c.fatal_message = "out of memory for response body data";
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    s->unconsumed += len;
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    impl& c = self(ud);
    if (c.failed) return 0;
    ++c.frames_received;
    const stream_id id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_DATA:
        if (frame->hd.length == 0 && !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
          if (!c.idle_frame_seen()) return NGHTTP2_ERR_CALLBACK_FAILURE;
        } else {
          c.idle_frames = 0;
        }
        break;
      case NGHTTP2_HEADERS: {
        c.idle_frames = 0;
        stream_state* s = c.live(id);
        if (!s) return 0;
        try {
          if (!s->head_seen && s->block_status >= 100 && s->block_status < 200) {
            c.events.emplace_back(informational_event{id, s->block_status, std::move(s->block)});
          } else if (!s->head_seen) {
            s->head_seen = true;
            c.events.emplace_back(response_head_event{id, s->block_status, std::move(s->block)});
          } else {
            c.events.emplace_back(trailers_event{id, std::move(s->block)});
          }
        } catch (...) {
          c.fatal_message = "out of memory for a response head";
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        s->block = courier::headers();
        break;
      }
      case NGHTTP2_PING:
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PRIORITY:
        if (!c.idle_frame_seen()) return NGHTTP2_ERR_CALLBACK_FAILURE;
        break;
      case NGHTTP2_RST_STREAM:
        if (stream_state* s = c.find(id)) s->reset_by_peer = true;
        break;
      case NGHTTP2_GOAWAY: {
        c.peer_goaway = true;
        goaway_event ev;
        ev.last_stream_id = frame->goaway.last_stream_id;
        ev.code = frame->goaway.error_code;
        ev.code_name = std::string(error_code_name(ev.code));
        ev.debug_data.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                             std::min<std::size_t>(frame->goaway.opaque_data_len, 1024));
        c.peer_goaway_text = describe_error_code(ev.code);
        if (!ev.debug_data.empty()) c.peer_goaway_text += ": " + printable(ev.debug_data, 200);
        for (auto& [sid, s] : c.streams) {
          if (sid > ev.last_stream_id && !s.over && !s.cancelled) {
            s.unprocessed = true;
            ev.unprocessed_streams.push_back(sid);
          }
        }
        c.events.emplace_back(std::move(ev));
        break;
      }
      default:
        break;
    }
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      if (stream_state* s = c.live(id); s && s->head_seen) {
        s->complete = true;
        s->over = true;
        s->body.clear();
        s->body_buffered = 0;
        c.events.emplace_back(end_of_stream_event{id});
      }
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* ud) {
    impl& c = self(ud);
    stream_state* s = c.find(id);
    if (!s) return 0;
    if (!s->over && !s->cancelled && !c.failed) {
      stream_reset_event ev;
      ev.code = code;
      ev.by_peer = s->reset_by_peer;
      ev.safe_to_retry = code == NGHTTP2_REFUSED_STREAM && (s->reset_by_peer || s->unprocessed);
      const std::string prefix = "HTTP/2 stream " + std::to_string(id);
      if (s->unprocessed) {
        ev.message = prefix +
                     " was not processed: the server is closing the connection (GOAWAY); the "
                     "request may be retried on a new connection";
      } else if (s->reset_by_peer) {
        ev.message = prefix + " was reset by the server: " + describe_error_code(code);
        if (ev.safe_to_retry) ev.message += "; the request was not processed and may be retried";
      } else if (!s->local_error.empty() || code == NGHTTP2_PROTOCOL_ERROR ||
                 code == NGHTTP2_FLOW_CONTROL_ERROR) {
        // We reset it: a callback said why, or nghttp2 found an HTTP messaging violation at
        // the end of the stream (a content-length the DATA fell short of), which it reports
        // through no callback.
        if (s->local_error.empty())
          s->local_error =
              describe_library_error(code == NGHTTP2_PROTOCOL_ERROR ? NGHTTP2_ERR_HTTP_MESSAGING
                                                                    : NGHTTP2_ERR_FLOW_CONTROL);
        ev.protocol_violation = true;
        ev.message = prefix + ": the server sent " + s->local_error + "; the stream was reset (" +
                     describe_error_code(code) + ")";
      } else {
        ev.message =
            prefix + " ended before its response was complete: " + describe_error_code(code);
      }
      c.finish_stream(id, *s, std::move(ev));
    }
    if (s->cancelled && s->unconsumed != 0) {
      nghttp2_session_consume_connection(c.session, s->unconsumed);
      s->unconsumed = 0;
    }
    s->over = true;
    c.forget_if_settled(id);
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    impl& c = self(ud);
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
      c.sent_error_goaway = frame->goaway.error_code;
      c.sent_goaway_debug.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                                 frame->goaway.opaque_data_len);
    }
    return 0;
  }

  static int on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame, int lib_error_code,
                               void* ud) {
    impl& c = self(ud);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    const stream_id id = frame->hd.stream_id;
    stream_state* s = c.find(id);
    if (!s) return 0;
    if (!s->over && !s->cancelled && !c.failed) {
      stream_reset_event ev;
      ev.code = NGHTTP2_REFUSED_STREAM;
      ev.safe_to_retry = true;
      ev.message = "HTTP/2 stream " + std::to_string(id) + " was never sent (" +
                   nghttp2_strerror(lib_error_code) + "); the request may be retried";
      c.finish_stream(id, *s, std::move(ev));
    }
    s->over = true;
    c.forget_if_settled(id);
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* data_flags, nghttp2_data_source*, void* ud) {
    impl& c = self(ud);
    stream_state* s = c.find(id);
    if (!s || s->cancelled) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    std::size_t copied = 0;
    while (copied < length && !s->body.empty()) {
      std::string& front = s->body.front();
      const std::size_t n = std::min(length - copied, front.size() - s->body_front_offset);
      std::copy_n(front.data() + s->body_front_offset, n, buf + copied);
      copied += n;
      s->body_front_offset += n;
      if (s->body_front_offset == front.size()) {
        s->body.pop_front();
        s->body_front_offset = 0;
      }
    }
    s->body_buffered -= copied;
    if (s->body.empty() && s->body_ended) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (copied == 0) {
      s->body_deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(copied);
  }
};

client_connection::client_connection(connection_options options)
    : impl_(std::make_unique<impl>(options)) {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) throw std::bad_alloc();
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, &impl::on_begin_frame);
  nghttp2_session_callbacks_set_on_extension_chunk_recv_callback(cb, &impl::on_extension_chunk);
  nghttp2_session_callbacks_set_unpack_extension_callback(cb, &impl::unpack_extension);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &impl::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, &impl::on_header);
  nghttp2_session_callbacks_set_on_invalid_header_callback(cb, &impl::on_invalid_header);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, &impl::on_invalid_frame);
  nghttp2_session_callbacks_set_error_callback2(cb, &impl::on_error);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &impl::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &impl::on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &impl::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &impl::on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, &impl::on_frame_not_send);

  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    throw std::bad_alloc();
  }
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_continuations(opt, options.max_continuations);
  for (int type = NGHTTP2_CONTINUATION + 1; type <= 0xff; ++type)
    nghttp2_option_set_user_recv_extension_type(opt, static_cast<std::uint8_t>(type));

  const int rv = nghttp2_session_client_new2(&impl_->session, cb, impl_.get(), opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) throw std::bad_alloc();

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, options.max_header_list_size},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, options.max_frame_size},
  };
  if (nghttp2_submit_settings(impl_->session, NGHTTP2_FLAG_NONE, settings, std::size(settings)) !=
          0 ||
      nghttp2_session_set_local_window_size(impl_->session, NGHTTP2_FLAG_NONE, 0,
                                            static_cast<std::int32_t>(std::min<std::uint32_t>(
                                                options.connection_window, 0x7fffffff))) != 0) {
    throw courier::invalid_request("invalid HTTP/2 connection settings");
  }
}

client_connection::~client_connection() = default;

stream_id client_connection::submit_request(const request_head& head, request_body body) {
  impl& c = *impl_;
  if (!can_submit()) {
    throw courier::protocol_error(
        c.failed ? "the HTTP/2 connection has failed"
                 : "the HTTP/2 connection is shutting down (GOAWAY) and takes no new streams");
  }
  if (head.method.name() == "CONNECT") {
    throw courier::invalid_request("CONNECT is not supported over HTTP/2");
  }
  if (head.path.empty()) throw courier::invalid_request("empty HTTP/2 :path");
  if (head.scheme.empty()) throw courier::invalid_request("empty HTTP/2 :scheme");

  // nghttp2 copies the names and values: they are handed over as views of `head`, and of
  // `lowered` for the names that HTTP/2 wants in lower case. The list itself is the
  // connection's, reused: a request costs no allocation for it.
  std::vector<nghttp2_nv>& nva = c.request_nva;
  nva.clear();
  nva.reserve(head.fields.size() + 4);
  std::vector<std::string> lowered;
  const auto has_upper = [](std::string_view name) {
    return std::any_of(name.begin(), name.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
  };
  // Never reallocated below: the views into it stay valid. Most requests need none.
  lowered.reserve(static_cast<std::size_t>(
      std::count_if(head.fields.begin(), head.fields.end(),
                    [&](const header_field& f) { return has_upper(f.name); })));
  auto add = [&](std::string_view name, std::string_view value, std::uint8_t flag) {
    nva.push_back(make_nv(name, value, flag));
  };
  std::string_view authority = head.authority;
  if (authority.empty()) {
    if (auto host = head.fields.get("host")) authority = trim(*host);
  }
  if (authority.empty()) {
    throw courier::invalid_request("an HTTP/2 request needs an authority (host[:port])");
  }
  for (std::string_view pseudo :
       {std::string_view(head.method.name()), std::string_view(head.scheme),
        std::string_view(authority), std::string_view(head.path)}) {
    if (!nghttp2_check_header_value(reinterpret_cast<const std::uint8_t*>(pseudo.data()),
                                    pseudo.size()) ||
        pseudo.find_first_of(" \t") != std::string_view::npos) {
      throw courier::invalid_request(
          "HTTP/2 request line part holds a space or control "
          "character: '" +
          std::string(pseudo) + "'");
    }
  }
  add(":method", head.method.name(), NGHTTP2_NV_FLAG_NONE);
  add(":scheme", head.scheme, NGHTTP2_NV_FLAG_NONE);
  add(":authority", authority, NGHTTP2_NV_FLAG_NONE);
  add(":path", head.path, NGHTTP2_NV_FLAG_NONE);
  for (const header_field& f : head.fields) {
    std::string_view name = f.name;
    if (has_upper(name)) name = lowered.emplace_back(lowercase(name));
    if (name == "host" || is_connection_specific(name)) continue;
    if (name == "te" && !equals_ignoring_case(trim(f.value), "trailers")) continue;
    if (name.empty() || name.front() == ':' ||
        !nghttp2_check_header_name(reinterpret_cast<const std::uint8_t*>(name.data()),
                                   name.size())) {
      throw courier::invalid_header("invalid header field name '" + std::string(f.name) + "'");
    }
    if (!nghttp2_check_header_value(reinterpret_cast<const std::uint8_t*>(f.value.data()),
                                    f.value.size())) {
      throw courier::invalid_header("header field '" + std::string(f.name) +
                                    "' has a value with CR, LF, NUL or another control character");
    }
    // Credentials stay out of the HPACK tables (RFC 7541 7.1.3).
    const std::uint8_t flag = (name == "authorization" || name == "proxy-authorization")
                                  ? NGHTTP2_NV_FLAG_NO_INDEX
                                  : NGHTTP2_NV_FLAG_NONE;
    add(name, f.value, flag);
  }

  nghttp2_data_provider provider{};
  provider.read_callback = &impl::read_body;
  const std::int32_t id =
      nghttp2_submit_request(c.session, nullptr, nva.data(), nva.size(),
                             body == request_body::supplied ? &provider : nullptr, nullptr);
  if (id < 0) {
    throw courier::protocol_error(std::string("HTTP/2 request could not be submitted: ") +
                                  nghttp2_strerror(id));
  }
  impl::stream_state& s = c.streams[id];
  s.body_ended = body == request_body::none;
  c.idle_frames = 0;
  return id;
}

void client_connection::forgive_idle_frames() noexcept {
  impl_->idle_frames = 0;
}

stream_id client_connection::submit_request(const request_head& head, std::string body) {
  const stream_id id = submit_request(head, request_body::supplied);
  supply_body(id, std::move(body), true);
  return id;
}

void client_connection::supply_body(stream_id stream, std::string piece, bool end) {
  impl& c = *impl_;
  impl::stream_state* s = c.find(stream);
  if (!s || s->over || s->cancelled || c.failed) return;
  if (s->body_ended) {
    throw courier::invalid_request("HTTP/2 stream " + std::to_string(stream) +
                                   ": body supplied after its end");
  }
  s->body_buffered += piece.size();
  if (!piece.empty()) s->body.push_back(std::move(piece));
  s->body_ended = end;
  if (s->body_deferred) {
    s->body_deferred = false;
    nghttp2_session_resume_data(c.session, stream);
  }
}

std::size_t client_connection::body_buffered(stream_id stream) const noexcept {
  auto it = impl_->streams.find(stream);
  return it == impl_->streams.end() ? 0 : it->second.body_buffered;
}

void client_connection::consumed(stream_id stream, std::size_t n) {
  impl& c = *impl_;
  impl::stream_state* s = c.find(stream);
  if (!s || c.failed) return;
  n = std::min(n, s->unconsumed);
  if (n == 0) return;
  s->unconsumed -= n;
  nghttp2_session_consume(c.session, stream, n);
  c.forget_if_settled(stream);
}

void client_connection::cancel(stream_id stream) {
  impl& c = *impl_;
  impl::stream_state* s = c.find(stream);
  if (!s || s->cancelled) return;
  const bool was_over = s->over;
  s->cancelled = true;
  s->body.clear();
  s->body_buffered = 0;
  if (s->unconsumed != 0 && !c.failed) {
    nghttp2_session_consume_connection(c.session, s->unconsumed);
  }
  s->unconsumed = 0;
  if (!was_over && !c.failed) {
    nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL);
  }
  if (was_over || c.failed) c.streams.erase(stream);
  // Otherwise the entry goes when nghttp2 closes the stream (or never sends it).
}

void client_connection::shutdown() {
  impl& c = *impl_;
  if (c.shutting_down || c.failed) return;
  c.shutting_down = true;
  nghttp2_submit_goaway(c.session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
}

void client_connection::receive(std::string_view bytes) {
  impl& c = *impl_;
  if (c.failed || c.eof) return;
  if (c.first_bytes.size() < 16) c.first_bytes.append(bytes.substr(0, 16 - c.first_bytes.size()));
  const ssize_t rv = nghttp2_session_mem_recv(
      c.session, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (rv < 0) {
    std::uint32_t code = NGHTTP2_PROTOCOL_ERROR;
    std::string why;
    if (!c.fatal_message.empty()) {
      code = c.fatal_code;
      why = c.fatal_message;
    } else if (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
      code = NGHTTP2_ENHANCE_YOUR_CALM;
      why = "the server sent more than " + std::to_string(c.options.max_continuations) +
            " CONTINUATION frames for one header block (a flood)";
    } else if (rv == NGHTTP2_ERR_FLOODED) {
      code = NGHTTP2_ENHANCE_YOUR_CALM;
      why = "the server flooded the connection with frames that need an acknowledgement";
    } else if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC || rv == NGHTTP2_ERR_NOMEM) {
      code = NGHTTP2_INTERNAL_ERROR;
      why = nghttp2_strerror(static_cast<int>(rv));
    } else {
      why = c.connection_complaint.empty() ? nghttp2_strerror(static_cast<int>(rv))
                                           : c.connection_complaint;
    }
    // Failed first: the callbacks that writing the GOAWAY may run then report nothing more.
    c.fail_connection(
        code,
        "HTTP/2 connection error " + describe_error_code(code) + ": " + why + c.not_http2_hint(),
        true);
    c.send_goaway(code);
    return;
  }
  c.after_input();
}

void client_connection::receive_eof() {
  impl& c = *impl_;
  if (c.failed || c.eof) return;
  c.eof = true;
  if (open_streams() != 0) {
    // After a GOAWAY, its code and debug data are what the server had to say about it.
    c.fail_connection(NGHTTP2_NO_ERROR,
                      "the server closed the HTTP/2 connection with " +
                          std::to_string(open_streams()) + " stream(s) in flight" +
                          (c.peer_goaway ? " after its GOAWAY " + c.peer_goaway_text : ""),
                      false);
  }
}

std::optional<event> client_connection::next_event() {
  if (impl_->events.empty()) return std::nullopt;
  event e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

std::string client_connection::take_output() {
  impl& c = *impl_;
  if (!c.failed && !c.eof) c.produce_output(c.options.max_output_batch);
  return std::exchange(c.out, std::string());
}

bool client_connection::wants_write() const noexcept {
  const impl& c = *impl_;
  if (!c.out.empty()) return true;
  return !c.failed && !c.eof && nghttp2_session_want_write(c.session) != 0;
}

bool client_connection::can_submit() const noexcept {
  const impl& c = *impl_;
  return !c.failed && !c.eof && !c.shutting_down && !c.peer_goaway &&
         nghttp2_session_check_request_allowed(c.session) != 0;
}

std::size_t client_connection::open_streams() const noexcept {
  std::size_t n = 0;
  for (const auto& [id, s] : impl_->streams)
    n += (!s.over && !s.cancelled) ? 1 : 0;
  return n;
}

std::uint32_t client_connection::peer_max_concurrent_streams() const noexcept {
  return nghttp2_session_get_remote_settings(impl_->session,
                                             NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool client_connection::done() const noexcept {
  const impl& c = *impl_;
  if (c.failed || c.eof) return true;
  return (c.shutting_down || c.peer_goaway) && open_streams() == 0 && c.out.empty() &&
         nghttp2_session_want_write(c.session) == 0;
}

const connection_options& client_connection::options() const noexcept {
  return impl_->options;
}

}  // namespace courier::proto::http2
