// as_stream(): a response body the caller pulls, a buffer at a time, as it arrives. The backend
// reads the socket only when the caller asks for more, so memory stays bounded whatever the size.
//
//   auto res = courier::basic_request().get(u).response_as(courier::as_stream()).send(backend);
//   for (std::string_view chunk : res.body().chunks()) consume(chunk);
#pragma once

#include <courier/capabilities.hpp>
#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/response_as.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <istream>
#include <iterator>
#include <memory>
#include <span>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

namespace courier {

namespace detail {
/// What a streaming backend implements behind a body_stream. One read at a time.
class body_stream_source {
 public:
  using read_handler = boost::asio::any_completion_handler<void(std::exception_ptr, std::size_t)>;
  virtual ~body_stream_source() = default;
  /// Blocks for the next bytes of the body (0 at its end); throws a courier::error.
  virtual std::size_t read_some(std::span<char> buffer) = 0;
  /// The same without blocking; `done` runs once, on a backend thread. Honours its
  /// cancellation slot.
  virtual void async_read_some(std::span<char> buffer, read_handler done) = 0;
  /// Body bytes received so far (before content decoding).
  virtual std::uint64_t bytes_received() const noexcept = 0;
  /// The whole body was read (a read returned 0).
  virtual bool at_end() const noexcept = 0;
  /// The trailer fields that followed the body, once it was read to its end.
  virtual courier::headers trailers() const { return {}; }
};
}  // namespace detail

/// A response body read by the caller. Move-only. Destroying it (or close()) before the end
/// closes the connection instead of draining the rest of the body. Errors: read_error (it says
/// how many bytes had arrived when the server closed early), timeout_error when no byte came for
/// the request's read_timeout, protocol_error, body_too_large (a decompression bomb).
class body_stream {
 public:
  body_stream() = default;
  /// A stream over a backend's body source; backends make these, users get them from
  /// as_stream().
  explicit body_stream(std::shared_ptr<detail::body_stream_source> source)
      : source_(std::move(source)) {}
  /// Moves the open connection; the moved-from stream is closed.
  body_stream(body_stream&&) noexcept = default;
  /// Closes this stream's connection and takes the other's.
  body_stream& operator=(body_stream&&) noexcept = default;
  body_stream(const body_stream&) = delete;
  body_stream& operator=(const body_stream&) = delete;
  ~body_stream() = default;

  /// Blocks until some bytes of the body are in `buffer`; returns how many, 0 at the end. Must
  /// not be called on one of the backend's I/O threads (use async_read_some there).
  std::size_t read_some(std::span<char> buffer) { return source().read_some(buffer); }
  /// The same, into bytes.
  std::size_t read_some(std::span<std::byte> buffer) {
    return read_some(std::span<char>(reinterpret_cast<char*>(buffer.data()), buffer.size()));
  }

  /// Reads some bytes with any Asio completion token; the completion signature is
  /// void(std::exception_ptr, std::size_t), 0 bytes at the end of the body, the exception being
  /// the one read_some would throw. The buffer must stay valid until then. Cancellation:
  /// terminal, partial and total while the read waits for the network (nothing is taken: the
  /// next read goes on where this one would have); it completes with operation_aborted.
  template <class CompletionToken>
  auto async_read_some(std::span<char> buffer, CompletionToken&& token) {
    using signature = void(std::exception_ptr, std::size_t);
    return boost::asio::async_initiate<CompletionToken, signature>(
        [src = source_](auto handler, std::span<char> buf) {
          auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
          auto slot = boost::asio::get_associated_cancellation_slot(handler);
          auto complete = [handler = std::move(handler), work = std::move(work)](
                              std::exception_ptr e, std::size_t n) mutable {
            auto ex = work.get_executor();
            boost::asio::dispatch(
                ex, [handler = std::move(handler), e, n]() mutable { std::move(handler)(e, n); });
            work.reset();
          };
          if (!src) {
            complete(std::make_exception_ptr(invalid_request(
                         "this body_stream is closed (or was moved from, or never opened)")),
                     0);
            return;
          }
          src->async_read_some(buf,
                               detail::body_stream_source::read_handler(
                                   boost::asio::bind_cancellation_slot(slot, std::move(complete))));
        },
        token, buffer);
  }

  /// Reads the rest of the body into a string; throws body_too_large past `limit` bytes.
  std::string read_all(std::size_t limit = std::size_t{256} << 20) {
    std::string out;
    std::vector<char> buf(std::size_t{64} << 10);
    while (std::size_t n = read_some(std::span<char>(buf))) {
      if (out.size() + n > limit) {
        throw body_too_large("the streamed body is larger than " + std::to_string(limit) +
                             " bytes");
      }
      out.append(buf.data(), n);
    }
    return out;
  }

  /// An input range of the body's chunks (std::string_view, valid until the next increment),
  /// each at most `chunk_size` bytes. Errors are thrown from the increment.
  class chunk_range;
  /// Reads the body in chunks of at most `chunk_size` bytes: for (auto c : s.chunks()) ...
  chunk_range chunks(std::size_t chunk_size = std::size_t{64} << 10);

