#include "asio/http1/response_reader.hpp"
#include "asio/http/body_sink.hpp"
#include "core/hot_path.hpp"

#include "asio/http1/stream_response.hpp"

#include <courier/error.hpp>

#include <boost/asio/ssl/error.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>

namespace courier::asio_detail {

namespace http1 = courier::proto::http1;

namespace {

// A response is read into a buffer that starts small (most answers fit) and doubles while
// reads fill it, as large bodies move faster in large reads.
constexpr std::size_t response_buffer_initial = 16 * 1024;
constexpr std::size_t response_buffer_max = 256 * 1024;
constexpr std::size_t max_redirect_drain = 64 * 1024;

}  // namespace

// --- the reader ----------------------------------------------------------------------------

COURIER_HOT response_reader::response_reader(asio_backend::impl& backend,
                                             const request_options& options,
                                             const progress_callback* progress, transport& conn,
                                             bool head_only, const body_destination& dest,
                                             raw_response& out, const std::string& where,
                                             bool may_retry)
    : backend_(backend),
      options_(options),
      progress_callback_(progress),
      conn_(conn),
      dest_(dest),
      out_(out),
      where_(where),
      may_retry_(may_retry),
      // The connection's parser from its last response, prepared for this one; or a new one.
      parser_([&]() -> http1::response_parser& {
        const http1::parser_options po{options.max_header_size, head_only};
        if (!conn.parser) return conn.parser.emplace(po);
        conn.parser->reset(po);
        return *conn.parser;
      }()),
      buffer_(conn.read_buffer),
      progress_(progress, transfer_progress::direction::download, options.progress_interval) {
  if (buffer_.size() < response_buffer_initial) buffer_.resize(response_buffer_initial);
}

COURIER_HOT response_reader::~response_reader() = default;

COURIER_HOT void response_reader::deliver(std::string_view data) {
  if (result_.redirect || streaming_ || decoder_ || progress_.reports()) {
    deliver_elsewhere(data);
    return;
  }
  write(data);
}

COURIER_COLD void response_reader::deliver_elsewhere(std::string_view data) {
  if (result_.redirect) {
    drained_ += data.size();
    return;
  }
  if (streaming_) {
    early_body_.append(data);  // counted for progress by the stream
    return;
  }
  progress_.add(data.size(), progress_.reports() ? clock::now() : clock::time_point{});
  decode_then(decoder_.get(), decoded_, data, [this](std::string_view d) { write(d); });
}

COURIER_HOT void response_reader::write(std::string_view data) {
  if (sink_) {
    sink_->write(data);
    return;
  }
  // In memory, the usual destination: no sink object.
  std::string& out = out_.body.bytes;
  if (out.size() + data.size() > options_.max_body_size) too_large();
  out.append(data);
}

COURIER_COLD void response_reader::too_large() {
  throw body_too_large("the response body from " + where_ + " is larger than max_body_size (" +
                       std::to_string(options_.max_body_size) +
                       " bytes); raise it with max_body_size() or read it as_file()");
}

COURIER_HOT void response_reader::on_head(http1::head_event& h) {
  out_.head.version = http_version::http1_1;  // after an HTTP/2 hop of the same exchange
  out_.head.status = h.status;
  out_.head.reason = std::move(h.reason);
  out_.head.headers = std::move(h.headers);
  keep_alive_ = h.keep_alive;
  if (options_.follow_redirects && is_redirect_status(h.status) && on_redirect_head(h)) return;
  content_length_ = h.content_length;
  progress_.set_total(h.content_length);
  std::size_t limit = options_.max_body_size;
  if (!std::holds_alternative<to_memory>(dest_) || h.status == 407) {
    limit = open_destination(h.status);
  } else if (h.content_length && *h.content_length <= limit) {
    out_.body.bytes.reserve(*h.content_length);
  }
  if (options_.decompress) {
    if (auto enc = out_.head.headers.get("Content-Encoding"); enc && !enc->empty()) {
      use_decoder(*enc, limit);
    }
  }
}

// A redirect that will be followed: true when it names a Location to go to.
COURIER_COLD bool response_reader::on_redirect_head(const http1::head_event& h) {
  auto loc = out_.head.headers.get("Location");
  if (!loc) return false;
  result_.redirect = true;
  result_.location = encode_location(*loc);
  // A large redirect body is not worth reading: close the connection instead.
  if (!h.content_length || *h.content_length > max_redirect_drain) keep_alive_ = false;
  if (!keep_alive_) complete_ = true;
  return true;
}

// Where a body that is not kept in memory goes; returns the limit on its (decoded) size.
COURIER_COLD std::size_t response_reader::open_destination(int status) {
  // A forwarding proxy's 407 is the proxy's answer, not the origin's body: read it to memory
  // for the proxy_error that follows, never into the caller's file or stream.
  if (status == 407 && conn_.forwards_through_proxy()) return options_.max_body_size;
  if (std::holds_alternative<to_stream>(dest_)) {
    streaming_ = true;  // the caller pulls the body; it is not held whole
  } else if (const auto* file = std::get_if<to_file>(&dest_)) {
    sink_ = make_file_sink(file->path);
  } else if (std::holds_alternative<to_discard>(dest_)) {
    sink_ = make_discard_sink();
  } else {
    return options_.max_body_size;  // in memory after all (a 407 without a proxy)
  }
  return std::numeric_limits<std::size_t>::max();
}

COURIER_COLD void response_reader::use_decoder(std::string_view, std::size_t limit) {
  decoder_ = decoder_for(out_.head.headers, limit, where_);
}

COURIER_HOT void response_reader::take_events() {
  while (http1::event* ev = parser_.take_event()) {
    if (auto* h = std::get_if<http1::head_event>(ev)) {
      on_head(*h);
      if (complete_) return;  // a redirect that closes the connection: its body is not read
    } else if (auto* b = std::get_if<http1::body_event>(ev)) {
      any_response_byte_ = true;
      deliver(b->data);
    } else if (auto* e = std::get_if<http1::end_event>(ev)) {
      keep_alive_ = keep_alive_ && e->keep_alive;
      out_.head.trailers = std::move(e->trailers);
      complete_ = true;
      return;
    }
  }
}

COURIER_HOT bool response_reader::parse() {
  if (buffered_ > 0) {
    std::size_t used = 0;
    try {
      used = parser_.feed(std::string_view(buffer_.data(), buffered_));
    } catch (const protocol_error& e) {
      throw protocol_error("the response from " + where_ + " is not valid HTTP/1.1: " + e.what());
    } catch (const body_too_large& e) {
      throw body_too_large("the response from " + where_ + ": " + e.what());
    }
    take_events();  // body events are views into buffer_: use them before shifting it
    std::memmove(buffer_.data(), buffer_.data() + used, buffered_ - used);
    buffered_ -= used;
  } else {
    take_events();
  }
  if (complete_ || streaming_) return true;
  if (eof_) return parse_at_eof();
  return false;
}

// The peer closed: the end of a close-delimited body, or a response cut short.
COURIER_COLD bool response_reader::parse_at_eof() {
  try {
    parser_.feed_eof();  // completes a close-delimited body, or throws read_error
  } catch (const read_error& e) {
    throw read_error("reading the response from " + where_ + " failed: " + e.what());
  }
  take_events();
  if (complete_) return true;
  throw read_error("the connection to " + where_ + " closed before the response ended");
}

COURIER_HOT net::mutable_buffer response_reader::space() {
  if (buffered_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);  // a huge header
  return net::buffer(buffer_.data() + buffered_, buffer_.size() - buffered_);
}

COURIER_HOT void response_reader::took(std::size_t n, const boost::system::error_code& ec) {
  if (n > 0) any_response_byte_ = true;
  const bool filled = n == buffer_.size() - buffered_;
  buffered_ += n;
  if (filled && buffer_.size() < response_buffer_max) buffer_.resize(buffer_.size() * 2);
  if (ec) read_failed(ec);
}

COURIER_COLD void response_reader::read_failed(const boost::system::error_code& ec) {
  if (!any_response_byte_ && may_retry_) throw connection_failure{.request_sent = true};
  if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
    eof_ = true;
    return;
  }
  throw read_error("reading the response from " + where_ + " failed: " + ec.message());
}

