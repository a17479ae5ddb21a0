#include "asio/response_reader.hpp"
#include "core/hot_path.hpp"

#include "asio/stream_response.hpp"

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

bool is_redirect_status(int s) {
  return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

std::unique_ptr<detail::content_decoder> decoder_for(const response_head& head,
                                                     const request_options& opts,
                                                     std::size_t limit) {
  if (!opts.decompress) return nullptr;
  auto enc = head.headers.get("Content-Encoding");
  if (!enc || enc->empty()) return nullptr;
  auto d = detail::content_decoder::make(*enc);
  if (d) d->set_max_output(limit);
  return d;
}

}  // namespace

// --- where body bytes go -------------------------------------------------------------------

class body_sink {
 public:
  virtual ~body_sink() = default;
  virtual void write(std::string_view data) = 0;
  virtual void finish() {}
};

namespace {

class discard_sink final : public body_sink {
 public:
  void write(std::string_view) override {}
};

// Writes to a temporary file beside the target and renames it into place when complete, so a
// failed download never leaves a partial file under the asked name.
class file_sink final : public body_sink {
 public:
  explicit file_sink(std::filesystem::path target) : target_(std::move(target)) {
    std::random_device rd;
    temp_ = target_;
    temp_ += ".courier-" + std::to_string(rd()) + ".part";
    file_ = std::fopen(temp_.c_str(), "wb");
    if (!file_) {
      throw file_error("cannot open " + target_.string() + " for writing: " + std::strerror(errno));
    }
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 16);
  }
  ~file_sink() override {
    if (file_) {
      std::fclose(file_);
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
    }
  }
  COURIER_HOT void write(std::string_view data) override {
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      throw file_error("writing " + target_.string() + " failed: " + std::strerror(errno));
    }
  }
  void finish() override {
    int rc = std::fclose(file_);
    file_ = nullptr;
    std::error_code ec;
    if (rc != 0) {
      std::filesystem::remove(temp_, ec);
      throw file_error("writing " + target_.string() + " failed: " + std::strerror(errno));
    }
    std::filesystem::rename(temp_, target_, ec);
    if (ec) {
      std::filesystem::remove(temp_, ec);
      throw file_error("cannot move the download into " + target_.string() + ": " + ec.message());
    }
  }

 private:
  std::filesystem::path target_, temp_;
  std::FILE* file_ = nullptr;
};

}  // namespace

// --- the reader ----------------------------------------------------------------------------

COURIER_HOT response_reader::response_reader(asio_backend::impl& backend,
                                             const request_options& options,
                                             const progress_callback* progress, transport& conn,
                                             bool head_only, const body_destination& dest,
                                             raw_body& final_body, const std::string& where,
                                             bool may_retry)
    : backend_(backend),
      options_(options),
      progress_callback_(progress),
      conn_(conn),
      dest_(dest),
      final_body_(final_body),
      where_(where),
      may_retry_(may_retry),
      // The connection's parser from its last response, prepared for this one; or a new one.
      parser_([&] {
        const http1::parser_options po{options.max_header_size, head_only};
        if (!conn.idle_parser) return http1::response_parser(po);
        http1::response_parser kept = std::move(*std::exchange(conn.idle_parser, {}));
        kept.reset(po);
        return kept;
      }()),
      buffer_(std::move(conn.read_buffer)),
      progress_(progress, transfer_progress::direction::download, options.progress_interval) {
  if (buffer_.size() < response_buffer_initial) buffer_.resize(response_buffer_initial);
}

COURIER_HOT response_reader::~response_reader() = default;

COURIER_HOT void response_reader::deliver(std::string_view data) {
  if (result_.redirect) {
    drained_ += data.size();
    return;
  }
  if (streaming_) {
    early_body_.append(data);  // counted for progress by the stream
    return;
  }
  progress_.add(data.size(), progress_.reports() ? clock::now() : clock::time_point{});
  if (decoder_) {
    decoded_.clear();
    decoder_->decode(data, decoded_);
    write(decoded_);
  } else {
    write(data);
  }
}

COURIER_HOT void response_reader::write(std::string_view data) {
  if (sink_) {
    sink_->write(data);
    return;
  }
  // In memory, the usual destination: no sink object.
  std::string& out = final_body_.bytes;
  if (out.size() + data.size() > options_.max_body_size) {
    throw body_too_large("the response body from " + where_ + " is larger than max_body_size (" +
                         std::to_string(options_.max_body_size) +
                         " bytes); raise it with max_body_size() or read it as_file()");
  }
  out.append(data);
}