  /// Closes the connection now, without reading the rest (what the destructor does).
  void close() noexcept { source_.reset(); }
  /// False once closed, moved from or default-made.
  bool is_open() const noexcept { return source_ != nullptr; }
  /// The whole body was read.
  bool at_end() const noexcept { return source_ && source_->at_end(); }
  /// Body bytes received so far (as on the wire, before content decoding).
  std::uint64_t bytes_received() const noexcept { return source_ ? source_->bytes_received() : 0; }
  /// The trailer fields the server sent after the body (HTTP/2 trailers, or those of a chunked
  /// HTTP/1.1 body), once the body was read to its end (at_end()); empty before, and when there
  /// were none. For a response read whole, response::trailers() has them.
  courier::headers trailers() const { return source_ ? source_->trailers() : courier::headers{}; }

 private:
  detail::body_stream_source& source() {
    if (!source_) {
      throw invalid_request("this body_stream is closed (or was moved from, or never opened)");
    }
    return *source_;
  }
  std::shared_ptr<detail::body_stream_source> source_;
};

/// The input range returned by chunks(); reads as it is iterated.
class body_stream::chunk_range {
 public:
  struct sentinel {};
  /// Walks the chunks; each increment reads the next one (blocking).
  class iterator {
   public:
    /// A chunk: valid until the next increment.
    using value_type = std::string_view;
    /// Required of an iterator; never used for distances.
    using difference_type = std::ptrdiff_t;
    /// Single pass.
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    /// The current chunk.
    std::string_view operator*() const { return current_; }
    /// Reads the next chunk; throws what read_some() throws.
    iterator& operator++() {
      range_->advance();
      current_ = range_->current_;
      return *this;
    }
    /// Reads the next chunk.
    void operator++(int) { ++*this; }
    /// True at the end of the body.
    friend bool operator==(const iterator& it, sentinel) { return it.done(); }

   private:
    friend class chunk_range;
    explicit iterator(chunk_range* r) : range_(r), current_(r->current_) {}
    bool done() const noexcept { return range_ == nullptr || range_->ended_; }
    chunk_range* range_ = nullptr;
    std::string_view current_;
  };

  /// A range over `stream`, reading chunks of `chunk_size` bytes (at least 1).
  chunk_range(body_stream& stream, std::size_t chunk_size)
      : stream_(&stream), buffer_(chunk_size == 0 ? 1 : chunk_size) {}
  chunk_range(const chunk_range&) = delete;
  chunk_range& operator=(const chunk_range&) = delete;

  /// Reads the first chunk (blocking).
  iterator begin() {
    if (!started_) {
      started_ = true;
      advance();
    }
    return iterator(this);
  }
  /// The end of the body.
  sentinel end() const noexcept { return {}; }

 private:
  void advance() {
    std::size_t n = stream_->read_some(std::span<char>(buffer_));
    if (n == 0) ended_ = true;
    current_ = std::string_view(buffer_.data(), n);
  }
  body_stream* stream_;
  std::vector<char> buffer_;
  std::string_view current_;
  bool started_ = false;
  bool ended_ = false;
};

inline body_stream::chunk_range body_stream::chunks(std::size_t chunk_size) {
  return chunk_range(*this, chunk_size);
}

/// A std::istream over a body_stream (which must outlive it). A failed read sets badbit; error()
/// then holds the exception (read_error, timeout_error, ...).
class body_istream : public std::istream {
 public:
  /// Reads `stream` through a buffer of `buffer_size` bytes.
  explicit body_istream(body_stream& stream, std::size_t buffer_size = std::size_t{64} << 10)
      : std::istream(nullptr), buf_(stream, buffer_size) {
    rdbuf(&buf_);
  }
  /// The exception of the read that failed, if one did.
  std::exception_ptr error() const noexcept { return buf_.error; }

 private:
  struct streambuf : std::streambuf {
    streambuf(body_stream& s, std::size_t size) : stream(s), buffer(size == 0 ? 1 : size) {}
    int_type underflow() override {
      if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
      std::size_t n = 0;
      try {
        n = stream.read_some(std::span<char>(buffer));
      } catch (...) {
        error = std::current_exception();
        throw;  // std::istream catches it and sets badbit
      }
      if (n == 0) return traits_type::eof();
      setg(buffer.data(), buffer.data(), buffer.data() + n);
      return traits_type::to_int_type(*gptr());
    }
    body_stream& stream;
    std::vector<char> buffer;
    std::exception_ptr error;
  };
  streambuf buf_;
};

/// The body is not read by the backend: the response is returned once its head has arrived
/// (redirects followed), and the caller reads the body from the body_stream. Needs a backend with
/// supports_streaming (asio_backend); with another one, send() does not compile.
inline response_as<body_stream> as_stream() {
  return {to_stream{}, [](const response_head&, raw_body&& raw) {
            if (!raw.stream) {
              throw invalid_request("the backend did not hand out a body stream for as_stream()");
            }
            return body_stream(std::move(raw.stream));
          }};
}

namespace detail {
template <>
inline constexpr bool streams_body<body_stream> = true;
}  // namespace detail

}  // namespace courier