COURIER_HOT hop_result response_reader::finish(std::unique_ptr<transport>& conn) {
  if (streaming_) return finish_streaming(conn);
  if (!result_.redirect) {
    if (decoder_ || sink_) finish_transformed();
    progress_.finish();
  }
  conn->requests_served++;
  if (buffer_.size() > response_buffer_initial * 4) [[unlikely]] {
    buffer_.resize(response_buffer_initial);
    buffer_.shrink_to_fit();  // an idle connection keeps a small buffer
  }
  // Bytes after the end of the response mean the peer and we disagree on framing.
  backend_.pool.release(std::move(conn), keep_alive_ && complete_ && buffered_ == 0);
  return std::move(result_);
}

// The decoder's last bytes, and the sink's end (a file is renamed into place).
COURIER_COLD void response_reader::finish_transformed() {
  if (decoder_) {
    decoded_.clear();
    decoder_->finish(decoded_);
    write(decoded_);
  }
  if (sink_) sink_->finish();
}

// The rest of the body is read only as the caller asks for it (stream_response), on the
// backend's I/O threads.
COURIER_COLD hop_result response_reader::finish_streaming(std::unique_ptr<transport>& conn) {
  conn->settle();
  // The parser and the buffer go with the stream; the connection gets new ones if it comes
  // back to the pool.
  http1::response_parser parser = std::move(parser_);
  conn->parser.reset();
  std::vector<char> buffer = std::move(buffer_);
  stream_response_parts parts{backend_.shared_from_this(),
                              std::move(conn),
                              std::move(parser),
                              std::move(buffer),
                              buffered_,
                              std::move(early_body_),
                              std::move(decoder_),
                              keep_alive_,
                              complete_,
                              eof_,
                              where_,
                              options_.read_timeout,
                              content_length_,
                              progress_callback_ ? *progress_callback_ : progress_callback{},
                              options_.progress_interval,
                              out_.head.trailers};
  result_.stream = std::make_shared<stream_response>(std::move(parts));
  return std::move(result_);
}

}  // namespace courier::asio_detail