COURIER_HOT void response_reader::on_head(http1::head_event& h) {
  result_.head.status = h.status;
  result_.head.reason = std::move(h.reason);
  result_.head.headers = std::move(h.headers);
  keep_alive_ = h.keep_alive;
  if (options_.follow_redirects && is_redirect_status(h.status)) {
    if (auto loc = result_.head.headers.get("Location")) {
      result_.redirect = true;
      result_.location = std::string(*loc);
      // A large redirect body is not worth reading: close the connection instead.
      if (!h.content_length || *h.content_length > max_redirect_drain) keep_alive_ = false;
      if (!keep_alive_) complete_ = true;
      return;
    }
  }
  std::size_t limit = options_.max_body_size;
  content_length_ = h.content_length;
  progress_.set_total(h.content_length);
  // A forwarding proxy's 407 is the proxy's answer, not the origin's body: read it to memory
  // for the proxy_error that follows, never into the caller's file or stream.
  const bool proxy_refusal = h.status == 407 && conn_.forwards_through_proxy();
  if (proxy_refusal) {
    // Kept in memory: the reader appends it itself (no sink).
  } else if (std::holds_alternative<to_stream>(dest_)) {
    streaming_ = true;  // the caller pulls the body; it is not held whole
    limit = std::numeric_limits<std::size_t>::max();
  } else if (const auto* file = std::get_if<to_file>(&dest_)) {
    sink_ = std::make_unique<file_sink>(file->path);
    limit = std::numeric_limits<std::size_t>::max();
  } else if (std::holds_alternative<to_discard>(dest_)) {
    sink_ = std::make_unique<discard_sink>();
    limit = std::numeric_limits<std::size_t>::max();
  } else {  // in memory (no sink)
    if (h.content_length && *h.content_length <= limit) {
      final_body_.bytes.reserve(*h.content_length);
    }
  }
  decoder_ = decoder_for(result_.head, options_, limit);
  if (decoder_) {
    // The body given to the user is decoded: its old framing headers no longer apply.
    result_.head.headers.erase("Content-Encoding");
    result_.head.headers.erase("Content-Length");
  }
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
  if (eof_) {
    try {
      parser_.feed_eof();  // completes a close-delimited body, or throws read_error
    } catch (const read_error& e) {
      throw read_error("reading the response from " + where_ + " failed: " + e.what());
    }
    take_events();
    if (complete_) return true;
    throw read_error("the connection to " + where_ + " closed before the response ended");
  }
  return false;
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
  if (!ec) return;
  if (!any_response_byte_ && may_retry_) throw connection_failure{};
  if (ec == net::error::eof || ec == net::ssl::error::stream_truncated) {
    eof_ = true;
  } else {
    throw read_error("reading the response from " + where_ + " failed: " + ec.message());
  }
}

COURIER_HOT hop_result response_reader::finish(std::unique_ptr<transport>& conn) {
  if (streaming_) {
    // The rest of the body is read only as the caller asks for it (stream_response), on the
    // backend's I/O threads.
    conn->settle();
    stream_response_parts parts{backend_.shared_from_this(),
                                std::move(conn),
                                std::move(parser_),
                                std::move(buffer_),
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
                                options_.progress_interval};
    result_.stream = std::make_shared<stream_response>(std::move(parts));
    return std::move(result_);
  }
  if (!result_.redirect) {
    if (decoder_) {
      decoded_.clear();
      decoder_->finish(decoded_);
      write(decoded_);
    }
    if (sink_) sink_->finish();
    progress_.finish();
  }
  conn->requests_served++;
  if (buffer_.size() > response_buffer_initial * 4) {
    buffer_.resize(response_buffer_initial);
    buffer_.shrink_to_fit();  // an idle connection keeps a small buffer
  }
  conn->read_buffer = std::move(buffer_);
  conn->idle_parser = std::move(parser_);
  // Bytes after the end of the response mean the peer and we disagree on framing.
  backend_.pool.release(std::move(conn), keep_alive_ && complete_ && buffered_ == 0);
  return std::move(result_);
}

}  // namespace courier::asio_detail
